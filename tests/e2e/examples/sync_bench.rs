//! Sync benchmark: HubSpot calls and wall time for a first sync of N Holded
//! contacts and for a run where N of them changed, against the simulators with
//! HubSpot's real rate limit (110 requests / 10 s).
//!
//! `cargo run --release -p holded-hubspot-e2e --example sync_bench -- 1000 10000`

#[path = "support/mod.rs"]
#[allow(dead_code)] // shared by the examples; each uses part of it
mod support;

use std::time::Instant;

use holded_hubspot::{
    holded::{ContactChanges, HoldedApi, HoldedClient},
    settings::SyncObjects,
    store::RunTrigger,
    sync::{KindReport, Progress, SyncRequest},
};
use holded_hubspot_sim::holded::seed::SeedSpec;
use secrecy::SecretString;
use support::{Bench, Key};

struct Quiet;

impl Progress for Quiet {
    fn page(&self, _: &str, _: usize) {}
    fn kind_done(&self, _: &KindReport) {}
}

async fn bench(n: usize) -> anyhow::Result<()> {
    let seed = SeedSpec {
        account_id: String::new(),
        seed: 1,
        contacts: n,
        products: 0,
        documents_per_type: 0,
    };
    let bench = Bench::new(seed, Key::V2, "{}").await?;
    let (sims, account, portal_id) = (&bench.sims, &bench.account, bench.portal_id);
    let engine = bench.engine();
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
        targets: None,
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
        &url::Url::parse(&sims.holded_url)?,
        SecretString::from(account.v2_token.clone()),
        bench.holded_options(),
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
    bench.finish().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    for n in support::sizes(1_000) {
        bench(n).await?;
    }
    Ok(())
}
