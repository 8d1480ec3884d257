//! A portal's Holded webhook endpoint and what it has received.

use sea_orm::entity::prelude::*;

/// One row per portal that has opened its Holded webhook settings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holded_webhooks")]
pub struct Model {
    /// Portal.
    #[sea_orm(primary_key, auto_increment = false)]
    pub portal_id: i64,
    /// The opaque token of `/webhooks/holded/<token>`.
    #[sea_orm(unique)]
    pub token: String,
    /// The sealed signing secret (`whsec_…`), once entered.
    pub secret_enc: Option<String>,
    /// The Holded account the deliveries come from (the first verified one).
    pub account_id: Option<String>,
    /// When the last verified delivery arrived.
    pub last_delivery_at: Option<DateTimeUtc>,
    /// Deliveries refused so far.
    pub refused: i64,
    /// Why the last one was refused (Spanish).
    pub last_refusal: Option<String>,
    /// When.
    pub last_refused_at: Option<DateTimeUtc>,
    /// The id Holded gave the webhook when the app registered it through
    /// Holded's API (none when it was added by hand).
    pub holded_id: Option<String>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
