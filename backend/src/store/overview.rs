//! The operator console's overview of every portal: connection, latest run
//! and records and documents still failing, in a fixed number of queries however many
//! portals there are.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, ExprTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};

use super::{
    RequestState, Store,
    entities::{document_request, portal, settings, sync_run, sync_run_item},
};

/// One portal as the console's list shows it.
#[derive(Clone, Debug)]
pub struct PortalOverview {
    /// The portal.
    pub portal: portal::Model,
    /// Whether a Holded key is stored.
    pub holded_connected: bool,
    /// Its API generation (`v1` or `v2`).
    pub holded_generation: Option<String>,
    /// The latest run that was not a dry run.
    pub last_run: Option<sync_run::Model>,
    /// Records (object kind + Holded id) with a failure no later run resolved.
    pub unresolved_failures: usize,
    /// Deal → document requests that failed and wait for a retry.
    pub failed_documents: usize,
}

impl Store {
    /// Every portal, by hub id, with its Holded connection, latest run and
    /// the number of records whose failures are not resolved yet.
    pub async fn portal_overviews(&self) -> Result<Vec<PortalOverview>, DbErr> {
        let portals = portal::Entity::find()
            .order_by_asc(portal::Column::Id)
            .all(self.db())
            .await?;
        let generations: HashMap<i64, Option<String>> = settings::Entity::find()
            .filter(settings::Column::HoldedKeyEnc.is_not_null())
            .all(self.db())
            .await?
            .into_iter()
            .map(|row| (row.portal_id, row.holded_api_generation))
            .collect();
        let latest_ids = Query::select()
            .expr(Expr::col(sync_run::Column::Id).max())
            .from(sync_run::Entity)
            .and_where(sync_run::Column::DryRun.eq(false))
            .group_by_col(sync_run::Column::PortalId)
            .to_owned();
        let mut last_runs: HashMap<i64, sync_run::Model> = sync_run::Entity::find()
            .filter(sync_run::Column::Id.in_subquery(latest_ids))
            .all(self.db())
            .await?
            .into_iter()
            .map(|run| (run.portal_id, run))
            .collect();
        let failing: Vec<(i64, String, String)> = sync_run_item::Entity::find()
            .select_only()
            .distinct()
            .column(sync_run::Column::PortalId)
            .column(sync_run_item::Column::ObjectKind)
            .column(sync_run_item::Column::HoldedId)
            .join(JoinType::InnerJoin, item_run())
            .filter(sync_run_item::Column::Outcome.eq("failed"))
            .filter(sync_run_item::Column::Resolved.eq(false))
            .filter(sync_run::Column::DryRun.eq(false))
            .into_tuple()
            .all(self.db())
            .await?;
        let mut failing_per_portal: HashMap<i64, HashSet<(String, String)>> = HashMap::new();
        for (portal_id, kind, holded_id) in failing {
            failing_per_portal
                .entry(portal_id)
                .or_default()
                .insert((kind, holded_id));
        }
        let failed_documents: HashMap<i64, i64> = document_request::Entity::find()
            .select_only()
            .column(document_request::Column::PortalId)
            .column_as(document_request::Column::Id.count(), "failed")
            .filter(document_request::Column::State.eq(RequestState::Failed.as_str()))
            .group_by(document_request::Column::PortalId)
            .into_tuple::<(i64, i64)>()
            .all(self.db())
            .await?
            .into_iter()
            .collect();
        Ok(portals
            .into_iter()
            .map(|portal| PortalOverview {
                holded_connected: generations.contains_key(&portal.id),
                holded_generation: generations.get(&portal.id).cloned().flatten(),
                last_run: last_runs.remove(&portal.id),
                unresolved_failures: failing_per_portal.get(&portal.id).map_or(0, HashSet::len),
                failed_documents: failed_documents
                    .get(&portal.id)
                    .map_or(0, |n| usize::try_from(*n).unwrap_or(0)),
                portal,
            })
            .collect())
    }
}

/// A run item's run (the entities declare no relations).
fn item_run() -> sea_orm::RelationDef {
    sync_run_item::Entity::belongs_to(sync_run::Entity)
        .from(sync_run_item::Column::RunId)
        .to(sync_run::Column::Id)
        .into()
}
