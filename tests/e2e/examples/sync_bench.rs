//! Sync benchmark: HubSpot calls and wall time for a first sync of N Holded
//! contacts and for a run where N of them changed, against the simulators with
//! HubSpot's real rate limit (110 requests / 10 s).
//!
//! `cargo run --release -p holded-hubspot-e2e --example sync_bench -- 1000 10000`

use std::{sync::Arc, time::Instant};

use holded_hubspot::{
    crypto::{Cipher, SecretKey},
    holded::{ClientOptions, ContactChanges, HoldedApi, HoldedClient},
    hubspot::{Hubspot, HubspotConfig, Tokens},
    install::provision::provision,
    settings::{HoldedAccess, SyncObjects},
    store::{RunTrigger, Store, portal_tokens::PortalTokens},
    sync::{KindReport, Progress, SyncEngine, SyncRequest},
};
use holded_hubspot_sim::{SimConfig, holded::seed::SeedSpec};
use secrecy::SecretString;

struct Quiet;

impl Progress for Quiet {
    fn page(&self, _: &str, _: usize) {}
    fn kind_done(&self, _: &KindReport) {}
}

async fn bench(n: usize) -> anyhow::Result<()> {
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

    // Holded's own limit (100/min per key) is not what this measures.
    let mut holded_settings = sims.holded.settings();
    holded_settings.v2_rate_limit_per_minute = 1_000_000;
    holded_settings.monthly_limit = u64::MAX;
    sims.holded.set_settings(holded_settings);
    let account = sims.holded.create_account(None);
    sims.holded
        .seed(&SeedSpec {
            account_id: account.account_id.clone(),
            seed: 1,
            contacts: n,
            products: 0,
            documents_per_type: 0,
        })
        .ok_or_else(|| anyhow::anyhow!("seed"))?;
    let mut settings = store
        .settings_or_default(
            portal_id,
            chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        )
        .await?;
    settings.holded_key_enc = Some(cipher.seal(
        &SecretString::from(account.v2_token.clone()),
        holded_hubspot::settings::holded_key_slot(portal_id),
    ));
    store.save_settings(settings).await?;

    let holded_base = url::Url::parse(&sims.holded_url)?;
    let options = ClientOptions {
        requests_per_minute: std::num::NonZeroU32::new(100_000),
        ..Default::default()
    };
    let engine = SyncEngine::new(
        store.clone(),
        cipher.clone(),
        hubspot,
        HoldedAccess::new(cipher, holded_base.clone(), options.clone()),
    );
    let request = || SyncRequest {
        portal_id,
        trigger: RunTrigger::Cli,
        objects: Some(SyncObjects {
            contacts: true,
            companies: true,
            products: false,
            documents: false,
        }),
        since: Some(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()),
        dry_run: false,
    };
    let print = |label: &str, report: &holded_hubspot::sync::SyncReport, elapsed: f64| {
        let writes: u32 = report.kinds.iter().map(|k| k.created + k.updated).sum();
        let calls: u64 = report.kinds.iter().map(|k| k.hubspot_calls).sum();
        println!(
            "N={n:>6} {label:<18} records written {writes:>6} · HubSpot calls {calls:>5} ({:.3} per written record) · {elapsed:>6.1} s",
            calls as f64 / writes.max(1) as f64
        );
    };
    let started = Instant::now();
    let first = engine.run(request(), &Quiet).await?;
    print("first sync", &first, started.elapsed().as_secs_f64());

    let holded = HoldedClient::new(
        &holded_base,
        SecretString::from(account.v2_token.clone()),
        options,
    )?;
    for contact in sims.holded.contacts(&account.account_id) {
        holded
            .update_contact(
                &contact.id,
                &ContactChanges {
                    phone: Some("+34 600 123 456".into()),
                    ..Default::default()
                },
            )
            .await?;
    }
    let before = sims.hubspot.stats().by_endpoint;
    let started = Instant::now();
    let changed = engine.run(request(), &Quiet).await?;
    print("all changed", &changed, started.elapsed().as_secs_f64());
    for (endpoint, count) in sims.hubspot.stats().by_endpoint {
        let delta = count - before.get(&endpoint).copied().unwrap_or(0);
        if delta > 0 {
            println!("    {endpoint}: {delta}");
        }
    }
    let started = Instant::now();
    let unchanged = engine.run(request(), &Quiet).await?;
    print(
        "nothing changed",
        &unchanged,
        started.elapsed().as_secs_f64(),
    );
    sims.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    for n in if sizes.is_empty() { vec![1_000] } else { sizes } {
        bench(n).await?;
    }
    Ok(())
}
