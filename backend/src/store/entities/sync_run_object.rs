//! The part of a sync run that handled one object kind.

use sea_orm::entity::prelude::*;

/// Counts, high-water mark, checkpoint and API calls for one object kind of a run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "sync_run_objects")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The run.
    pub run_id: i64,
    /// `contacts`, `companies`, `products` or `deals`.
    pub object_kind: String,
    /// `pending`, `running`, `completed` or `failed`.
    pub status: String,
    /// Records created in HubSpot.
    pub created: i32,
    /// Records updated in HubSpot.
    pub updated: i32,
    /// Records seen and left alone.
    pub unchanged: i32,
    /// Records skipped (for example documents of an unmapped type).
    pub skipped: i32,
    /// Records HubSpot refused.
    pub failed: i32,
    /// Newest Holded `updatedAt` seen.
    pub high_water_mark: Option<DateTimeUtc>,
    /// Where to resume after an interruption.
    pub checkpoint: Option<String>,
    /// HubSpot requests made.
    pub hubspot_calls: i32,
    /// Holded requests made.
    pub holded_calls: i32,
    /// Start time.
    pub started_at: Option<DateTimeUtc>,
    /// End time.
    pub finished_at: Option<DateTimeUtc>,
    /// What the operator should know (Spanish): e.g. a Holded list that did
    /// not end cleanly, so nothing was marked deleted.
    pub warning: Option<String>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
