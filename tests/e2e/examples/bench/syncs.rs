//! The sync nights: for each account, the first sync, a night after 1 % of
//! the contacts and products changed in Holded, and a night with nothing
//! changed, each by the service's `sync` command in a process of its own
//! (see the crate's doc comment for the bound of a night). HubSpot starts
//! with records of its own (`support/overlap.rs`): 1 % of the Holded persons
//! and companies already there without a Holded id, and its own leads; the
//! first sync must link the former and leave the latter.

use std::{
    collections::BTreeMap,
    process::Stdio,
    time::{Duration, Instant},
};

use holded_hubspot::holded::DEFAULT_V1_REQUESTS_PER_MINUTE;
use holded_hubspot_sim::holded::seed::SeedSpec;
use rust_decimal::Decimal;
use tokio::io::AsyncReadExt;

use crate::{
    Args, service,
    support::{Bench, Key, SimSetup, overlap::Overlap},
};

/// Holded's monthly quota on a small plan (calls, v1 and v2 together).
const MONTHLY_QUOTA: u64 = 5_000;
/// The kinds a night syncs, as HubSpot names their objects.
const KINDS: [&str; 3] = ["contacts", "companies", "products"];

/// What one night cost, measured from outside the service process.
#[derive(Default)]
struct Night {
    wall: f64,
    hubspot_general: u64,
    searches: u64,
    rate_limited: u64,
    holded: u64,
    peak_rss_kb: u64,
    /// Per kind: (records written, write calls).
    writes: BTreeMap<&'static str, (u64, u64)>,
}

impl Night {
    fn bound(&self, args: &Args, key: Key) -> (f64, String) {
        let latency = args.latency.as_secs_f64();
        let terms = [
            (self.hubspot_general as f64 / 11.0, "HubSpot"),
            (self.searches as f64 / 5.0, "search"),
            (self.holded as f64 / args.holded_rate(key), "Holded"),
            (self.holded as f64 * latency, "Holded pages"),
        ];
        let (longest, name) = terms
            .into_iter()
            .fold((0.0, "latency"), |a, b| if b.0 > a.0 { b } else { a });
        (longest + 3.0 * latency, name.to_owned())
    }
}

/// Runs every account's three nights and prints their table.
pub async fn run(args: &Args) -> anyhow::Result<()> {
    println!(
        "## Sync nights: latency {} ms per API answer; HubSpot 110/10 s + 5 searches/s; Holded v2 100/min, v1 paced at {}/min, {} a v1 page",
        args.latency.as_millis(),
        args.v1_rate.unwrap_or(DEFAULT_V1_REQUESTS_PER_MINUTE),
        if args.v1_honours_limit { 500 } else { 50 },
    );
    println!(
        "bound = max(HubSpot calls/11 s⁻¹, searches/5 s⁻¹, Holded calls/Holded rate, Holded calls × latency) + 3 × latency"
    );
    println!(
        "HubSpot before the first sync: 1 % of the Holded persons and companies (same email or domain, no Holded id; each must be linked, none made twice) and its own leads, 2 % of the account"
    );
    println!();
    println!(
        "| key | contacts | night | wall s | bound s (binding) | ratio | HubSpot calls | searches | 429s | writes (calls / ⌈written/100⌉) | Holded calls | × 30 vs {MONTHLY_QUOTA} | peak RSS MB |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|");
    for &key in &args.keys {
        for &n in &args.sizes {
            account(args, key, n).await?;
        }
    }
    Ok(())
}

/// The three nights of one account: the first sync, 1 % changed, unchanged.
async fn account(args: &Args, key: Key, n: usize) -> anyhow::Result<()> {
    let seed = SeedSpec {
        account_id: String::new(),
        seed: 18,
        contacts: n,
        products: n / 10,
        documents_per_type: 0,
    };
    let setup = SimSetup {
        latency: args.latency,
        holded_rate_limit: true,
        v1_honours_limit: args.v1_honours_limit,
        sensitive: false,
    };
    let bench = Bench::with(seed, key, "{}", setup).await?;
    let overlap = Overlap::seed(&bench)?;
    // A portal's records are in HubSpot's search long before the install:
    // past the simulator's index lag (1 s).
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let account_id = bench.account.account_id.clone();
    for night in ["first sync", "1 % changed", "unchanged"] {
        if night != "first sync" && key == Key::V2 {
            // Nights are a day apart: Holded's v2 minute holds none of the
            // last night's calls (the service's pace lives in its process).
            tokio::time::sleep(HOLDED_MINUTE).await;
        }
        if night == "1 % changed" {
            change_one_percent(&bench, &account_id);
        }
        let measured = run_night(args, &bench).await?;
        print_row(args, key, n, night, &measured);
        if night == "first sync" {
            overlap.check(&bench)?;
        }
    }
    bench.finish().await;
    Ok(())
}

