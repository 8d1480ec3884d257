//! HubSpot deal → Holded document (DESIGN §1, requirement 2): when a deal
//! enters the stage mapped to its "Tipo de documento (Holded)", the document
//! is created in Holded for the deal's company or contact (created there
//! first if needed), the Holded id, number and link are written back, and
//! every step is told on the deal's Activity timeline.
//!
//! Exactly once: each (deal, document type) is one persisted request
//! (`pending → contact_ready → creating → created | failed`) that one worker
//! at a time holds; the create's intent (date and a reference in the notes)
//! is saved before it is sent, and any later attempt looks for the document
//! by that reference before creating again.

pub mod card;
mod deal;
mod document;
pub mod error;
mod flow;
mod lines;
pub mod money;
mod party;
pub mod timeline;

pub use deal::{AssociateTo, DEAL_PROPERTIES, Deal, read_deal};
pub use document::deal_of;
pub use error::DealError;
pub use flow::{DealFlow, MAX_ATTEMPTS, Outcome, backoff};

/// Link-table kind of the Holded documents this flow created, keyed by their
/// Holded id, pointing at their deal: the nightly sync leaves them alone (the
/// deal came from HubSpot, not from Holded).
pub const ORIGIN_KIND: &str = "hubspot_documents";
