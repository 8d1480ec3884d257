//! What was written on a deal's Activity timeline.

use sea_orm::entity::prelude::*;

/// One entry as sent to HubSpot.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "timeline_entries")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Portal.
    pub portal_id: i64,
    /// Deal.
    pub deal_id: String,
    /// The document request it belongs to, if any.
    pub document_request_id: Option<i64>,
    /// `app_event` or `note`.
    pub channel: String,
    /// The text shown on the timeline.
    pub text: String,
    /// HubSpot's id of the note (app events have ours).
    pub hubspot_id: Option<String>,
    /// When.
    pub created_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
