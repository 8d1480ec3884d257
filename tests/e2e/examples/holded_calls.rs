//! Holded calls a nightly run and a deal cost, for accounts of N contacts
//! (with N/10 documents of each type and 200 products), with a v1 key and a
//! v2 token, counted by the Holded simulator (what Holded meters against the
//! account's monthly quota).
//!
//! `cargo run --release -p holded-hubspot-e2e --example holded_calls -- 1000 10000 50000`
//!
//! - first night: every document is new, so a v2 run reads each mapped one
//!   whole (lists carry no lines); measured with `--dry-run`, which reads
//!   Holded as a run does and writes nothing to HubSpot;
//! - an unchanged night: the same lists, and no document read whole;
//! - a deal whose contact exists in Holded (found by email): with the last
//!   night's contact index, and without one (the deal flow scans every
//!   contact once, as every deal did on v1 before the index).

#[path = "support/mod.rs"]
#[allow(dead_code)] // shared by the examples; each uses part of it
mod support;

use std::collections::BTreeMap;

use holded_hubspot::{
    deals::{DealFlow, timeline::TimelineChannel},
    holded::{ContactChanges, HoldedApi, HoldedClient},
    store::{RequestTrigger, RunTrigger},
    sync::{KindReport, Progress, SyncRequest},
};
use holded_hubspot_sim::{holded::seed::SeedSpec, hubspot::SeedDeal};
use secrecy::SecretString;
use support::{Bench, Key};

struct Quiet;

impl Progress for Quiet {
    fn page(&self, _: &str, _: usize) {}
    fn kind_done(&self, _: &KindReport) {}
}

const MAPPING: &str = r#"{"estimate":{"pipelineId":"default","stageId":"appointmentscheduled"},"proform":{"pipelineId":"default","stageId":"qualifiedtobuy"},"waybill":{"pipelineId":"default","stageId":"contractsent"},"invoice":{"pipelineId":"default","stageId":"closedwon"},"salesorder":{"pipelineId":"default","stageId":"presentationscheduled"}}"#;

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Holded calls of the account so far, and of them GETs of one document.
fn calls(bench: &Bench) -> (u64, u64) {
    let stats = bench.sims.holded.stats();
    let whole = [
        "estimates",
        "proformas",
        "waybills",
        "invoices",
        "sales-orders",
    ]
    .iter()
    .map(|t| stats.count("GET", &format!("/api/v2/{t}/{{id}}")))
    .sum();
    (
        bench.sims.holded.monthly_usage(&bench.account.account_id),
        whole,
    )
}

/// Creates a deal for a new HubSpot contact whose email a Holded person has,
/// and runs its document request once; returns the Holded calls it made.
async fn deal_cost(
    bench: &Bench,
    holded: &HoldedClient,
    name: &str,
    email: &str,
) -> anyhow::Result<u64> {
    holded
        .create_contact(&ContactChanges {
            name: Some(name.to_owned()),
            email: Some(email.to_owned()),
            is_person: Some(true),
            ..Default::default()
        })
        .await?;
    let (first, last) = name.split_once(' ').unwrap_or((name, ""));
    let deal = bench
        .sims
        .hubspot
        .seed_deal(
            bench.portal_id as u64,
            SeedDeal {
                properties: props(&[
                    ("dealname", "Reforma integral"),
                    ("pipeline", "default"),
                    ("dealstage", "appointmentscheduled"),
                    ("holded_tipo_documento", "estimate"),
                    ("deal_currency_code", "EUR"),
                ]),
                line_items: vec![
                    props(&[("name", "Proyecto"), ("quantity", "1"), ("price", "1200")]),
                    props(&[
                        ("name", "Visita técnica"),
                        ("quantity", "2"),
                        ("price", "90"),
                    ]),
                ],
                company: None,
                contact: Some(props(&[
                    ("firstname", first),
                    ("lastname", last),
                    ("email", email),
                ])),
            },
        )
        .map_err(anyhow::Error::msg)?
        .deal_id;
    let request = bench
        .store
        .open_document_request(
            bench.portal_id,
            &deal.to_string(),
            "estimate",
            RequestTrigger::Card,
        )
        .await?;
    let flow = DealFlow::new(
        bench.store.clone(),
        bench.cipher.clone(),
        bench.hubspot.clone(),
        bench.holded_access(),
        TimelineChannel::new(None),
    );
    let before = calls(bench).0;
    let outcome = flow.run_request(request.id).await?;
    anyhow::ensure!(
        matches!(outcome, holded_hubspot::deals::Outcome::Created),
        "the deal's document: {outcome:?}"
    );
    Ok(calls(bench).0 - before)
}

async fn measure(n: usize, key: Key) -> anyhow::Result<()> {
    let seed = SeedSpec {
        account_id: String::new(),
        seed: 7,
        contacts: n,
        products: 200,
        documents_per_type: (n / 10).max(10),
    };
    let bench = Bench::new(seed, key, MAPPING).await?;
    let token = match key {
        Key::V1 => &bench.account.v1_key,
        Key::V2 => &bench.account.v2_token,
    };
    let holded = HoldedClient::new(
        &url::Url::parse(&bench.sims.holded_url)?,
        SecretString::from(token.clone()),
        bench.holded_options(),
    )?;
    let without_index = deal_cost(&bench, &holded, "Maite Urquijo", "maite@urquijo.eus").await?;

    let (before, whole_before) = calls(&bench);
    let report = bench
        .engine()
        .run(
            SyncRequest {
                portal_id: bench.portal_id,
                trigger: RunTrigger::Cli,
                objects: None,
                since: None,
                dry_run: true,
                targets: None,
            },
            &Quiet,
        )
        .await?;
    anyhow::ensure!(report.status == "completed", "{report:?}");
    let (after, whole_after) = calls(&bench);
    let night = after - before;
    let read_whole = whole_after - whole_before;
    let with_index = deal_cost(&bench, &holded, "Gorka Aranburu", "gorka@aranburu.eus").await?;
    println!(
        "{key:?} N={n:>6} (docs {:>5}/type) · first night {night:>6} · unchanged night {:>6} · deal with the index {with_index:>3} · deal without it {without_index:>5}",
        (n / 10).max(10),
        night - read_whole,
    );
    bench.finish().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    for n in support::sizes(1_000) {
        for key in [Key::V1, Key::V2] {
            measure(n, key).await?;
        }
    }
    Ok(())
}
