//! The network between the service and the two APIs, as the harness wants
//! it: realistic latency, answers lost after the write landed, 429 storms,
//! and a hook that kills a worker while Holded is taking one of its creates.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use rand::Rng;
use tokio::sync::mpsc;

/// Which API a proxy stands in front of (their errors differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Holded,
    Hubspot,
}

/// How the network behaves.
#[derive(Clone, Debug)]
pub struct Network {
    pub api: Api,
    /// Latency of reads and of writes, in milliseconds (uniform in the range).
    pub read_ms: (u64, u64),
    pub write_ms: (u64, u64),
    /// Share of writes whose answer is lost after the write landed (a 5xx or
    /// a timeout), and of reads answered 5xx.
    pub lost_write_rate: f64,
    pub failed_read_rate: f64,
}

/// A create that Holded is taking, for the kill hook.
#[derive(Debug, Clone)]
pub struct CreateSeen {
    /// `contact` or `document`.
    pub what: &'static str,
}

/// What the proxies did, for the report.
#[derive(Debug, Default)]
pub struct Injected {
    pub lost_writes: AtomicU64,
    pub failed_reads: AtomicU64,
    pub storm_429s: AtomicU64,
}

/// A running proxy.
pub struct Proxy {
    pub url: String,
    handle: ServerHandle,
}

impl Proxy {
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

struct Shared {
    network: Network,
    upstream: String,
    http: reqwest::Client,
    storm: Arc<AtomicBool>,
    injected: Arc<Injected>,
    creates: Option<mpsc::UnboundedSender<CreateSeen>>,
}

fn between((low, high): (u64, u64)) -> Duration {
    Duration::from_millis(rand::rng().random_range(low..=high.max(low)))
}

/// Which create a Holded request is, if it is one.
fn holded_create(method: &str, path: &str) -> Option<&'static str> {
    if method != "POST" {
        return None;
    }
    const V1: [&str; 5] = ["estimate", "proform", "waybill", "invoice", "salesorder"];
    const V2: [&str; 5] = [
        "estimates",
        "proformas",
        "waybills",
        "invoices",
        "sales-orders",
    ];
    let tail = path.rsplit('/').next().unwrap_or_default();
    if path.ends_with("/contacts") {
        Some("contact")
    } else if (path.contains("/documents/") && V1.contains(&tail)) || V2.contains(&tail) {
        Some("document")
    } else {
        None
    }
}

fn too_many(api: Api) -> HttpResponse {
    match api {
        Api::Hubspot => HttpResponse::TooManyRequests().json(serde_json::json!({
            "status": "error", "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
            "correlationId": uuid::Uuid::new_v4().to_string(),
        })),
        Api::Holded => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "2"))
            .content_type("application/problem+json")
            .body(r#"{"type":"about:blank","title":"Too Many Requests","status":429}"#),
    }
}

async fn forward(shared: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let method = req.method().as_str().to_owned();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let write = method != "GET";
    let network = &shared.network;
    if shared.storm.load(Ordering::Relaxed) && !req.path().starts_with("/oauth") {
        shared.injected.storm_429s.fetch_add(1, Ordering::Relaxed);
        return too_many(network.api);
    }
    tokio::time::sleep(between(if write {
        network.write_ms
    } else {
        network.read_ms
    }))
    .await;
    if !write && rand::rng().random_bool(network.failed_read_rate) {
        shared.injected.failed_reads.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::ServiceUnavailable().finish();
    }
    let create = (network.api == Api::Holded)
        .then(|| holded_create(&method, req.path()))
        .flatten();
    if let (Some(what), Some(creates)) = (create, &shared.creates) {
        let _ = creates.send(CreateSeen { what });
    }
    let mut upstream = shared.http.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("a method actix accepted"),
        format!("{}{path_and_query}", shared.upstream),
    );
    for (name, value) in req.headers() {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = match upstream.body(body.to_vec()).send().await {
        Ok(answer) => answer,
        Err(_) => return HttpResponse::BadGateway().finish(),
    };
    // The write landed; its answer may not make it back.
    if write
        && !req.path().starts_with("/oauth")
        && rand::rng().random_bool(network.lost_write_rate)
    {
        shared.injected.lost_writes.fetch_add(1, Ordering::Relaxed);
        return if rand::rng().random_bool(0.5) {
            HttpResponse::BadGateway().finish()
        } else {
            tokio::time::sleep(Duration::from_secs(2)).await;
            HttpResponse::GatewayTimeout().finish()
        };
    }
    let status = actix_web::http::StatusCode::from_u16(answer.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response.insert_header((name.as_str(), value.as_bytes()));
        }
    }
    response.body(answer.bytes().await.unwrap_or_default())
}

/// Starts a proxy in front of `upstream`.
pub async fn start(
    upstream: &str,
    network: Network,
    storm: Arc<AtomicBool>,
    injected: Arc<Injected>,
    creates: Option<mpsc::UnboundedSender<CreateSeen>>,
) -> Proxy {
    let shared = web::Data::new(Shared {
        network,
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: holded_hubspot::http::client_builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client"),
        storm,
        injected,
        creates,
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .default_service(web::to(forward))
    })
    .workers(2)
    .listen(listener)
    .expect("listen")
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Proxy { url, handle }
}
