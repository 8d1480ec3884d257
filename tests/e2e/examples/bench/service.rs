//! The service under measure, as processes of its own: this executable run
//! again with [`SERVICE_ENV`] set runs the service's command line
//! (`holded-hubspot sync`, `serve`, `worker`), configured for a [`Bench`];
//! and the throw-away PostgreSQL database the web and worker processes
//! share.

use std::{process::Stdio, time::Duration};

use holded_hubspot_sim::hubspot::AppConfig;
use sea_orm::{ConnectionTrait, Database};
use tokio::process::{Child, Command};

use crate::support::{BENCH_SECRET_KEY, Bench};

/// Set in the environment of the service processes the benchmark starts:
/// the same executable then runs the service's command line.
const SERVICE_ENV: &str = "HH_BENCH_SERVICE";
/// The HubSpot app the service processes are configured as (and the
/// simulator registers): client id, client secret (it signs webhooks), id.
pub const CLIENT_ID: &str = "bench";
pub const CLIENT_SECRET: &str = "bench";
pub const APP_ID: u64 = 1;
/// The PostgreSQL admin connection (`HH_BENCH_POSTGRES_URL` overrides it).
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Whether this process was started by the benchmark as the service.
pub fn is_service() -> bool {
    std::env::var_os(SERVICE_ENV).is_some()
}

/// The service's command line, configured for `bench`'s store and
/// simulators; `RUST_LOG` from `HH_BENCH_LOG` (default `warn`), its
/// standard error the benchmark's.
pub fn command(bench: &Bench) -> anyhow::Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env(SERVICE_ENV, "1")
        .env("DATABASE_URL", &bench.database_url)
        .env("HH_DATA_DIR", &bench.dir)
        .env("HH_SECRET_KEY", BENCH_SECRET_KEY)
        .env("HUBSPOT_CLIENT_ID", CLIENT_ID)
        .env("HUBSPOT_CLIENT_SECRET", CLIENT_SECRET)
        .env("HUBSPOT_APP_ID", APP_ID.to_string())
        .env("HUBSPOT_API_BASE", &bench.sims.hubspot_url)
        .env(
            "HUBSPOT_AUTH_URL",
            format!("{}/oauth/authorize", bench.sims.hubspot_url),
        )
        .env("HOLDED_API_BASE", &bench.sims.holded_url)
        .env("HH_HOLDED_MONTHLY_QUOTA", "1000000000")
        .env(
            "RUST_LOG",
            std::env::var("HH_BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    Ok(command)
}

/// A fresh PostgreSQL database, dropped by [`Postgres::drop_database`].
pub struct Postgres {
    admin_url: String,
    name: String,
    /// Its `DATABASE_URL`.
    pub url: String,
}

impl Postgres {
    /// Creates an empty database on the server of `HH_BENCH_POSTGRES_URL`.
    pub async fn create() -> anyhow::Result<Self> {
        let admin_url = std::env::var("HH_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let name = format!("hh_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .map_err(|e| anyhow::anyhow!("PostgreSQL (HH_BENCH_POSTGRES_URL) is needed: {e}"))?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        admin.close().await?;
        let base = admin_url.rsplit_once('/').map_or(&*admin_url, |(b, _)| b);
        Ok(Self {
            url: format!("{base}/{name}"),
            admin_url,
            name,
        })
    }

    /// Drops the database (closing its connections).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let admin = Database::connect(&self.admin_url).await?;
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        admin.close().await?;
        Ok(())
    }
}

/// The service's web process (`serve --no-workers`) and its `worker`
/// processes, on `bench`'s store.
pub struct Service {
    /// The web process's base URL (also its public URL).
    pub url: String,
    processes: Vec<Child>,
}

impl Service {
    /// Starts the web process and `workers` worker processes, registers the
    /// app in the HubSpot simulator with the web process as its webhook
    /// target, and waits until `/healthz` answers.
    pub async fn start(bench: &Bench, workers: usize) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let mut web = command(bench)?;
        web.args(["serve", "--no-workers"])
            .env("HH_BIND", format!("127.0.0.1:{port}"))
            .env("HH_PUBLIC_URL", &url);
        let mut processes = vec![web.spawn()?];
        for _ in 0..workers {
            let mut worker = command(bench)?;
            worker.arg("worker");
            processes.push(worker.spawn()?);
        }
        bench.sims.hubspot.register_app(AppConfig {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            app_id: APP_ID,
            webhook_url: Some(format!("{url}/webhooks/hubspot")),
            webhook_time_factor: 1.0,
            webhook_timeout_ms: 5_000,
        });
        let mut service = Self { url, processes };
        service.wait_healthy().await?;
        Ok(service)
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let http = holded_hubspot::http::client_builder().build()?;
        for _ in 0..300 {
            for process in &mut self.processes {
                if let Some(status) = process.try_wait()? {
                    anyhow::bail!("a service process exited at start-up ({status})");
                }
            }
            let health = http.get(format!("{}/healthz", self.url)).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the web process did not answer /healthz in 30 s")
    }

    /// Installs the app in the bench's portal as its admin would (our
    /// `/oauth/install`, HubSpot's authorization, our callback), so that
    /// HubSpot delivers the portal's webhooks.
    pub async fn install(&self) -> anyhow::Result<()> {
        let answer = holded_hubspot::http::client_builder()
            .build()?
            .get(format!("{}/oauth/install", self.url))
            .send()
            .await?;
        let landed = answer.url().path().to_owned();
        anyhow::ensure!(
            answer.status().is_success() && landed == "/oauth/callback",
            "the install ended at {landed} with HTTP {}",
            answer.status()
        );
        Ok(())
    }

    /// Stops every process (they were started by the benchmark).
    pub async fn stop(self) {
        for mut process in self.processes {
            let _ = process.start_kill();
            let _ = process.wait().await;
        }
    }
}
