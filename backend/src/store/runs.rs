//! Sync run records.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, NotSet};

use super::{Store, entities::sync_run};

/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// The nightly schedule.
    Scheduled,
    /// "Sincronizar ahora" in the settings page or the console.
    Manual,
    /// `holded-hubspot sync`.
    Cli,
}

impl RunTrigger {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Manual => "manual",
            Self::Cli => "cli",
        }
    }
}

impl Store {
    /// Records a run that started at `started_at` and returns it.
    pub async fn start_run(
        &self,
        portal_id: i64,
        trigger: RunTrigger,
        started_at: DateTime<Utc>,
    ) -> Result<sync_run::Model, DbErr> {
        sync_run::ActiveModel {
            id: NotSet,
            portal_id: Set(portal_id),
            trigger: Set(trigger.as_str().to_owned()),
            status: Set("running".to_owned()),
            dry_run: Set(false),
            since: Set(None),
            started_at: Set(started_at),
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
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

        use super::entities::sync_run_object;

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
