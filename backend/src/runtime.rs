//! Putting the service together: database, secrets, queue, HTTP and workers,
//! for the `serve`, `worker`, `migrate` and `demo` commands.

use std::{net::TcpListener, sync::Arc};

use anyhow::Context;

use crate::{
    config::{Config, DatabaseTarget},
    crypto::{Keyring, SecretKey},
    deals::{DealFlow, timeline::TimelineChannel},
    holded::ClientOptions,
    hubspot::{Hubspot, HubspotConfig, OAuthSettings},
    install::{Installer, manifest::AppScopes},
    jobs::{JobContext, JobQueue, run_workers},
    settings::{HoldedAccess, SettingsService, SuperAdminCache},
    store::{Store, budget::StoreBudget},
    sync::SyncEngine,
    telemetry,
    web::{self, AppState},
};

/// The service's parts, connected and migrated.
#[derive(Clone, Debug)]
pub struct Runtime {
    /// Validated configuration.
    pub config: Config,
    /// Database.
    pub store: Store,
    /// Secrets at rest and the signing keys, from `HH_SECRET_KEY`.
    pub keys: Keyring,
    /// Job queue.
    pub queue: JobQueue,
    /// The HubSpot app's client; `None` when the app is not configured.
    pub hubspot: Option<Hubspot>,
    /// Where deal activity goes (one per process: it remembers the portals
    /// whose app events HubSpot refused).
    pub timeline: TimelineChannel,
}

/// The HubSpot app's client, when its credentials are configured; its
/// install links' `state` is signed with `keys`, and each portal's request
/// budget is kept in `store`, shared by every process.
fn hubspot_client(
    config: &Config,
    keys: &Keyring,
    store: &Store,
) -> anyhow::Result<Option<Hubspot>> {
    let Some(app) = &config.hubspot_app else {
        tracing::warn!(
            "HUBSPOT_CLIENT_ID/SECRET/APP_ID are not set: install and HubSpot calls are disabled"
        );
        return Ok(None);
    };
    let api_base = config
        .hubspot_api_base
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let redirect_url = format!(
        "{}/oauth/callback",
        config.public_url.as_str().trim_end_matches('/')
    );
    let scopes = AppScopes::get();
    let oauth = OAuthSettings {
        client_id: app.client_id.clone(),
        client_secret: (*app.client_secret).clone(),
        state_key: std::sync::Arc::new(secrecy::SecretBox::new(Box::new(*keys.oauth_state_key()))),
        redirect_url,
        authorize_url: config.hubspot_auth_url.to_string(),
        api_base: api_base.clone(),
        scopes: scopes.required_scopes.clone(),
        optional_scopes: scopes.optional_scopes.clone(),
    };
    let mut hubspot = HubspotConfig::new(api_base);
    hubspot.budget = Some(Arc::new(StoreBudget::new(store.clone(), hubspot.limits)));
    Ok(Some(Hubspot::new(hubspot, Some(oauth))?))
}

/// Resolves the key for secrets at rest: `HH_SECRET_KEY`, or on the embedded
/// default a key generated into `<data dir>/secret.key`.
fn secret_key(config: &Config) -> anyhow::Result<SecretKey> {
    if let Some(key) = &config.secret_key {
        return Ok(key.clone());
    }
    let path = config.data_dir.join("secret.key");
    let (key, generated) = SecretKey::load_or_generate(&path)
        .with_context(|| format!("HH_SECRET_KEY: cannot use {}", path.display()))?;
    if generated {
        tracing::warn!(
            path = %path.display(),
            "HH_SECRET_KEY is not set: generated a key for this machine; production must set HH_SECRET_KEY"
        );
    } else {
        tracing::warn!(path = %path.display(), "HH_SECRET_KEY is not set: using the key stored on this machine");
    }
    Ok(key)
}

