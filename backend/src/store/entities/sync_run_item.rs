//! One record a sync run failed to write (or, for dry runs, a planned change).

use sea_orm::entity::prelude::*;

/// A failed (or planned) record of a run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "sync_run_items")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The run.
    pub run_id: i64,
    /// Object kind.
    pub object_kind: String,
    /// Holded id.
    pub holded_id: String,
    /// HubSpot id, when known.
    pub hubspot_id: Option<String>,
    /// `failed`, `create` or `update` (the last two in dry runs).
    pub outcome: String,
    /// Why, in Spanish (HubSpot's reason for failures).
    pub reason: Option<String>,
    /// What was sent, sensitive values masked.
    pub payload_summary: Option<String>,
    /// A later run wrote the record.
    pub resolved: bool,
    /// When.
    pub created_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
