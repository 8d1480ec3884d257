//! The Holded simulator (API v1 and v2). Its endpoints arrive with the Holded
//! client; for now it serves only the shared `/_sim/health`.

use actix_web::web;

/// Registers the Holded routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
