//! One sync run of a portal (scheduled, manual or from the CLI).

use sea_orm::entity::prelude::*;

/// A run: its trigger, status and timing. Per-object counts live in
/// [`super::sync_run_object`].
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_runs")]
pub struct Model {
    /// Run id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Portal the run belongs to.
    pub portal_id: i64,
    /// `scheduled`, `manual` or `cli`.
    pub trigger: String,
    /// `running`, `completed`, `failed` or `paused`.
    pub status: String,
    /// A dry run computes the plan and writes nothing to HubSpot.
    pub dry_run: bool,
    /// Back-fill start date, when given.
    pub since: Option<Date>,
    /// Start time.
    pub started_at: DateTimeUtc,
    /// End time, once finished.
    pub finished_at: Option<DateTimeUtc>,
    /// Why the run failed, in Spanish.
    pub error: Option<String>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
