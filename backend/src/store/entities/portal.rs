//! A HubSpot portal (account) that installed the app.

use sea_orm::entity::prelude::*;

/// One installed portal, keyed by its HubSpot hub id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portals")]
pub struct Model {
    /// HubSpot hub id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    /// IANA time zone of the portal (nightly runs happen at 01:00 there).
    pub time_zone: String,
    /// `installing`, `connected` or `disconnected`.
    pub status: String,
    /// Why the portal is in its status, in Spanish, for the console.
    pub status_reason: Option<String>,
    /// Sealed OAuth access token.
    pub access_token_enc: Option<String>,
    /// Sealed OAuth refresh token.
    pub refresh_token_enc: Option<String>,
    /// When the access token expires.
    pub token_expires_at: Option<DateTimeUtc>,
    /// Granted scopes, space separated.
    pub scopes: Option<String>,
    /// When the next scheduled sync is due; `None` means not scheduled.
    pub next_run_at: Option<DateTimeUtc>,
    /// When a scheduler last claimed this portal.
    pub last_claimed_at: Option<DateTimeUtc>,
    /// Row creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Whether HubSpot granted the sensitive-data scopes (Enterprise portals).
    pub sensitive_supported: bool,
    /// When provisioning (property groups and properties) last completed.
    pub provisioned_at: Option<DateTimeUtc>,
    /// A sync run holds the portal until then (a lease renewed while it runs).
    pub sync_lock_until: Option<DateTimeUtc>,
    /// Since when HubSpot access has been failing for a reason that may pass
    /// (refresh timeouts, 5xx, 429): the portal stays connected and is retried.
    pub degraded_since: Option<DateTimeUtc>,
    /// Why, in Spanish, for the console (never a token).
    pub degraded_reason: Option<String>,
    /// Scopes HubSpot said the installation lacks (space separated).
    pub missing_scopes: Option<String>,
    /// When the app was found uninstalled (HubSpot refused its refresh
    /// token); its settings are kept for a grace period, then erased.
    pub uninstalled_at: Option<DateTimeUtc>,
    /// The run holding the sync lock (with `sync_lock_until`).
    pub sync_lock_owner: Option<String>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
