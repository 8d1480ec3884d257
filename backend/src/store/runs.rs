//! Sync run records.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, NotSet,
    QueryFilter, QueryOrder, sea_query::Expr,
};

use super::{
    Store,
    entities::{sync_run, sync_run_item, sync_run_object},
};

/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// The nightly schedule.
    Scheduled,
    /// "Sincronizar ahora" in the settings page or the console.
    Manual,
    /// `holded-hubspot sync` (or the sync step of `holded-hubspot demo`).
    Cli,
    /// Holded webhooks: the records they named (never resumed by a later run).
    Webhook,
}

impl RunTrigger {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Manual => "manual",
            Self::Cli => "cli",
            Self::Webhook => "webhook",
        }
    }
}

impl Store {
    /// Records a run that starts now and returns it.
    pub async fn start_run(
        &self,
        portal_id: i64,
        trigger: RunTrigger,
        dry_run: bool,
        since: Option<NaiveDate>,
    ) -> Result<sync_run::Model, DbErr> {
        sync_run::ActiveModel {
            id: NotSet,
            portal_id: Set(portal_id),
            trigger: Set(trigger.as_str().to_owned()),
            status: Set("running".to_owned()),
            dry_run: Set(dry_run),
            since: Set(since),
            started_at: Set(Utc::now()),
            finished_at: Set(None),
            error: Set(None),
        }
        .insert(self.db())
        .await
    }

    /// Marks a run finished with `status` (and an error, for failed runs).
    pub async fn finish_run(
        &self,
        run: sync_run::Model,
        status: &str,
        error: Option<String>,
    ) -> Result<sync_run::Model, DbErr> {
        let mut active: sync_run::ActiveModel = run.into();
        active.status = Set(status.to_owned());
        active.error = Set(error);
        active.finished_at = Set(Some(Utc::now()));
        active.update(self.db()).await
    }
}

/// A run with its counts summed over object kinds (for lists).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Run id.
    pub id: i64,
    /// `running`, `completed`, `failed` or `paused`.
    pub status: String,
    /// `scheduled`, `manual` or `cli`.
    pub trigger: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records created.
    pub created: i64,
    /// Records updated.
    pub updated: i64,
    /// Records that failed.
    pub failed: i64,
}

impl Store {
    /// The portal's most recent runs, newest first, with their counts.
    pub async fn recent_runs(&self, portal_id: i64, limit: u64) -> Result<Vec<RunSummary>, DbErr> {
        use sea_orm::QuerySelect;

        let runs = sync_run::Entity::find()
            .filter(sync_run::Column::PortalId.eq(portal_id))
            .order_by_desc(sync_run::Column::StartedAt)
            .order_by_desc(sync_run::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?;
        let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
        let parts = sync_run_object::Entity::find()
            .filter(sync_run_object::Column::RunId.is_in(ids))
            .all(self.db())
            .await?;
        Ok(runs
            .into_iter()
            .map(|run| {
                let mine = parts.iter().filter(|p| p.run_id == run.id);
                let (created, updated, failed) = mine.fold((0, 0, 0), |(c, u, f), p| {
                    (
                        c + i64::from(p.created),
                        u + i64::from(p.updated),
                        f + i64::from(p.failed),
                    )
                });
                RunSummary {
                    id: run.id,
                    status: run.status,
                    trigger: run.trigger,
                    started_at: run.started_at,
                    finished_at: run.finished_at,
                    created,
                    updated,
                    failed,
                }
            })
            .collect())
    }
}

/// A failed or planned record to add to a run.
#[derive(Clone, Debug)]
pub struct RunItem {
    /// Object kind.
    pub object_kind: &'static str,
    /// Holded id.
    pub holded_id: String,
    /// HubSpot id, when known.
    pub hubspot_id: Option<String>,
    /// `failed`, `create` or `update`.
    pub outcome: &'static str,
    /// Why.
    pub reason: Option<String>,
    /// What was sent, sensitive values masked.
    pub payload_summary: Option<String>,
}

impl Store {
    /// The portal's run that was interrupted (crash, deploy, daily limit) and
    /// should be resumed, if any.
    pub async fn resumable_run(&self, portal_id: i64) -> Result<Option<sync_run::Model>, DbErr> {
        sync_run::Entity::find()
            .filter(sync_run::Column::PortalId.eq(portal_id))
            .filter(sync_run::Column::DryRun.eq(false))
            .filter(sync_run::Column::Trigger.ne(RunTrigger::Webhook.as_str()))
            .filter(sync_run::Column::Status.is_in(["running", "paused"]))
            .order_by_desc(sync_run::Column::Id)
            .one(self.db())
            .await
    }

