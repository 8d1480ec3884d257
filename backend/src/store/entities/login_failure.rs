//! Failed console sign-ins, counted per client address and per token tried,
//! so that guessing the admin token is throttled across every web process.

use sea_orm::entity::prelude::*;

/// Failures of one address or one token within the current window.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    /// `addr:<ip>` or `token:<keyed hash prefix>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// Failures since `first_failed_at`.
    pub failures: i32,
    /// Start of the counting window.
    pub first_failed_at: DateTimeUtc,
    /// Sign-ins from this key are refused until then.
    pub locked_until: Option<DateTimeUtc>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