impl Runtime {
    /// Connects to the database, applies migrations, prepares the job queue
    /// and loads the secret key.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database)
            .await
            .context("DATABASE_URL: cannot connect to the database")?;
        store.migrate().await.context("database migration failed")?;
        let queue = JobQueue::setup(&store).await?;
        let keys = Keyring::new(&secret_key(&config)?, config.previous_secret_key.clone());
        if let DatabaseTarget::Sqlite(path) = &config.database {
            tracing::info!(database = %path.display(), "using the embedded SQLite database");
        } else {
            tracing::info!("using PostgreSQL");
        }
        let hubspot = hubspot_client(&config, &keys, &store)?;
        Ok(Self {
            timeline: TimelineChannel::new(config.timeline_event_type.clone()),
            config,
            store,
            keys,
            queue,
            hubspot,
        })
    }

    /// The context the job workers need.
    pub fn job_context(&self) -> JobContext {
        JobContext {
            store: self.store.clone(),
            queue: self.queue.clone(),
            engine: self.sync_engine(),
            deals: self.deal_flow(),
            retention: chrono::Duration::days(i64::from(self.config.retention_days)),
        }
    }

    /// The deal → document flow, when the HubSpot app is configured.
    pub fn deal_flow(&self) -> Option<DealFlow> {
        self.hubspot.clone().map(|hubspot| {
            DealFlow::new(
                self.store.clone(),
                self.keys.cipher.clone(),
                hubspot,
                self.holded_access(),
                self.timeline.clone(),
            )
        })
    }

    /// The sync engine, when the HubSpot app is configured.
    pub fn sync_engine(&self) -> Option<SyncEngine> {
        self.hubspot.clone().map(|hubspot| {
            SyncEngine::new(
                self.store.clone(),
                self.keys.cipher.clone(),
                hubspot,
                self.holded_access(),
            )
            .with_timeline(self.timeline.clone())
        })
    }

    /// How every part reaches the portals' Holded accounts.
    pub fn holded_access(&self) -> HoldedAccess {
        HoldedAccess::new(
            self.keys.cipher.clone(),
            self.config.holded_api_base.clone(),
            ClientOptions {
                monthly_quota: self.config.holded_monthly_quota,
                v1_requests_per_minute: self.config.holded_v1_rate,
                ..ClientOptions::default()
            },
        )
    }

    /// Serves HTTP on `HH_BIND` (and, unless `with_workers` is false, runs the
    /// scheduler and workers) until SIGINT/SIGTERM, then shuts down gracefully.
    pub async fn serve(self, with_workers: bool) -> anyhow::Result<()> {
        let listener = TcpListener::bind(self.config.bind)
            .with_context(|| format!("HH_BIND: cannot listen on {}", self.config.bind))?;
        let shutdown = shutdown_signal()?;
        self.serve_on(listener, with_workers, shutdown).await
    }

    /// Serves HTTP on `listener` (and, with `with_workers`, runs the scheduler
    /// and workers) until `shutdown` resolves, then stops gracefully: requests
    /// in flight and running jobs get up to 30 seconds to finish.
    pub async fn serve_on(
        self,
        listener: TcpListener,
        with_workers: bool,
        shutdown: impl Future<Output = std::io::Result<()>> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = listener.local_addr()?;
        let state = AppState {
            store: self.store.clone(),
            metrics: telemetry::metrics_handle(),
            config: self.config.clone(),
            installer: self.hubspot.clone().map(|hubspot| {
                Installer::new(self.store.clone(), self.keys.cipher.clone(), hubspot)
            }),
            settings: SettingsService::new(
                self.store.clone(),
                self.holded_access(),
                self.config.public_url.clone(),
            ),
            queue: self.queue.clone(),
            super_admins: SuperAdminCache::default(),
            keys: self.keys.clone(),
        };
        let metrics = match self.config.metrics_bind {
            Some(bind) => {
                let listener = TcpListener::bind(bind)
                    .with_context(|| format!("HH_METRICS_BIND: cannot listen on {bind}"))?;
                tracing::info!(address = %bind, "serving /metrics without a token");
                let server = web::metrics_server(state.clone(), listener)?;
                Some((server.handle(), tokio::spawn(server)))
            }
            None => None,
        };
        let server = web::server(state, listener)?;
        tracing::info!(%address, public_url = %self.config.public_url, workers = with_workers, "listening");
        let handle = server.handle();
        let server = tokio::spawn(server);
        let (stop_workers, workers_stopped) = tokio::sync::oneshot::channel::<()>();
        let workers = with_workers.then(|| {
            tokio::spawn(run_workers(self.job_context(), async move {
                let _ = workers_stopped.await;
                Ok(())
            }))
        });
        let requested = shutdown.await;
        let _ = stop_workers.send(());
        handle.stop(true).await;
        server.await??;
        if let Some((handle, server)) = metrics {
            handle.stop(true).await;
            server.await??;
        }
        if let Some(workers) = workers {
            workers
                .await?
                .map_err(|e| anyhow::anyhow!("workers stopped with an error: {e}"))?;
        }
        Ok(requested?)
    }

    /// Runs the scheduler and workers only, until SIGINT/SIGTERM.
    pub async fn work(self) -> anyhow::Result<()> {
        tracing::info!("workers started");
        run_workers(self.job_context(), shutdown_signal()?)
            .await
            .map_err(|e| anyhow::anyhow!("workers stopped with an error: {e}"))
    }
}

/// Listens for SIGINT (Ctrl-C) and SIGTERM from this call on; the returned
/// future resolves on the first of them. Listening starts before the future is
/// polled, so a signal sent right after this returns is not lost.
pub fn shutdown_signal()
-> std::io::Result<impl Future<Output = std::io::Result<()>> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutdown requested; finishing running work");
            Ok(())
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        tokio::signal::ctrl_c().await?;
        tracing::info!("shutdown requested; finishing running work");
        Ok(())
    })
}
