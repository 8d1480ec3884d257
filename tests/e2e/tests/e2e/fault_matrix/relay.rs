//! HubSpot's webhook deliveries as a storm: every delivery the simulator
//! makes is relayed to the service ten times, at random moments (so out of
//! order), a few of them much later, each signed afresh as HubSpot signs a
//! retry.

use std::{sync::Arc, time::Duration};

use actix_web::{App, HttpResponse, HttpServer, dev::ServerHandle, web};
use rand::Rng;

use crate::support::{CLIENT_SECRET, signed_request};

/// How deliveries are multiplied.
#[derive(Clone, Debug)]
pub struct Storm {
    /// Copies of each delivery.
    pub copies: usize,
    /// Most copies arrive within this.
    pub spread: Duration,
    /// A few arrive this late.
    pub late: Duration,
}

struct Relay {
    service: String,
    storm: Storm,
}

async fn receive(relay: web::Data<Arc<Relay>>, body: web::Bytes) -> HttpResponse {
    let body = String::from_utf8_lossy(&body).into_owned();
    for copy in 0..relay.storm.copies {
        let late = copy == 0 && rand::rng().random_bool(0.2);
        let delay = if late {
            relay.storm.late
        } else {
            Duration::from_millis(
                rand::rng().random_range(0..=relay.storm.spread.as_millis() as u64),
            )
        };
        let (relay, body) = (relay.clone(), body.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = signed_request(
                &relay.service,
                reqwest::Method::POST,
                "/webhooks/hubspot",
                &body,
                CLIENT_SECRET,
                chrono::Utc::now(),
            )
            .send()
            .await;
        });
    }
    HttpResponse::NoContent().finish()
}

/// A relay to `service` (its public URL); returns the URL HubSpot's
/// simulator should deliver to, and its handle.
pub async fn start(service: &str, storm: Storm) -> (String, ServerHandle) {
    let relay = Arc::new(Relay {
        service: service.to_owned(),
        storm,
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hubspot", listener.local_addr().expect("address"));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(relay.clone()))
            .route("/hubspot", web::post().to(receive))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (url, handle)
}
