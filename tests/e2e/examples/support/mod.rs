//! What the examples share: both simulators without their rate limits, a
//! migrated SQLite store, and a HubSpot portal provisioned with the app's
//! properties whose settings hold the key of a seeded Holded account.

use std::{num::NonZeroU32, path::PathBuf, sync::Arc};

use holded_hubspot::{
    crypto::{Cipher, SecretKey},
    holded::ClientOptions,
    hubspot::{Hubspot, HubspotConfig, Tokens},
    install::provision::provision,
    settings::{HoldedAccess, holded_key_slot},
    store::{Store, portal_tokens::PortalTokens},
    sync::SyncEngine,
};
use holded_hubspot_sim::{
    RunningSims, SimConfig,
    holded::{SimAccount, seed::SeedSpec},
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

/// The simulators, the store and one installed portal.
pub struct Bench {
    pub sims: RunningSims,
    pub store: Store,
    pub cipher: Cipher,
    pub portal_id: i64,
    pub hubspot: Hubspot,
    pub account: SimAccount,
    dir: PathBuf,
}

impl Bench {
    /// A portal whose Holded account is seeded with `seed` (its account id is
    /// filled in), with `key` in its settings and `document_mapping` (JSON)
    /// as its document type → stage mapping.
    pub async fn new(seed: SeedSpec, key: Key, document_mapping: &str) -> anyhow::Result<Self> {
        let sims = holded_hubspot_sim::start(SimConfig::default()).await?;
        let dir = std::env::temp_dir().join(format!("hh-bench-{}", uuid::Uuid::new_v4()));
        let store = Store::connect(&holded_hubspot::config::DatabaseTarget::Sqlite(
            dir.join("db.sqlite"),
        ))
        .await?;
        store.migrate().await?;
        let cipher = Cipher::new(SecretKey::generate());

        let portal = sims.hubspot.create_portal(Default::default());
        let portal_id = portal.portal_id as i64;
        store.record_install(portal_id, &[], false).await?;
        let tokens = PortalTokens::new(store.clone(), cipher.clone(), portal_id);
        tokens
            .write(&Tokens::fixed(SecretString::from(
                portal.access_token.clone(),
            )))
            .await
            .map_err(anyhow::Error::msg)?;
        let hubspot = Hubspot::new(HubspotConfig::new(&sims.hubspot_url), None)?;
        provision(&hubspot.portal(portal.portal_id, Arc::new(tokens)), false).await?;
        store.mark_provisioned(portal_id, "Europe/Madrid").await?;

        // Holded's limits (100/min per token, the monthly quota) are not what
        // the examples measure.
        let mut holded_settings = sims.holded.settings();
        holded_settings.v2_rate_limit_per_minute = 1_000_000;
        holded_settings.monthly_limit = u64::MAX;
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
        let key_text = match key {
            Key::V1 => &account.v1_key,
            Key::V2 => &account.v2_token,
        };
        settings.holded_key_enc = Some(cipher.seal(
            &SecretString::from(key_text.clone()),
            holded_key_slot(portal_id),
        ));
        settings.document_mapping = document_mapping.to_owned();
        store.save_settings(settings).await?;
        Ok(Self {
            sims,
            store,
            cipher,
            portal_id,
            hubspot,
            account,
            dir,
        })
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
