//! The HubSpot simulator. Its endpoints arrive with the HubSpot client; for now
//! it serves only the shared `/_sim/health`.

use actix_web::web;

/// Registers the HubSpot routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
