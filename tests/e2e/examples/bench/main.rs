//! The performance benchmark, in three sections, each printing a markdown
//! table of figures (the benchmark asserts nothing about time; it exits
//! non-zero when the product misbehaves: a night's sync fails, a webhook
//! delivery is refused, a deal gets no document or two):
//!
//! - **syncs** ([`syncs`]): nightly syncs of Holded accounts of N contacts
//!   (half persons, half companies) and N/10 products, run by the service's
//!   own `sync` command in a process of its own, against the simulators with
//!   both APIs' real limits (HubSpot: 110 requests per rolling 10 s and 5
//!   searches a second per portal; Holded v2: 100 requests a minute per key;
//!   v1 documents none and is paced by the client's setting) and a latency
//!   on every API answer. For each night it prints the figure, its bound and
//!   the ratio, the HubSpot write calls against ⌈written/100⌉ per kind, the
//!   Holded calls against the monthly quota, and the service process's peak
//!   RSS. HubSpot starts with 1 % of the Holded persons and companies
//!   already there and leads of its own (`support/overlap.rs`).
//! - **webhooks** ([`webhooks`]): HubSpot webhook intake of the service's web
//!   process (`serve --no-workers`) on PostgreSQL: signed deal stage-change
//!   deliveries sent open-loop at a constant rate; throughput and the ack
//!   latency p50/p99/max, each request timed from its scheduled send time.
//! - **deals** ([`deals`]): deal → Holded document latency with the web
//!   process and two `worker` processes on PostgreSQL, the simulators
//!   answering after the latency, HubSpot's webhooks delivered by its
//!   simulator: deals moved to their trigger stage at a steady pace, each
//!   timed from the move to the deal's "document created" timeline note.
//!
//! ```text
//! cargo run --release -p holded-hubspot-e2e --example bench -- \
//!     [--only syncs,webhooks,deals] [--latency-ms 80]
//!     [--sizes 1000,10000] [--100k] [--keys v1,v2] [--v1-rate N] [--v1-honours-limit]
//!     [--webhook-rate 200] [--webhook-seconds 10]
//!     [--deals 40] [--deals-per-second 0.5]
//! ```
//!
//! `--only` picks the sections (all three by default); `--latency-ms` is
//! every API answer's latency in the syncs and deals sections. Syncs:
//! `--sizes`, `--100k` (adds 100,000), `--keys`, `--v1-rate` (the service's
//! `HH_HOLDED_V1_RATE`); Holded v1's page size is undocumented: the
//! simulator answers 50 a page whatever is asked (the harsher reading);
//! `--v1-honours-limit` makes it honour the 500 the client asks for.
//! Webhooks: the rate (requests a second) and how long it is held. Deals:
//! how many deals are moved and how many a second (by default one every two
//! seconds, a busy sales team; a deal costs about nine HubSpot calls, so one
//! portal's 110 per 10 s allow about 1.2 deals a second, and past that a
//! queue forms and every later deal waits longer: the table prints the
//! rate the limit allows).
//!
//! The webhooks and deals sections create a throw-away PostgreSQL database
//! per run on the server at `HH_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, the admin connection) and
//! drop it afterwards. `HH_BENCH_LOG` sets the service processes' `RUST_LOG`
//! (default `warn`).
//!
//! The bound of a night is the time the limits and the latency leave no way
//! around:
//! `max(HubSpot calls / 11 per s, searches / 5 per s, Holded calls / Holded's
//! rate, Holded calls × latency) + 3 × latency`, where Holded's rate is v2's
//! 100 a minute or v1's configured pace, Holded's pages follow one another
//! (a v2 page needs the cursor of the one before; a v1 list ends only at an
//! empty page), and the three latencies are the first page (nothing can be
//! written before it) and the last batch's search and write. The limits are
//! rolling windows that allow a burst, so a short night can beat its bound
//! (a ratio under 1).

#[path = "../support/mod.rs"]
#[allow(dead_code)] // shared by the examples; each uses part of it
mod support;
#[path = "../../tests/e2e/fault_matrix/world.rs"]
#[allow(dead_code)] // the fault matrix's world; the deals section uses part of it
mod world;

mod deals;
mod service;
mod stats;
mod syncs;
mod webhooks;

