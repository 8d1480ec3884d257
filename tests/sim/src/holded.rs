//! The Holded simulator (API v1 and v2). Its endpoints arrive with the Holded
//! client; for now it serves only the shared `/_sim/health`.

use actix_web::web;

use crate::Simulator;

/// The simulated Holded service and its state (shared by all its workers).
#[derive(Clone, Debug, Default)]
pub struct HoldedSim {}

impl HoldedSim {
    /// An empty simulator.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Simulator for HoldedSim {
    fn configure(&self, _cfg: &mut web::ServiceConfig) {}
}
