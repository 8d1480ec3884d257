//! Deal → Holded document latency: the web process and two worker
//! processes on a throw-away PostgreSQL database, the app installed in an
//! Enterprise portal through the real OAuth flow, the simulators answering
//! after the latency, HubSpot's signed webhooks delivered by its simulator.
//! The fault matrix's customers (half already in Holded, companies found by
//! their CIF) and deals (two per customer, the five document types) are
//! moved to their trigger stage at a steady pace; each deal is timed from
//! its move to the moment its "document created" timeline note is in the
//! HubSpot simulator (read in-process every [`POLL`]). Every deal must get
//! exactly one document in Holded and every customer must be there once.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use holded_hubspot::{holded::DocumentType, store::entities::document_request};
use holded_hubspot_sim::holded::seed::SeedSpec;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;
use tokio::time::Instant;

use crate::{
    Args,
    service::{Postgres, Service},
    stats::Percentiles,
    support::{Bench, Key, SimSetup},
    world::{self, World},
};

/// How often the HubSpot simulator's notes are read.
const POLL: Duration = Duration::from_millis(20);
/// How long the last deal may take before it counts as lost.
const PATIENCE: Duration = Duration::from_secs(60);
/// How long the run goes on after the last note before Holded is counted:
/// longer than the sweeper's five seconds, so that a second job a deal should
/// not get has had its chance to make a second document.
const SETTLE: Duration = Duration::from_secs(6);
/// HubSpot's limit per portal, in requests a second (110 per 10 s).
const HUBSPOT_RATE: f64 = 11.0;
/// The targets: p50 and p99 under these.
const TARGET_P50: Duration = Duration::from_millis(1_500);
const TARGET_P99: Duration = Duration::from_secs(5);

/// What the run saw.
struct Outcome {
    /// Per deal moved: from its move to its note, if it came.
    latencies: Vec<Option<Duration>>,
    /// What Holded holds.
    holded: Tally,
    /// Document requests that needed more than one attempt.
    retried: u64,
    /// HubSpot API calls while the deals were moved and handled (and for
    /// [`SETTLE`] after), and the 429s among them; Holded calls.
    hubspot_calls: u64,
    rate_limited: u64,
    holded_calls: u64,
}

/// What Holded holds after the run.
struct Tally {
    /// Deals with no document in Holded, and with more than one.
    missing: usize,
    duplicated: usize,
    /// Customers Holded has more than once.
    customers_duplicated: usize,
}

/// Runs the section and prints its table; fails when a deal got no
/// document (or no note), or two, or a customer was created twice.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    let database = Postgres::create().await?;
    let measured = measure(args, &database).await;
    database.drop_database().await?;
    let outcome = measured?;

    let noted: Vec<Duration> = outcome.latencies.iter().flatten().copied().collect();
    let p = Percentiles::of(noted.clone());
    let s = |d: Duration| format!("{:.2}", d.as_secs_f64());
    println!(
        "## Deal → Holded document: web + 2 workers on PostgreSQL, {} ms per API answer, {} deals moved at {}/s",
        args.latency.as_millis(),
        args.deals,
        args.deals_per_second
    );
    println!();
    println!(
        "| deals | noted | p50 s (target < {}) | p99 s (target < {}) | max s | retried | HubSpot calls / deal (429s) | deals/s HubSpot's limit allows | Holded calls / deal | no document | duplicated | customers duplicated |",
        s(TARGET_P50),
        s(TARGET_P99)
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let per_deal = |calls: u64| calls as f64 / outcome.latencies.len().max(1) as f64;
    println!(
        "| {} | {} | {} | {} | {} | {} | {:.1} ({}) | {:.2} | {:.1} | {} | {} | {} |",
        outcome.latencies.len(),
        noted.len(),
        s(p.p50),
        s(p.p99),
        s(p.max),
        outcome.retried,
        per_deal(outcome.hubspot_calls),
        outcome.rate_limited,
        HUBSPOT_RATE / per_deal(outcome.hubspot_calls).max(f64::MIN_POSITIVE),
        per_deal(outcome.holded_calls),
        outcome.holded.missing,
        outcome.holded.duplicated,
        outcome.holded.customers_duplicated,
    );
    anyhow::ensure!(
        noted.len() == outcome.latencies.len()
            && outcome.holded.missing == 0
            && outcome.holded.duplicated == 0
            && outcome.holded.customers_duplicated == 0,
        "deals lost or documents or customers duplicated"
    );
    Ok(())
}

