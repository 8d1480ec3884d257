//! The Holded calls of one Holded account in one calendar month, against its
//! plan's monthly quota (v1 and v2 calls count together).

use sea_orm::entity::prelude::*;

/// One account's month.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holded_usage")]
pub struct Model {
    /// The account: a hash of its key (never the key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub account: String,
    /// `YYYY-MM` (UTC).
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    /// Calls this service made.
    pub calls: i64,
    /// What Holded's `GET /api/v2/usage` last reported (every client of the account).
    pub reported_usage: Option<i64>,
    /// The limit it reported.
    pub reported_limit: Option<i64>,
    /// `calls` when Holded last reported (ours made since come on top).
    pub reported_at_calls: Option<i64>,
    /// When the quota was found spent (Holded refused, or our count reached it).
    pub spent_at: Option<DateTimeUtc>,
    /// When the 80 % warning was first logged.
    pub warned_at: Option<DateTimeUtc>,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
