//! The audit log of settings changes and operator actions.

use sea_orm::entity::prelude::*;

/// One audited action.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Portal concerned, if any.
    pub portal_id: Option<i64>,
    /// Who: `hubspot-user:<id>`, `portal:<id>`, `operator` or `system`.
    pub actor: String,
    /// What, e.g. `settings.updated`.
    pub action: String,
    /// JSON details; secrets are masked before they get here.
    pub details: String,
    /// When.
    pub created_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
