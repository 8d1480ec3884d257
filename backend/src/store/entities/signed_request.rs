//! Signatures of HubSpot-signed writes already accepted: a signed request is
//! valid for five minutes, so a copy replayed within that window is refused.

use sea_orm::entity::prelude::*;

/// A seen signature, kept until its request could no longer be verified.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signed_requests")]
pub struct Model {
    /// SHA-256 (hex) of the signature header: the signature itself is not kept.
    #[sea_orm(primary_key, auto_increment = false)]
    pub signature_hash: String,
    /// After this the signature's timestamp is outside the window anyway.
    pub expires_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
