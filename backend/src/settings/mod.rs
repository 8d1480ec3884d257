//! A portal's settings: the three sections of the settings page (Holded key;
//! Holded → HubSpot date, objects and document-type mapping; sensitive data),
//! their validation with Spanish messages per field, and saving with an audit
//! trail. Used by the settings API (and the operator console).
//!
//! This module talks to both APIs — Holded to test a key, HubSpot for the
//! portal's pipelines — because validating a save needs both.

mod editors;
mod holded_access;
mod holded_webhooks;
mod model;
mod service;
mod update;
mod webhook_registration;

pub use editors::{
    AllowedEditor, ONLY_ADMINS, SettingsAccess, SuperAdminCache, allowed_editors, settings_access,
};
pub use holded_access::{HoldedAccess, StoredKeyError, holded_key_slot, webhook_secret_slot};
pub use holded_webhooks::HoldedWebhookView;
pub use model::{DEFAULT_TAX, DocumentMapping, OFFERED_DEFAULT_TAXES, StageRef, SyncObjects};
pub use service::{
    HoldedKeyView, PipelineView, SensitiveView, SettingsService, SettingsView, StageView,
    UpdateError,
};
pub use update::{FieldErrors, SensitiveDataUpdate, SettingsUpdate};
pub use webhook_registration::Registration;