    /// Sets a run's status (resuming a paused run sets it `running` again).
    pub async fn set_run_status(
        &self,
        run_id: i64,
        status: &str,
        error: Option<String>,
    ) -> Result<(), DbErr> {
        sync_run::Entity::update_many()
            .col_expr(sync_run::Column::Status, Expr::value(status))
            .col_expr(sync_run::Column::Error, Expr::value(error))
            .filter(sync_run::Column::Id.eq(run_id))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// The part of `run_id` for `kind`, created (pending) when missing.
    pub async fn run_object(
        &self,
        run_id: i64,
        kind: &str,
    ) -> Result<sync_run_object::Model, DbErr> {
        let find = || {
            sync_run_object::Entity::find()
                .filter(sync_run_object::Column::RunId.eq(run_id))
                .filter(sync_run_object::Column::ObjectKind.eq(kind))
        };
        if let Some(row) = find().one(self.db()).await? {
            return Ok(row);
        }
        sync_run_object::ActiveModel {
            id: NotSet,
            run_id: Set(run_id),
            object_kind: Set(kind.to_owned()),
            status: Set("pending".to_owned()),
            created: Set(0),
            updated: Set(0),
            unchanged: Set(0),
            skipped: Set(0),
            failed: Set(0),
            high_water_mark: Set(None),
            checkpoint: Set(None),
            hubspot_calls: Set(0),
            holded_calls: Set(0),
            started_at: Set(Some(Utc::now())),
            finished_at: Set(None),
            warning: Set(None),
        }
        .insert(self.db())
        .await
    }

    /// Saves a run part's counts, checkpoint and status.
    pub async fn save_run_object(&self, row: sync_run_object::Model) -> Result<(), DbErr> {
        row.into_active_model()
            .reset_all()
            .update(self.db())
            .await
            .map(|_| ())
    }

    /// Adds failed or planned records to a run.
    pub async fn add_run_items(&self, run_id: i64, items: &[RunItem]) -> Result<(), DbErr> {
        if items.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        for chunk in items.chunks(200) {
            sync_run_item::Entity::insert_many(chunk.iter().map(|item| {
                sync_run_item::ActiveModel {
                    id: NotSet,
                    run_id: Set(run_id),
                    object_kind: Set(item.object_kind.to_owned()),
                    holded_id: Set(item.holded_id.clone()),
                    hubspot_id: Set(item.hubspot_id.clone()),
                    outcome: Set(item.outcome.to_owned()),
                    reason: Set(item.reason.clone()),
                    payload_summary: Set(item.payload_summary.clone()),
                    resolved: Set(false),
                    created_at: Set(now),
                }
            }))
            .exec(self.db())
            .await?;
        }
        Ok(())
    }

    /// Marks earlier failures of records that have now been written as resolved.
    pub async fn resolve_run_items(
        &self,
        portal_id: i64,
        kind: &str,
        holded_ids: &[String],
    ) -> Result<(), DbErr> {
        use sea_orm::QuerySelect;
        let runs: Vec<i64> = sync_run::Entity::find()
            .select_only()
            .column(sync_run::Column::Id)
            .filter(sync_run::Column::PortalId.eq(portal_id))
            .into_tuple()
            .all(self.db())
            .await?;
        for chunk in holded_ids.chunks(500) {
            sync_run_item::Entity::update_many()
                .col_expr(sync_run_item::Column::Resolved, Expr::value(true))
                .filter(sync_run_item::Column::RunId.is_in(runs.iter().copied()))
                .filter(sync_run_item::Column::ObjectKind.eq(kind))
                .filter(sync_run_item::Column::Outcome.eq("failed"))
                .filter(sync_run_item::Column::HoldedId.is_in(chunk.iter().cloned()))
                .exec(self.db())
                .await?;
        }
        Ok(())
    }
}

/// A run with its parts and its failed records, for the run history.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// Why it failed or paused.
    pub error: Option<String>,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// Per object kind.
    pub kinds: Vec<sync_run_object::Model>,
    /// Records that failed (at most [`FAILED_SHOWN`] per run).
    pub failed: Vec<sync_run_item::Model>,
}

/// Failed records listed per run.
pub const FAILED_SHOWN: u64 = 100;

impl Store {
    /// The portal's recent runs with their parts and failed records, newest first.
    pub async fn run_history(&self, portal_id: i64, limit: u64) -> Result<Vec<RunDetail>, DbErr> {
        use sea_orm::QuerySelect;

        let summaries = self.recent_runs(portal_id, limit).await?;
        let mut details = Vec::with_capacity(summaries.len());
        for summary in summaries {
            let Some(run) = sync_run::Entity::find_by_id(summary.id)
                .one(self.db())
                .await?
            else {
                continue;
            };
            let kinds = sync_run_object::Entity::find()
                .filter(sync_run_object::Column::RunId.eq(run.id))
                .order_by_asc(sync_run_object::Column::Id)
                .all(self.db())
                .await?;
            let failed = sync_run_item::Entity::find()
                .filter(sync_run_item::Column::RunId.eq(run.id))
                .filter(sync_run_item::Column::Outcome.eq("failed"))
                .order_by_asc(sync_run_item::Column::Id)
                .limit(FAILED_SHOWN)
                .all(self.db())
                .await?;
            details.push(RunDetail {
                summary,
                error: run.error,
                dry_run: run.dry_run,
                kinds,
                failed,
            });
        }
        Ok(details)
    }
}

impl Store {
    /// The failed records of `portal_id`'s run `run_id` that no later run wrote.
    pub async fn unresolved_failures(
        &self,
        portal_id: i64,
        run_id: i64,
    ) -> Result<Vec<sync_run_item::Model>, DbErr> {
        let mine = sync_run::Entity::find_by_id(run_id)
            .filter(sync_run::Column::PortalId.eq(portal_id))
            .one(self.db())
            .await?;
        if mine.is_none() {
            return Ok(Vec::new());
        }
        sync_run_item::Entity::find()
            .filter(sync_run_item::Column::RunId.eq(run_id))
            .filter(sync_run_item::Column::Outcome.eq("failed"))
            .filter(sync_run_item::Column::Resolved.eq(false))
            .all(self.db())
            .await
    }

    /// The failed record `item_id` of one of `portal_id`'s runs, if it is one.
    pub async fn failed_item(
        &self,
        portal_id: i64,
        item_id: i64,
    ) -> Result<Option<sync_run_item::Model>, DbErr> {
        let Some(item) = sync_run_item::Entity::find_by_id(item_id)
            .filter(sync_run_item::Column::Outcome.eq("failed"))
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let run = sync_run::Entity::find_by_id(item.run_id)
            .one(self.db())
            .await?;
        Ok(run.filter(|run| run.portal_id == portal_id).map(|_| item))
    }
}
