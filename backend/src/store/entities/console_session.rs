//! Operator console sessions, kept server-side so that signing out (or
//! changing `HH_ADMIN_TOKEN`) ends them.

use sea_orm::entity::prelude::*;

/// A session opened with the admin token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "console_sessions")]
pub struct Model {
    /// The session cookie's nonce.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Keyed hash of the admin token it was opened with: a new token ends it.
    pub token_fingerprint: String,
    /// When it was opened.
    pub created_at: DateTimeUtc,
    /// When it ends by itself.
    pub expires_at: DateTimeUtc,
    /// When it was ended by signing out.
    pub revoked_at: Option<DateTimeUtc>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
