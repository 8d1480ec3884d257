//! The link between a Holded record and its HubSpot record.

use sea_orm::entity::prelude::*;

/// One Holded record's HubSpot counterpart and what was last written.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "record_links")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Portal.
    pub portal_id: i64,
    /// `contacts`, `companies`, `products`, `deals` or `line_items`.
    pub object_kind: String,
    /// Holded id (for line items: `<document id>#<line number>`).
    pub holded_id: String,
    /// HubSpot record id, once known.
    pub hubspot_id: Option<String>,
    /// Hash of the properties last written.
    pub content_hash: Option<String>,
    /// Holded `updatedAt` of the version last written (contacts only).
    pub holded_updated_at: Option<DateTimeUtc>,
    /// When it was last written.
    pub last_synced_at: Option<DateTimeUtc>,
    /// The record is gone from Holded (marked in HubSpot, never deleted there).
    pub deleted_in_holded: bool,
    /// When the nightly sync last wrote it from a Holded list (a record the
    /// deal flow created has none until a list shows it).
    pub listed_at: Option<DateTimeUtc>,
    /// When its HubSpot contact was erased for privacy (HubSpot's privacy
    /// deletion): the Holded record is never synced into HubSpot again.
    pub erased_at: Option<DateTimeUtc>,
    /// Hash of the content HubSpot last refused for its data: that content is
    /// not sent again until it changes in Holded or someone retries it.
    pub refused_hash: Option<String>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Whether HubSpot refused exactly this content (`hash`) last time.
    pub fn refused(&self, hash: &str) -> bool {
        self.refused_hash.as_deref() == Some(hash)
    }
}
