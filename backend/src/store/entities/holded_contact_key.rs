//! The last contact scan's index: a keyed hash of a Holded contact's
//! normalised NIF/CIF or email, and the contact's id.

use sea_orm::entity::prelude::*;

/// One (field, value) → contact entry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holded_contact_keys")]
pub struct Model {
    /// Portal.
    #[sea_orm(primary_key, auto_increment = false)]
    pub portal_id: i64,
    /// `nif` or `email`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub field: String,
    /// Keyed hash of the normalised value (the value itself is not kept).
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_hash: String,
    /// Holded contact id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub holded_id: String,
    /// When a scan last saw it.
    pub seen_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
