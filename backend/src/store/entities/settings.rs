//! A portal's settings (one row per portal).

use sea_orm::entity::prelude::*;

/// The three sections of the settings page.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "settings")]
pub struct Model {
    /// Portal.
    #[sea_orm(primary_key, auto_increment = false)]
    pub portal_id: i64,
    /// Sealed Holded API key.
    pub holded_key_enc: Option<String>,
    /// Last four characters of the key, the only part ever shown.
    pub holded_key_last4: Option<String>,
    /// `v1` or `v2`.
    pub holded_api_generation: Option<String>,
    /// First day the nightly sync runs (a past date back-fills from it).
    pub next_sync_date: Option<Date>,
    /// Holded persons → HubSpot contacts.
    pub sync_contacts: bool,
    /// Holded companies → HubSpot companies.
    pub sync_companies: bool,
    /// Holded products → HubSpot products.
    pub sync_products: bool,
    /// Holded documents → HubSpot deals.
    pub sync_documents: bool,
    /// JSON: document type → `{pipelineId, stageId}`.
    pub document_mapping: String,
    /// Whether NIF, VAT number, IBAN and SWIFT travel between the systems.
    pub sensitive_data: bool,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Sensitive data was turned off with "erase": the next sync clears the
    /// values already written to HubSpot.
    pub erase_sensitive_pending: bool,
    /// Holded tax key for deal lines that carry no tax (unset: `s_iva_21`).
    pub default_tax: Option<String>,
    /// Users who may change the settings besides the portal's super admins:
    /// JSON `[{"userId": "…", "email": "…"}]`.
    pub allowed_editors: Option<String>,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
