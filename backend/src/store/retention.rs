//! Pruning the journals: handled webhook events and timeline entries older
//! than the retention period (`HH_RETENTION_DAYS`), and the short-lived rows
//! (signatures, install states, console sessions, failed sign-ins) once they
//! can no longer matter, and the settings of portals uninstalled longer
//! than their grace period. Rows go in small batches, each its own statement,
//! so webhook intake never waits long behind a prune. Unhandled webhook
//! events are never pruned, however old.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::{
    Store,
    entities::{
        console_session, holded_webhook_event, login_failure, oauth_state, timeline_entry,
        webhook_event,
    },
};

/// Rows deleted per statement.
pub const PRUNE_BATCH: u64 = 500;

/// How many rows a prune removed, per journal.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Handled webhook events (HubSpot's and Holded's).
    pub webhook_events: u64,
    /// Timeline entries.
    pub timeline_entries: u64,
    /// Expired signatures, install states, sessions and sign-in failures.
    pub expired: u64,
    /// Uninstalled portals whose grace period ended (settings and links erased).
    pub uninstalled_portals: u64,
}

/// Deletes, batch by batch, the rows of `$entity` (keyed by an `i64` `id`)
/// that `$condition` selects; evaluates to how many.
macro_rules! delete_in_batches {
    ($db:expr, $entity:ident, $condition:expr) => {{
        let mut total = 0;
        loop {
            let ids: Vec<i64> = $entity::Entity::find()
                .select_only()
                .column($entity::Column::Id)
                .filter($condition.clone())
                .limit(PRUNE_BATCH)
                .into_tuple()
                .all($db)
                .await?;
            if ids.is_empty() {
                break total;
            }
            let done = ids.len() as u64;
            total += $entity::Entity::delete_many()
                .filter($entity::Column::Id.is_in(ids))
                .exec($db)
                .await?
                .rows_affected;
            if done < PRUNE_BATCH {
                break total;
            }
            tokio::task::yield_now().await;
        }
    }};
}

impl Store {
    /// Prunes what is older than `retention` at `now` (see the module docs).
    pub async fn prune_journals(
        &self,
        now: DateTime<Utc>,
        retention: chrono::Duration,
    ) -> Result<Pruned, DbErr> {
        let cutoff = now - retention;
        let db = self.db();
        let handled_events = Condition::all()
            .add(webhook_event::Column::ReceivedAt.lt(cutoff))
            .add(webhook_event::Column::ProcessedAt.is_not_null());
        let mut webhook_events = delete_in_batches!(db, webhook_event, handled_events);
        // Holded deliveries: a replay older than five minutes is refused as
        // stale, so a handled one's id need not be kept past the retention.
        let handled_deliveries = Condition::all()
            .add(holded_webhook_event::Column::ReceivedAt.lt(cutoff))
            .add(holded_webhook_event::Column::ProcessedAt.is_not_null());
        webhook_events += delete_in_batches!(db, holded_webhook_event, handled_deliveries);
        let old_entries = Condition::all().add(timeline_entry::Column::CreatedAt.lt(cutoff));
        let timeline_entries = delete_in_batches!(db, timeline_entry, old_entries);
        let day_ago = now - chrono::Duration::days(1);
        let mut expired = self.forget_expired_signatures(now).await?;
        expired += oauth_state::Entity::delete_many()
            .filter(oauth_state::Column::ExpiresAt.lt(day_ago))
            .exec(db)
            .await?
            .rows_affected;
        expired += console_session::Entity::delete_many()
            .filter(console_session::Column::ExpiresAt.lt(day_ago))
            .exec(db)
            .await?
            .rows_affected;
        expired += login_failure::Entity::delete_many()
            .filter(login_failure::Column::FirstFailedAt.lt(day_ago))
            .filter(
                Condition::any()
                    .add(login_failure::Column::LockedUntil.is_null())
                    .add(login_failure::Column::LockedUntil.lt(now)),
            )
            .exec(db)
            .await?
            .rows_affected;
        let uninstalled_portals = self.erase_uninstalled(now).await?;
        Ok(Pruned {
            webhook_events,
            timeline_entries,
            expired,
            uninstalled_portals,
        })
    }
}
