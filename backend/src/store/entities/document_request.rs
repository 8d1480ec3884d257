//! A request to create a Holded document from a HubSpot deal.

use sea_orm::entity::prelude::*;

/// One (deal, document type): at most one Holded document, ever. The state
/// machine is `pending → contact_ready → creating → created | failed`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_requests")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Portal.
    pub portal_id: i64,
    /// HubSpot deal id.
    pub deal_id: String,
    /// Holded v1 type name (`estimate`, `proform`, `waybill`, `invoice`, `salesorder`).
    pub document_type: String,
    /// `pending`, `contact_ready`, `creating`, `created` or `failed`.
    pub state: String,
    /// `company` or `contact`: who the document is for.
    pub associate_to: Option<String>,
    /// The Holded contact the document is for (set in `contact_ready`).
    pub holded_contact_id: Option<String>,
    /// The Holded document (set in `created`).
    pub holded_document_id: Option<String>,
    /// Its number, when Holded gave one.
    pub holded_document_number: Option<String>,
    /// The last error, in Spanish.
    pub error: Option<String>,
    /// Attempts so far.
    pub attempts: i32,
    /// Created.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// The document date, fixed before the first create is sent.
    pub document_date: Option<Date>,
    /// The reference written in the document's notes (found again after a crash).
    pub reference: Option<String>,
    /// Where the document opens in Holded.
    pub holded_link: Option<String>,
    /// The total computed from the deal's lines (decimal text).
    pub expected_total: Option<String>,
    /// The total Holded computed (decimal text).
    pub holded_total: Option<String>,
    /// What asked last: `stage` (the deal entered the stage) or `card` (Crear ahora / Reintentar).
    pub trigger: Option<String>,
    /// When a transient failure is tried again.
    pub next_attempt_at: Option<DateTimeUtc>,
    /// A worker holds the request until then.
    pub lease_until: Option<DateTimeUtc>,
    /// When the sweeper last queued a job for it.
    pub queued_at: Option<DateTimeUtc>,
    /// `attempts` when it was last (re-)opened: the attempt limit counts from here.
    pub attempts_at_open: i32,
    /// A trigger arrived while a worker held the request: if that attempt
    /// fails, the request opens again instead of waiting for the rep.
    pub retriggered_at: Option<DateTimeUtc>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
