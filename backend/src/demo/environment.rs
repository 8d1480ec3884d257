//! The demo's world in one process: both simulators on free local ports, and
//! the normal service runtime configured against them on a fresh SQLite
//! database in `./data/demo/`, with a generated app, secret key and admin token.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
};

use anyhow::Context;
use holded_hubspot_sim::{RunningSims, SimConfig, hubspot::AppConfig};
use secrecy::{ExposeSecret, SecretString};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{
    config::{Config, ConfigArgs},
    crypto::SecretKey,
    runtime::Runtime,
    telemetry,
};

/// Directory of the demo database, relative to the working directory. The
/// service's own default (`./data/holded-hubspot.db`) is never touched.
pub const DEMO_DATA_DIR: &str = "data/demo";

/// File name of the demo database inside [`DEMO_DATA_DIR`].
const DEMO_DATABASE: &str = "holded-hubspot.db";

/// The HubSpot app the demo registers: its client id and app id (the client
/// secret is generated for each run).
const DEMO_CLIENT_ID: &str = "holded-hubspot-demo";
const DEMO_APP_ID: u64 = 2_026_001;

/// Log level of the demo when `RUST_LOG` is unset: the demo's own lines tell
/// the story; warnings and errors still show.
const DEMO_LOG_LEVEL: &str = "warn";

/// The simulators and the service, running.
pub struct Environment {
    /// Holded and HubSpot simulators.
    pub sims: RunningSims,
    /// The service.
    pub service: Service,
}

impl Environment {
    /// Stops the service gracefully, then the simulators.
    pub async fn stop(self) -> anyhow::Result<()> {
        let stopped = self.service.stop().await;
        self.sims.stop().await;
        stopped
    }
}

/// The service running in this process (HTTP, scheduler and workers).
pub struct Service {
    /// Its parts, for steps that use them directly (the sync engine).
    pub runtime: Runtime,
    /// Its public base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Token of the operator console, generated for this run.
    pub admin_token: SecretString,
    /// The HTTP client the steps call the service with (it follows redirects,
    /// as a browser does).
    pub http: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Service {
    /// Asks the service to stop and waits until it has stopped gracefully.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("the service task panicked")?
    }
}

/// Starts both simulators on free local ports.
pub async fn start_simulators() -> anyhow::Result<RunningSims> {
    let sims = holded_hubspot_sim::start(SimConfig::default())
        .await
        .context("no se pudieron abrir los puertos de los simuladores")?;
    println!(
        "   Holded simulado (simulated Holded):   {}",
        sims.holded_url
    );
    println!(
        "   HubSpot simulado (simulated HubSpot): {}",
        sims.hubspot_url
    );
    Ok(sims)
}

/// Starts the service against `sims` on a fresh demo database: listens on
/// `bind` (or a free local port), registers a generated HubSpot app in the
/// simulator with our webhook URL, and serves until [`Service::stop`].
pub async fn start_service(
    args: ConfigArgs,
    bind: Option<String>,
    sims: &RunningSims,
) -> anyhow::Result<Service> {
    let data_dir = PathBuf::from(DEMO_DATA_DIR);
    remove_previous_database(&data_dir)?;
    let requested = bind.unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = TcpListener::bind(requested.as_str())
        .with_context(|| format!("HH_BIND: no se puede escuchar en {requested}"))?;
    let client_secret = generated_secret("demo-client-secret");
    let admin_token = generated_secret("demo-admin");
    let config = demo_config(
        args,
        &listener,
        &data_dir,
        sims,
        &client_secret,
        &admin_token,
    )?;
    telemetry::init_logging(config.log_format, DEMO_LOG_LEVEL);
    let url = config.public_url.as_str().trim_end_matches('/').to_owned();
    sims.hubspot.register_app(AppConfig {
        client_id: DEMO_CLIENT_ID.to_owned(),
        client_secret: client_secret.expose_secret().to_owned(),
        app_id: DEMO_APP_ID,
        webhook_url: Some(format!("{url}/webhooks/hubspot")),
        ..AppConfig::default()
    });
    let runtime = Runtime::start(config).await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(runtime.clone().serve_on(listener, true, async move {
        let _ = stopped.await;
        Ok(())
    }));
    let service = Service {
        runtime,
        url,
        admin_token,
        http: crate::http::client_builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?,
        stop,
        task,
    };
    check_ready(&service).await?;
    println!(
        "   Servicio (service): {} · base de datos (database) ./{DEMO_DATA_DIR}/{DEMO_DATABASE}",
        service.url
    );
    println!(
        "   Token de administración (admin token; se muestra a propósito para la consola del operador / shown on purpose for the operator console): {}",
        service.admin_token.expose_secret()
    );
    Ok(service)
}

/// Removes the previous demo database (and its WAL files); nothing else in
/// the directory, and nothing outside it.
fn remove_previous_database(data_dir: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = data_dir.join(format!("{DEMO_DATABASE}{suffix}"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err).with_context(|| {
                    format!(
                        "no se pudo borrar la base de datos anterior {}",
                        path.display()
                    )
                });
            }
        }
    }
    Ok(())
}

/// A random secret for this run only, e.g. `demo-admin-3f2a…` (32 hex digits).
fn generated_secret(prefix: &str) -> SecretString {
    SecretString::from(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()))
}

/// The normal service configuration, built from the user's flags and
/// environment with the demo's values in place: the demo database, the
/// listener's address, the simulators' URLs, the generated app, admin token
/// and secret key. Logging and timeline options stay the user's.
fn demo_config(
    mut args: ConfigArgs,
    listener: &TcpListener,
    data_dir: &Path,
    sims: &RunningSims,
    client_secret: &SecretString,
    admin_token: &SecretString,
) -> anyhow::Result<Config> {
    args.database_url = None;
    args.data_dir = data_dir.to_path_buf();
    args.bind = listener.local_addr()?.to_string();
    args.public_url = None;
    args.secret_key = None;
    args.admin_token = Some(admin_token.expose_secret().to_owned());
    args.hubspot_client_id = Some(DEMO_CLIENT_ID.to_owned());
    args.hubspot_client_secret = Some(client_secret.expose_secret().to_owned());
    args.hubspot_app_id = Some(DEMO_APP_ID.to_string());
    args.hubspot_api_base = sims.hubspot_url.clone();
    args.hubspot_auth_url = format!("{}/oauth/authorize", sims.hubspot_url);
    args.holded_api_base = sims.holded_url.clone();
    let mut config = Config::from_args(&args)?;
    config.secret_key = Some(SecretKey::generate());
    Ok(config)
}

/// Waits until `/readyz` answers 200 (database reachable and migrated).
async fn check_ready(service: &Service) -> anyhow::Result<()> {
    let response = service
        .http
        .get(format!("{}/readyz", service.url))
        .send()
        .await
        .context("el servicio no responde en /readyz")?;
    anyhow::ensure!(
        response.status().is_success(),
        "/readyz respondió {}: {}",
        response.status(),
        response.text().await.unwrap_or_default()
    );
    Ok(())
}
