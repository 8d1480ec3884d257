//! sea-orm entities, one module per table.

pub mod audit_log;
pub mod console_session;
pub mod document_request;
pub mod document_state;
pub mod holded_contact_key;
pub mod holded_contact_scan;
pub mod holded_usage;
pub mod holded_webhook;
pub mod holded_webhook_event;
pub mod login_failure;
pub mod oauth_state;
pub mod party_claim;
pub mod portal;
pub mod record_link;
pub mod settings;
pub mod signed_request;
pub mod sync_run;
pub mod sync_run_item;
pub mod sync_run_object;
pub mod timeline_entry;
pub mod webhook_event;
