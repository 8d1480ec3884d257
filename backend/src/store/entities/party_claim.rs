//! Claims on creating a HubSpot company or contact in Holded (one worker at
//! a time per record), and whether a create was sent.

use sea_orm::entity::prelude::*;

/// The claim of one HubSpot record.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "party_claims")]
pub struct Model {
    /// Portal.
    #[sea_orm(primary_key, auto_increment = false)]
    pub portal_id: i64,
    /// `companies` or `contacts`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub object_kind: String,
    /// The HubSpot record.
    #[sea_orm(primary_key, auto_increment = false)]
    pub hubspot_id: String,
    /// Who holds it now (a document request and its attempt).
    pub owner: Option<String>,
    /// Until when (the database's clock).
    pub lease_until: Option<DateTimeUtc>,
    /// When a create of this record was last sent to Holded.
    pub create_sent_at: Option<DateTimeUtc>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
