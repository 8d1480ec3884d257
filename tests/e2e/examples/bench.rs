//! The performance benchmark: nightly syncs of Holded accounts of N contacts
//! (half persons, half companies) and N/10 products, run by the service's own
//! `sync` command in a process of its own, against the simulators with both
//! APIs' real limits (HubSpot: 110 requests per rolling 10 s and 5 searches
//! a second per portal; Holded v2: 100 requests a minute per key; v1
//! documents none and is paced by the client's setting) and a latency on
//! every API answer. For each night it prints the figure, its bound and the
//! ratio, the HubSpot write calls against ⌈written/100⌉ per kind, the Holded
//! calls against the monthly quota, and the service process's peak RSS.
//! HubSpot starts with records of its own (`support/overlap.rs`): 1 % of the
//! Holded persons and companies already there without a Holded id, and its
//! own leads; the first sync must link the former and leave the latter.
//!
//! ```text
//! cargo run --release -p holded-hubspot-e2e --example bench -- \
//!     [--sizes 1000,10000] [--100k] [--keys v1,v2] [--latency-ms 80] [--v1-rate N]
//!     [--v1-honours-limit]
//! ```
//!
//! `HH_BENCH_LOG` sets the service process's `RUST_LOG` (default `warn`).
//! Holded v1's page size is undocumented: the simulator answers 50 a page
//! whatever is asked (the harsher reading); `--v1-honours-limit` makes it
//! honour the 500 the client asks for.
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

#[path = "support/mod.rs"]
#[allow(dead_code)] // shared by the examples; each uses part of it
mod support;

use std::{
    collections::BTreeMap,
    process::Stdio,
    time::{Duration, Instant},
};

use holded_hubspot::holded::DEFAULT_V1_REQUESTS_PER_MINUTE;
use holded_hubspot_sim::holded::seed::SeedSpec;
use rust_decimal::Decimal;
use support::{BENCH_SECRET_KEY, Bench, Key, SimSetup, overlap::Overlap};
use tokio::io::AsyncReadExt;

/// Set in the environment of the service process the benchmark starts: the
/// same executable then runs the service's command line.
const SERVICE_ENV: &str = "HH_BENCH_SERVICE";
/// Holded's monthly quota on a small plan (calls, v1 and v2 together).
const MONTHLY_QUOTA: u64 = 5_000;
/// The kinds a night syncs, as HubSpot names their objects.
const KINDS: [&str; 3] = ["contacts", "companies", "products"];

struct Args {
    sizes: Vec<usize>,
    keys: Vec<Key>,
    latency: Duration,
    v1_rate: Option<u32>,
    v1_honours_limit: bool,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut args = Args {
            sizes: vec![1_000, 10_000],
            keys: vec![Key::V1, Key::V2],
            latency: Duration::from_millis(80),
            v1_rate: None,
            v1_honours_limit: false,
        };
        let mut given = std::env::args().skip(1);
        while let Some(flag) = given.next() {
            let mut value = || {
                given
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--sizes" => {
                    args.sizes = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?
                }
                "--100k" => args.sizes.push(100_000),
                "--keys" => {
                    args.keys = value()?
                        .split(',')
                        .map(|k| match k {
                            "v1" => Ok(Key::V1),
                            "v2" => Ok(Key::V2),
                            other => Err(anyhow::anyhow!("unknown key kind {other}")),
                        })
                        .collect::<Result<_, _>>()?
                }
                "--latency-ms" => args.latency = Duration::from_millis(value()?.parse()?),
                "--v1-rate" => args.v1_rate = Some(value()?.parse()?),
                "--v1-honours-limit" => args.v1_honours_limit = true,
                other => anyhow::bail!(
                    "unknown argument {other}; see the doc comment of tests/e2e/examples/bench.rs"
                ),
            }
        }
        Ok(args)
    }

    /// Holded requests per second the key allows.
    fn holded_rate(&self, key: Key) -> f64 {
        match key {
            Key::V1 => f64::from(self.v1_rate.unwrap_or(DEFAULT_V1_REQUESTS_PER_MINUTE)) / 60.0,
            Key::V2 => 100.0 / 60.0,
        }
    }
}

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os(SERVICE_ENV).is_some() {
        std::process::exit(holded_hubspot::cli::run().await);
    }
    let args = Args::parse()?;
    println!(
        "bench: latency {} ms per API answer; HubSpot 110/10 s + 5 searches/s; Holded v2 100/min, v1 paced at {}/min, {} a v1 page; {} CPU cores",
        args.latency.as_millis(),
        args.v1_rate.unwrap_or(DEFAULT_V1_REQUESTS_PER_MINUTE),
        if args.v1_honours_limit { 500 } else { 50 },
        std::thread::available_parallelism().map_or(0, |n| n.get())
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
            account(&args, key, n).await?;
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
    };
    let bench = Bench::with(seed, key, "{}", setup).await?;
    let overlap = Overlap::seed(&bench)?;
    // A portal's records are in HubSpot's search long before the install:
    // past the simulator's index lag (1 s).
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let account_id = bench.account.account_id.clone();
    for night in ["first sync", "1 % changed", "unchanged"] {
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
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .args(["sync", "--portal", &bench.portal_id.to_string()])
        .args(["--objects", "contacts,companies,products"])
        .args(["--since", "2020-01-01"])
        .env(SERVICE_ENV, "1")
        .env(
            "DATABASE_URL",
            format!("sqlite:{}", bench.dir.join("db.sqlite").display()),
        )
        .env("HH_DATA_DIR", &bench.dir)
        .env("HH_SECRET_KEY", BENCH_SECRET_KEY)
        .env("HUBSPOT_CLIENT_ID", "bench")
        .env("HUBSPOT_CLIENT_SECRET", "bench")
        .env("HUBSPOT_APP_ID", "1")
        .env("HUBSPOT_API_BASE", &bench.sims.hubspot_url)
        .env("HOLDED_API_BASE", &bench.sims.holded_url)
        .env("HH_HOLDED_MONTHLY_QUOTA", "1000000000")
        .env(
            "RUST_LOG",
            std::env::var("HH_BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
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
