//! A HubSpot webhook event accepted for processing.

use sea_orm::entity::prelude::*;

/// One received deal-stage change, stored once (deduplicated).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `portal:eventId:subscriptionId:occurredAt` — HubSpot may deliver an event more than once.
    #[sea_orm(unique)]
    pub dedupe_key: String,
    /// Portal.
    pub portal_id: i64,
    /// `object.propertyChange` or `deal.propertyChange`.
    pub subscription_type: String,
    /// The deal.
    pub object_id: Option<String>,
    /// The event as received (JSON).
    pub payload: String,
    /// When it happened in HubSpot.
    pub occurred_at: DateTimeUtc,
    /// When we received it.
    pub received_at: DateTimeUtc,
    /// When its job handled it (unset: a job is due or was lost).
    pub processed_at: Option<DateTimeUtc>,
    /// When a job for it was last queued.
    pub enqueued_at: Option<DateTimeUtc>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