/// Holded v2's rolling window of 100 calls, with a second to spare.
const HOLDED_MINUTE: Duration = Duration::from_secs(61);

/// Changes every hundredth contact (its phone) and product (its price) as a
/// user does in Holded.
fn change_one_percent(bench: &Bench, account_id: &str) {
    let holded = &bench.sims.holded;
    for contact in holded.contacts(account_id).iter().step_by(100) {
        holded.edit_contact(account_id, &contact.id, |c| {
            c.phone = Some(format!("+34 600 {:06}", c.updated_at % 1_000_000));
        });
    }
    for product in holded.products(account_id).iter().step_by(100) {
        holded.edit_product(account_id, &product.id, |p| p.price += Decimal::ONE);
    }
}

/// Runs `holded-hubspot sync` for the portal in a process of its own and
/// measures it.
async fn run_night(args: &Args, bench: &Bench) -> anyhow::Result<Night> {
    let hubspot_before = bench.sims.hubspot.stats();
    let usage_before = bench.sims.holded.monthly_usage(&bench.account.account_id);
    let mut command = service::command(bench)?;
    command
        .args(["sync", "--portal", &bench.portal_id.to_string()])
        .args(["--objects", "contacts,companies,products"])
        .args(["--since", "2020-01-01"])
        .stdout(Stdio::piped());
    if let Some(rate) = args.v1_rate {
        command.env("HH_HOLDED_V1_RATE", rate.to_string());
    }
    let started = Instant::now();
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or_default();
    let mut stdout = child.stdout.take().expect("piped");
    let output = tokio::spawn(async move {
        let mut text = String::new();
        stdout.read_to_string(&mut text).await.map(|_| text)
    });
    let mut peak_rss_kb = 0;
    let status = loop {
        peak_rss_kb = peak_rss_kb.max(vm_hwm_kb(pid).unwrap_or(0));
        if let Some(status) = child.try_wait()? {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let wall = started.elapsed().as_secs_f64();
    let output = output.await??;
    anyhow::ensure!(
        status.success(),
        "the sync process failed ({status}):\n{output}"
    );

    let hubspot = bench.sims.hubspot.stats();
    let delta = |endpoint: &String, count: &u64| {
        count
            - hubspot_before
                .by_endpoint
                .get(endpoint)
                .copied()
                .unwrap_or(0)
    };
    let mut night = Night {
        wall,
        rate_limited: hubspot.rate_limited - hubspot_before.rate_limited,
        holded: bench.sims.holded.monthly_usage(&bench.account.account_id) - usage_before,
        peak_rss_kb,
        ..Night::default()
    };
    for (endpoint, count) in &hubspot.by_endpoint {
        let calls = delta(endpoint, count);
        if endpoint.ends_with("/search") {
            night.searches += calls;
        } else {
            night.hubspot_general += calls;
        }
        if let Some(kind) = KINDS
            .iter()
            .find(|k| endpoint.contains(&format!("/{k}/batch/")))
        {
            night.writes.entry(kind).or_default().1 += calls;
        }
    }
    for (kind, written) in written_per_kind(&output) {
        night.writes.entry(kind).or_default().0 += written;
    }
    Ok(night)
}

/// Records written per kind, from the summary lines of `sync`
/// (`✔ contacts   creados N · actualizados M · …`).
fn written_per_kind(output: &str) -> Vec<(&'static str, u64)> {
    output
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let kind = KINDS.iter().find(|k| words.get(1) == Some(k))?;
            let number = |label: &str| -> u64 {
                words
                    .iter()
                    .position(|w| *w == label)
                    .and_then(|i| words.get(i + 1)?.parse().ok())
                    .unwrap_or(0)
            };
            (words.first() == Some(&"✔"))
                .then(|| (*kind, number("creados") + number("actualizados")))
        })
        .collect()
}

/// The process's peak resident set (`VmHWM`), in kB.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn print_row(args: &Args, key: Key, n: usize, night: &str, m: &Night) {
    let (bound, binding) = m.bound(args, key);
    let writes: Vec<String> = m
        .writes
        .iter()
        .filter(|(_, (written, calls))| *written > 0 || *calls > 0)
        .map(|(kind, (written, calls))| format!("{kind} {calls}/{}", written.div_ceil(100)))
        .collect();
    println!(
        "| {} | {n} | {night} | {:.1} | {bound:.1} ({binding}) | {:.2} | {} | {} | {} | {} | {} | {} | {:.0} |",
        match key {
            Key::V1 => "v1",
            Key::V2 => "v2",
        },
        m.wall,
        m.wall / bound,
        m.hubspot_general,
        m.searches,
        m.rate_limited,
        if writes.is_empty() {
            "none".to_owned()
        } else {
            writes.join(", ")
        },
        m.holded,
        m.holded * 30,
        m.peak_rss_kb as f64 / 1024.0,
    );
}
