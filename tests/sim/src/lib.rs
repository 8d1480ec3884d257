//! Faithful local simulators of the Holded and HubSpot APIs.
//!
//! Each simulator is an HTTP server of its own (as the real services are two
//! hosts). Tests start them in-process with [`start`] on port 0; the demo and
//! manual runs use the `holded-hubspot-sim` binary. Every simulator also
//! serves a control surface under `/_sim/…` for seeding, fault injection and
//! assertions.

pub mod holded;
pub mod hubspot;

use std::{
    net::{SocketAddr, TcpListener},
    time::Duration,
};

use actix_web::{
    App, HttpResponse, HttpServer,
    dev::{ServerHandle, Service},
    get, web,
};

/// Where the simulators listen.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address of the Holded simulator (port 0 picks a free one).
    pub holded_addr: SocketAddr,
    /// Address of the HubSpot simulator (port 0 picks a free one).
    pub hubspot_addr: SocketAddr,
    /// Where the HubSpot simulator delivers webhooks, if anywhere.
    pub webhook_url: Option<String>,
    /// Network latency: every API answer (not the `/_sim/…` control
    /// surface) leaves this long after the request was handled. Rate limits
    /// count a request when it arrives, as the real services do.
    pub latency: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            holded_addr: any,
            hubspot_addr: any,
            webhook_url: None,
            latency: Duration::ZERO,
        }
    }
}

/// Running simulators; dropping this value does not stop them, [`RunningSims::stop`] does.
#[derive(Debug)]
pub struct RunningSims {
    /// Base URL of the Holded simulator, e.g. `http://127.0.0.1:41234`.
    pub holded_url: String,
    /// Base URL of the HubSpot simulator.
    pub hubspot_url: String,
    /// The Holded simulator's state, for in-process assertions.
    pub holded: holded::HoldedSim,
    /// The HubSpot simulator's state, for in-process assertions.
    pub hubspot: hubspot::HubspotSim,
    handles: Vec<ServerHandle>,
}

impl RunningSims {
    /// Stops both servers.
    pub async fn stop(self) {
        for handle in self.handles {
            handle.stop(true).await;
        }
    }
}

/// Liveness of a simulator.
#[get("/_sim/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// One simulated service: registers its routes (sharing its state) on an app.
pub trait Simulator: Clone + Send + 'static {
    /// Adds the service's routes and state to an actix app.
    fn configure(&self, cfg: &mut web::ServiceConfig);
}

fn serve(
    addr: SocketAddr,
    sim: impl Simulator,
    latency: Duration,
) -> std::io::Result<(String, ServerHandle)> {
    let listener = TcpListener::bind(addr)?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = HttpServer::new(move || {
        let sim = sim.clone();
        App::new()
            .wrap_fn(move |req, srv| {
                let delay = if req.path().starts_with("/_sim/") {
                    Duration::ZERO
                } else {
                    latency
                };
                let answer = srv.call(req);
                async move {
                    let response = answer.await;
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    response
                }
            })
            .service(health)
            .configure(move |cfg| sim.configure(cfg))
    })
    .listen(listener)?
    .workers(2)
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok((url, handle))
}

/// Starts both simulators on the current Tokio runtime.
pub async fn start(config: SimConfig) -> std::io::Result<RunningSims> {
    let holded = holded::HoldedSim::new();
    let hubspot = hubspot::HubspotSim::new(config.webhook_url);
    let (holded_url, holded_handle) = serve(config.holded_addr, holded.clone(), config.latency)?;
    let (hubspot_url, hubspot_handle) =
        serve(config.hubspot_addr, hubspot.clone(), config.latency)?;
    Ok(RunningSims {
        holded_url,
        hubspot_url,
        holded,
        hubspot,
        handles: vec![holded_handle, hubspot_handle],
    })
}
