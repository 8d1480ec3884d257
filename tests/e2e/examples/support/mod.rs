//! What the examples share: both simulators (HubSpot's rate limits always,
//! Holded's per-minute limit when asked, never Holded's monthly quota: the
//! examples count calls against it instead), a migrated store (SQLite, or a
//! database the caller brings), and a HubSpot portal provisioned with the
//! app's properties whose settings hold the key of a seeded Holded account.

pub mod overlap;

use std::{num::NonZeroU32, path::PathBuf, sync::Arc, time::Duration};

use holded_hubspot::{
    config::DatabaseTarget,
    crypto::{Cipher, SecretKey},
    holded::ClientOptions,
    hubspot::{Hubspot, HubspotConfig, Tokens},
    install::provision::provision,
    settings::{HoldedAccess, holded_key_slot},
    store::{Store, budget::StoreBudget, portal_tokens::PortalTokens},
    sync::SyncEngine,
};
use holded_hubspot_sim::{
    RunningSims, SimConfig,
    holded::{SimAccount, seed::SeedSpec},
    hubspot::{NewPortal, model::Tier},
};
use secrecy::SecretString;

/// The account sizes given on the command line (`default` when none).
pub fn sizes(default: usize) -> Vec<usize> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        vec![default]
    } else {
        sizes
    }
}

/// Which Holded key the portal's settings hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// The v1 API key.
    V1,
    /// The v2 token.
    V2,
}

/// The key the examples' store is sealed with (`HH_SECRET_KEY` of a service
/// process they start); it guards nothing but a throw-away benchmark store.
pub const BENCH_SECRET_KEY: &str = "YmVuY2htYXJrLW9ubHktbm90LWEtcmVhbC1rZXkhISE=";

/// How the simulators behave.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimSetup {
    /// Every API answer's latency.
    pub latency: Duration,
    /// Keep Holded's per-minute limit (v2: 100 a minute per key).
    pub holded_rate_limit: bool,
    /// Holded v1 lists honour `limit` (the simulator's other reading).
    pub v1_honours_limit: bool,
    /// An Enterprise portal, provisioned with the sensitive properties
    /// (`holded_nif`, …) and its settings syncing them.
    pub sensitive: bool,
}

/// The simulators, the store and one installed portal.
pub struct Bench {
    pub sims: RunningSims,
    pub store: Store,
    pub cipher: Cipher,
    pub portal_id: i64,
    pub hubspot: Hubspot,
    pub account: SimAccount,
    pub dir: PathBuf,
    /// The store's `DATABASE_URL`, for the service processes an example starts.
    pub database_url: String,
}

impl Bench {
    /// A portal whose Holded account is seeded with `seed` (its account id is
    /// filled in), with `key` in its settings and `document_mapping` (JSON)
    /// as its document type → stage mapping; no latency, no Holded limits.
    pub async fn new(seed: SeedSpec, key: Key, document_mapping: &str) -> anyhow::Result<Self> {
        Self::with(seed, key, document_mapping, SimSetup::default()).await
    }

    /// [`Bench::new`] with simulators set up as `setup` says.
    pub async fn with(
        seed: SeedSpec,
        key: Key,
        document_mapping: &str,
        setup: SimSetup,
    ) -> anyhow::Result<Self> {
        Self::on(None, seed, key, document_mapping, setup).await
    }