/// Sets the world up on `database`, moves the deals and waits for their notes.
async fn measure(args: &Args, database: &Postgres) -> anyhow::Result<Outcome> {
    let setup = SimSetup {
        latency: args.latency,
        holded_rate_limit: true,
        v1_honours_limit: false,
        sensitive: true,
    };
    let bench = Bench::on(
        Some(&database.url),
        SeedSpec::default(),
        Key::V1,
        &mapping(),
        setup,
    )
    .await?;
    let service = Service::start(&bench, 2).await?;
    let outcome = async {
        service.install().await?;
        let (account, planned) = world::seed_holded(&bench.sims, 0).await;
        bench.use_account(&account, Key::V1).await?;
        let world = world::seed_hubspot(
            &bench.sims,
            bench.portal_id as u64,
            account,
            planned,
            args.deals,
        );
        let hubspot_before = bench.sims.hubspot.stats();
        let holded_before = bench.sims.holded.monthly_usage(&world.account.account_id);
        let latencies = move_and_time(args, &bench, &world).await?;
        tokio::time::sleep(SETTLE).await;
        let hubspot = bench.sims.hubspot.stats();
        let retried = document_request::Entity::find()
            .filter(document_request::Column::PortalId.eq(bench.portal_id))
            .filter(document_request::Column::Attempts.gt(1))
            .count(bench.store.db())
            .await?;
        Ok::<_, anyhow::Error>(Outcome {
            retried,
            hubspot_calls: hubspot.total - hubspot_before.total,
            rate_limited: hubspot.rate_limited - hubspot_before.rate_limited,
            holded_calls: bench.sims.holded.monthly_usage(&world.account.account_id)
                - holded_before,
            holded: tally(&bench, &world),
            latencies,
        })
    }
    .await;
    service.stop().await;
    bench.finish().await;
    outcome
}

/// The settings' mapping: each document type to its trigger stage.
fn mapping() -> String {
    let mapping: serde_json::Map<String, Value> = world::TRIGGERS
        .iter()
        .map(|(doc_type, stage)| {
            (
                (*doc_type).to_owned(),
                serde_json::json!({"pipelineId": "default", "stageId": stage}),
            )
        })
        .collect();
    Value::Object(mapping).to_string()
}

/// Moves the deals at the pace asked, one by one, and times each from its
/// move to its "document created" note.
async fn move_and_time(
    args: &Args,
    bench: &Bench,
    world: &World,
) -> anyhow::Result<Vec<Option<Duration>>> {
    let portal = bench.portal_id as u64;
    let pace = Duration::from_secs_f64(1.0 / args.deals_per_second);
    let started = Instant::now();
    let mut moved: Vec<Instant> = Vec::new();
    let mut latencies: BTreeMap<usize, Duration> = BTreeMap::new();
    let mut last_move = started;
    while latencies.len() < world.deals.len() && last_move.elapsed() < PATIENCE {
        let now = Instant::now();
        if moved.len() < world.deals.len() && now >= started + pace.mul_f64(moved.len() as f64) {
            let deal = &world.deals[moved.len()];
            bench
                .sims
                .hubspot
                .move_deal(portal, deal.id, world::trigger(deal.doc_type))
                .map_err(anyhow::Error::msg)?;
            moved.push(now);
            last_move = now;
        }
        let noted = noted_deals(bench);
        for (i, at) in moved.iter().enumerate() {
            if !latencies.contains_key(&i) && noted.contains(&world.deals[i].id) {
                latencies.insert(i, at.elapsed());
            }
        }
        tokio::time::sleep(POLL).await;
    }
    Ok((0..world.deals.len())
        .map(|i| latencies.get(&i).copied())
        .collect())
}

/// The deals of the bench's portal with a "document created" note: a note
/// associated with the deal whose text starts `Holded · <document type>`.
fn noted_deals(bench: &Bench) -> BTreeSet<u64> {
    let Some(dump) = bench.sims.hubspot.dump(bench.portal_id as u64) else {
        return BTreeSet::new();
    };
    let kinds: Vec<String> = world::TRIGGERS
        .iter()
        .filter_map(|(doc_type, _)| DocumentType::from_v1_name(doc_type))
        .map(|t| format!("Holded · {}", t.spanish_name()))
        .collect();
    let documented: BTreeSet<u64> = dump["records"]["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|note| {
            let body = note["properties"]["hs_note_body"].as_str().unwrap_or("");
            kinds.iter().any(|k| body.starts_with(k.as_str()))
        })
        .filter_map(|note| note["id"].as_str()?.parse().ok())
        .collect();
    dump["associations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["from_type"] == "notes" && a["to_type"] == "deals")
        .filter(|a| {
            a["from_id"]
                .as_u64()
                .is_some_and(|n| documented.contains(&n))
        })
        .filter_map(|a| a["to_id"].as_u64())
        .collect()
}

/// Counts documents per deal (by the reference the service writes in their
/// notes) and customers in Holded.
fn tally(bench: &Bench, world: &World) -> Tally {
    let account = &world.account.account_id;
    let documents = bench.sims.holded.documents(account);
    let per_deal = |deal: &world::Deal| {
        let reference = format!("hh-{}-{}-{}", bench.portal_id, deal.id, deal.doc_type);
        documents
            .iter()
            .filter(|d| d.notes.as_deref().is_some_and(|n| n.contains(&reference)))
            .count()
    };
    let counts: Vec<usize> = world.deals.iter().map(per_deal).collect();
    let contacts = bench.sims.holded.contacts(account);
    Tally {
        missing: counts.iter().filter(|&&c| c == 0).count(),
        duplicated: counts.iter().filter(|&&c| c > 1).count(),
        customers_duplicated: world
            .customers
            .iter()
            .map(|c| {
                contacts
                    .iter()
                    .filter(|h| h.name == c.name)
                    .count()
                    .saturating_sub(1)
            })
            .sum(),
    }
}
