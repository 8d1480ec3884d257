//! When a portal's contact index was last completed by a clean scan.

use sea_orm::entity::prelude::*;

/// A portal's last complete contact scan.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holded_contact_scans")]
pub struct Model {
    /// Portal.
    #[sea_orm(primary_key, auto_increment = false)]
    pub portal_id: i64,
    /// When that scan started (entries older than this are gone from Holded).
    pub completed_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
