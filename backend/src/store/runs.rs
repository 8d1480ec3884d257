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