use std::time::Duration;

use holded_hubspot::holded::DEFAULT_V1_REQUESTS_PER_MINUTE;
use support::Key;

/// A section of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Syncs,
    Webhooks,
    Deals,
}

/// The command line.
pub struct Args {
    sections: Vec<Section>,
    /// Every API answer's latency (syncs and deals).
    pub latency: Duration,
    /// Syncs: account sizes (contacts).
    pub sizes: Vec<usize>,
    /// Syncs: the kinds of Holded key.
    pub keys: Vec<Key>,
    /// Syncs: the service's `HH_HOLDED_V1_RATE`.
    pub v1_rate: Option<u32>,
    /// Syncs: Holded v1 lists honour `limit`.
    pub v1_honours_limit: bool,
    /// Webhooks: deliveries a second.
    pub webhook_rate: u32,
    /// Webhooks: how long the rate is held.
    pub webhook_time: Duration,
    /// Deals: how many are moved.
    pub deals: usize,
    /// Deals: how many are moved a second.
    pub deals_per_second: f64,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut args = Args {
            sections: vec![Section::Syncs, Section::Webhooks, Section::Deals],
            latency: Duration::from_millis(80),
            sizes: vec![1_000, 10_000],
            keys: vec![Key::V1, Key::V2],
            v1_rate: None,
            v1_honours_limit: false,
            webhook_rate: 200,
            webhook_time: Duration::from_secs(10),
            deals: 40,
            deals_per_second: 0.5,
        };
        let mut given = std::env::args().skip(1);
        while let Some(flag) = given.next() {
            let mut value = || {
                given
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--only" => {
                    args.sections = list(&value()?, |s| match s {
                        "syncs" => Some(Section::Syncs),
                        "webhooks" => Some(Section::Webhooks),
                        "deals" => Some(Section::Deals),
                        _ => None,
                    })?
                }
                "--latency-ms" => args.latency = Duration::from_millis(value()?.parse()?),
                "--sizes" => args.sizes = list(&value()?, |s| s.parse().ok())?,
                "--100k" => args.sizes.push(100_000),
                "--keys" => {
                    args.keys = list(&value()?, |k| match k {
                        "v1" => Some(Key::V1),
                        "v2" => Some(Key::V2),
                        _ => None,
                    })?
                }
                "--v1-rate" => args.v1_rate = Some(value()?.parse()?),
                "--v1-honours-limit" => args.v1_honours_limit = true,
                "--webhook-rate" => args.webhook_rate = value()?.parse()?,
                "--webhook-seconds" => {
                    args.webhook_time = Duration::from_secs_f64(value()?.parse()?)
                }
                "--deals" => args.deals = value()?.parse()?,
                "--deals-per-second" => args.deals_per_second = value()?.parse()?,
                other => anyhow::bail!(
                    "unknown argument {other}; see the doc comment of tests/e2e/examples/bench/main.rs"
                ),
            }
        }
        anyhow::ensure!(args.webhook_rate > 0, "--webhook-rate must be positive");
        anyhow::ensure!(
            args.deals_per_second > 0.0,
            "--deals-per-second must be positive"
        );
        Ok(args)
    }

    /// Holded requests per second the key allows.
    pub fn holded_rate(&self, key: Key) -> f64 {
        match key {
            Key::V1 => f64::from(self.v1_rate.unwrap_or(DEFAULT_V1_REQUESTS_PER_MINUTE)) / 60.0,
            Key::V2 => 100.0 / 60.0,
        }
    }
}

/// A comma-separated list, each item read by `item`.
fn list<T>(text: &str, item: impl Fn(&str) -> Option<T>) -> anyhow::Result<Vec<T>> {
    text.split(',')
        .map(|s| item(s).ok_or_else(|| anyhow::anyhow!("unknown value {s} in {text}")))
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if service::is_service() {
        std::process::exit(holded_hubspot::cli::run().await);
    }
    let args = Args::parse()?;
    println!(
        "bench: {} CPU cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for section in &args.sections {
        println!();
        match section {
            Section::Syncs => syncs::run(&args).await?,
            Section::Webhooks => webhooks::run(&args).await?,
            Section::Deals => deals::run(&args).await?,
        }
    }
    Ok(())
}