    /// [`Bench::with`] on the PostgreSQL database at `postgres_url` when
    /// given (it must exist, empty), else on SQLite in the bench's directory.
    pub async fn on(
        postgres_url: Option<&str>,
        seed: SeedSpec,
        key: Key,
        document_mapping: &str,
        setup: SimSetup,
    ) -> anyhow::Result<Self> {
        let sims = holded_hubspot_sim::start(SimConfig {
            latency: setup.latency,
            ..SimConfig::default()
        })
        .await?;
        let dir = std::env::temp_dir().join(format!("hh-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir)?;
        let (target, database_url) = match postgres_url {
            Some(url) => (
                DatabaseTarget::Postgres(Arc::new(SecretString::from(url.to_owned()))),
                url.to_owned(),
            ),
            None => {
                let file = dir.join("db.sqlite");
                let url = format!("sqlite:{}", file.display());
                (DatabaseTarget::Sqlite(file), url)
            }
        };
        let store = Store::connect(&target).await?;
        store.migrate().await?;
        let cipher = Cipher::new(SecretKey::from_base64(BENCH_SECRET_KEY)?);

        let portal = sims.hubspot.create_portal(NewPortal {
            tier: if setup.sensitive {
                Tier::Enterprise
            } else {
                Tier::Pro
            },
            ..Default::default()
        });
        let portal_id = portal.portal_id as i64;
        store
            .record_install(portal_id, &[], setup.sensitive)
            .await?;
        let tokens = PortalTokens::new(store.clone(), cipher.clone(), portal_id);
        tokens
            .write(&Tokens::fixed(SecretString::from(
                portal.access_token.clone(),
            )))
            .await
            .map_err(anyhow::Error::msg)?;
        // The budget a service process keeps: shared with the examples' own calls.
        let mut config = HubspotConfig::new(&sims.hubspot_url);
        config.budget = Some(Arc::new(StoreBudget::new(store.clone(), config.limits)));
        let hubspot = Hubspot::new(config, None)?;
        provision(
            &hubspot.portal(portal.portal_id, Arc::new(tokens)),
            setup.sensitive,
        )
        .await?;
        store.mark_provisioned(portal_id, "Europe/Madrid").await?;

        // The monthly quota is counted, not enforced: the examples report the
        // calls against it.
        let mut holded_settings = sims.holded.settings();
        if !setup.holded_rate_limit {
            holded_settings.v2_rate_limit_per_minute = 1_000_000;
        }
        holded_settings.monthly_limit = u64::MAX;
        holded_settings.v1_honours_limit = setup.v1_honours_limit;
        sims.holded.set_settings(holded_settings);
        let account = sims.holded.create_account(None);
        sims.holded
            .seed(&SeedSpec {
                account_id: account.account_id.clone(),
                ..seed
            })
            .ok_or_else(|| anyhow::anyhow!("seed"))?;
        let mut settings = store
            .settings_or_default(
                portal_id,
                chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            )
            .await?;
        settings.document_mapping = document_mapping.to_owned();
        settings.sensitive_data = setup.sensitive;
        store.save_settings(settings).await?;
        let bench = Self {
            sims,
            store,
            cipher,
            portal_id,
            hubspot,
            account,
            dir,
            database_url,
        };
        bench.use_account(&bench.account, key).await?;
        Ok(bench)
    }

    /// Puts `account`'s key of kind `key` in the portal's settings.
    pub async fn use_account(&self, account: &SimAccount, key: Key) -> anyhow::Result<()> {
        let mut settings = self
            .store
            .settings_or_default(
                self.portal_id,
                chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            )
            .await?;
        let key_text = match key {
            Key::V1 => &account.v1_key,
            Key::V2 => &account.v2_token,
        };
        settings.holded_key_enc = Some(self.cipher.seal(
            &SecretString::from(key_text.clone()),
            holded_key_slot(self.portal_id),
        ));
        self.store.save_settings(settings).await?;
        Ok(())
    }

    /// Holded options without the client's own rate limit.
    pub fn holded_options(&self) -> ClientOptions {
        ClientOptions {
            requests_per_minute: NonZeroU32::new(1_000_000),
            monthly_quota: u64::MAX,
            ..Default::default()
        }
    }

    /// How the service reaches the account.
    pub fn holded_access(&self) -> HoldedAccess {
        HoldedAccess::new(
            self.cipher.clone(),
            url::Url::parse(&self.sims.holded_url).expect("simulator URL"),
            self.holded_options(),
        )
    }

    /// The sync engine of the service.
    pub fn engine(&self) -> SyncEngine {
        SyncEngine::new(
            self.store.clone(),
            self.cipher.clone(),
            self.hubspot.clone(),
            self.holded_access(),
        )
    }

    /// Stops the simulators and removes the store.
    pub async fn finish(self) {
        self.sims.stop().await;
        let _ = std::fs::remove_dir_all(self.dir);
    }
}
