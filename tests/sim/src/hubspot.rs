//! The HubSpot simulator. Its endpoints arrive with the HubSpot client; for now
//! it serves only the shared `/_sim/health`.

use actix_web::web;

use crate::Simulator;

/// The simulated HubSpot service and its state (shared by all its workers).
#[derive(Clone, Debug, Default)]
pub struct HubspotSim {
    /// Where webhooks are delivered.
    pub webhook_url: Option<String>,
}

impl HubspotSim {
    /// An empty simulator delivering webhooks to `webhook_url`, if any.
    pub fn new(webhook_url: Option<String>) -> Self {
        Self { webhook_url }
    }
}

impl Simulator for HubspotSim {
    fn configure(&self, _cfg: &mut web::ServiceConfig) {}
}
