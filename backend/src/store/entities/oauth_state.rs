//! OAuth `state` values already used (a state is accepted once).

use sea_orm::entity::prelude::*;

/// A consumed state nonce.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    /// The state's nonce.
    #[sea_orm(primary_key, auto_increment = false)]
    pub nonce: String,
    /// When the state would have expired (rows past it can be purged).
    pub expires_at: DateTimeUtc,
    /// When it was used.
    pub consumed_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
