//! A Holded webhook delivery accepted for the targeted sync.

use sea_orm::entity::prelude::*;

/// One delivery, stored once per portal and Holded delivery id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holded_webhook_events")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Portal.
    pub portal_id: i64,
    /// `x-holded-webhook-id`.
    pub delivery_id: String,
    /// `x-holded-webhook-event` (`contact.update`, `invoice.approve`, …).
    pub event: String,
    /// The Holded record it is about, as `Change::key` writes it
    /// (`contact:<id>`, `invoice:<id>`…); none for events the sync does not use.
    pub object_id: Option<String>,
    /// When it arrived.
    pub received_at: DateTimeUtc,
    /// When the targeted sync handled it.
    pub processed_at: Option<DateTimeUtc>,
    /// The run that handled it.
    pub run_id: Option<i64>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
