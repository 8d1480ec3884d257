//! The fault matrix: the real service — a web process and two workers on
//! PostgreSQL, one of them with its clock two minutes ahead — against the
//! simulators behind a network with realistic latency, answers lost after
//! the write landed, 429 storms, every webhook delivered ten times out of
//! order (some late), and workers killed while Holded takes their creates;
//! while a sales team moves its deals (several per new customer at once, some
//! through their trigger stage) and the nightly sync brings thousands of
//! records. It prints one table and fails on any duplicate or lost record.
//!
//! Short version (CI): `cargo test -p holded-hubspot-e2e --test e2e fault_matrix_short`.
//! Full version (README figures):
//! `cargo test -p holded-hubspot-e2e --test e2e fault_matrix_full -- --ignored --nocapture`.

mod proxy;
mod relay;
mod report;
mod world;

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use holded_hubspot::store::entities::{document_request, portal, sync_run};
use rand::Rng;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tokio::{process::Child, sync::mpsc};

use crate::support::{
    ADMIN_TOKEN, APP_ID, CLIENT_ID, CLIENT_SECRET, Engine, ServiceProcess, TEST_SECRET_KEY,
    TempDir, TestDb, fetch_path, free_port, oauth_dance, service_command, settings_body,
    signed_request,
};
use proxy::{Api, Network};
use report::Figures;

/// How hard a run is.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Deals moved (two per customer, over 40 customers).
    pub deals: usize,
    /// Holded records for the nightly sync.
    pub records: usize,
    /// Workers killed while Holded takes one of their creates.
    pub kills: usize,
    /// Answers lost after the write landed, and failed reads (share).
    pub fault_rate: f64,
    /// Latency ranges (ms): Holded reads, Holded writes, HubSpot.
    pub holded_read_ms: (u64, u64),
    pub holded_write_ms: (u64, u64),
    pub hubspot_ms: (u64, u64),
    /// Copies of each webhook delivery.
    pub webhook_copies: usize,
    /// Longest wait for everything to settle.
    pub deadline: Duration,
}

/// A worker process the harness may kill and restart.
struct Worker {
    child: Child,
    skewed: bool,
}

/// Starts a `worker` process; `skewed` runs it with its clock two minutes
/// ahead (libfaketime), when `faketime` is installed.
fn spawn_worker(cwd: &std::path::Path, env: &[(String, String)], skewed: bool) -> Worker {
    let mut cmd = if skewed && which("faketime") {
        let mut cmd = tokio::process::Command::new("faketime");
        cmd.arg("-f")
            .arg("+120s")
            .arg(crate::support::service_binary())
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .kill_on_drop(true);
        cmd
    } else {
        service_command(cwd)
    };
    let log =
        std::fs::File::create(cwd.join(format!("worker-{}.log", uuid::Uuid::new_v4().simple())))
            .expect("log");
    cmd.arg("worker")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(std::process::Stdio::null());
    Worker {
        child: cmd.spawn().expect("start a worker"),
        skewed,
    }
}

/// Copies the processes' logs of a run that was not clean to
/// `$TMPDIR/hh-fault-matrix-last/`, for whoever reads the failure.
fn keep_logs(cwd: &std::path::Path) {
    let kept = std::env::temp_dir().join("hh-fault-matrix-last");
    let _ = std::fs::remove_dir_all(&kept);
    let _ = std::fs::create_dir_all(&kept);
    for entry in std::fs::read_dir(cwd).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|e| e == "log") {
            let _ = std::fs::copy(entry.path(), kept.join(entry.file_name()));
        }
    }
    eprintln!(
        "fault matrix: the processes' logs are in {}",
        kept.display()
    );
}

fn which(program: &str) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the matrix; returns the figures.
pub async fn run(plan: &Plan) -> Figures {
    let started = Instant::now();
    let sims = crate::support::sims().await;
    let db = TestDb::new(Engine::Postgres).await;
    let cwd = TempDir::new("fault-matrix");
    let storm = Arc::new(AtomicBool::new(false));
    let injected = Arc::new(proxy::Injected::default());
    let (creates_tx, mut creates) = mpsc::unbounded_channel();
    let holded_proxy = proxy::start(
        &sims.holded_url,
        Network {
            api: Api::Holded,
            read_ms: plan.holded_read_ms,
            write_ms: plan.holded_write_ms,
            lost_write_rate: plan.fault_rate,
            failed_read_rate: plan.fault_rate / 2.0,
        },
        storm.clone(),
        injected.clone(),
        Some(creates_tx),
    )
    .await;
    let hubspot_proxy = proxy::start(
        &sims.hubspot_url,
        Network {
            api: Api::Hubspot,
            read_ms: plan.hubspot_ms,
            write_ms: plan.hubspot_ms,
            lost_write_rate: plan.fault_rate,
            failed_read_rate: plan.fault_rate / 2.0,
        },
        storm.clone(),
        injected.clone(),
        None,
    )
    .await;

    // The service: a web process (no workers) and two workers.
    let port = free_port();
    let service_url = format!("http://127.0.0.1:{port}");
    let (webhook_url, relay) = relay::start(
        &service_url,
        relay::Storm {
            copies: plan.webhook_copies,
            spread: Duration::from_secs(10),
            late: Duration::from_secs(45),
        },
    )
    .await;
    sims.hubspot
        .register_app(holded_hubspot_sim::hubspot::AppConfig {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            app_id: APP_ID,
            webhook_url: Some(webhook_url),
            webhook_time_factor: 1000.0,
            webhook_timeout_ms: 5_000,
        });
    let data_dir = db.dir.path().display().to_string();
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", db.url.clone().expect("PostgreSQL")),
        ("HH_SECRET_KEY", TEST_SECRET_KEY.to_owned()),
        ("HH_DATA_DIR", data_dir),
        ("HH_PUBLIC_URL", service_url.clone()),
        ("HH_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("HUBSPOT_CLIENT_ID", CLIENT_ID.to_owned()),
        ("HUBSPOT_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("HUBSPOT_APP_ID", APP_ID.to_string()),
        ("HUBSPOT_API_BASE", hubspot_proxy.url.clone()),
        (
            "HUBSPOT_AUTH_URL",
            format!("{}/oauth/authorize", sims.hubspot_url),
        ),
        ("HOLDED_API_BASE", holded_proxy.url.clone()),
        ("RUST_LOG", "info,holded_hubspot=debug".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let web = ServiceProcess::start(
        &["serve", "--no-workers"],
        port,
        cwd.path(),
        None,
        &env_refs,
    )
    .await;
    let mut workers = vec![
        spawn_worker(cwd.path(), &env, false),
        spawn_worker(cwd.path(), &env, true),
    ];

    // The portal, installed and configured by its super admin.
    // Enterprise, so that companies carry their CIF in a sensitive property
    // the deal flow can look a known customer up by.
    let created = sims
        .hubspot
        .create_portal(holded_hubspot_sim::hubspot::NewPortal {
            tier: holded_hubspot_sim::hubspot::model::Tier::Enterprise,
            ..Default::default()
        });
    let portal = created.portal_id;
    sims.hubspot.set_install_portal(portal).unwrap();
    let (status, page) = oauth_dance(&service_url, &sims.hubspot_url).await;
    assert_eq!(status, 200, "install: {page}");
    let (account, planned) = world::seed_holded(&sims, plan.records).await;
    let save = settings_body(Some(&account.v1_key), &world::TRIGGERS, true, false);
    let res = signed_request(
        &service_url,
        reqwest::Method::PUT,
        &fetch_path(&created.super_admin, portal as i64, "/api/settings"),
        &save,
        CLIENT_SECRET,
        chrono::Utc::now(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );

    let world = world::seed_hubspot(&sims, portal, account, planned, plan.deals);

    // The storm: the nightly sync, the deals moved (every deal of a customer
    // at once), 429 storms, and workers killed while Holded takes a create.
    let sync = signed_request(
        &service_url,
        reqwest::Method::POST,
        &fetch_path(&created.super_admin, portal as i64, "/api/sync"),
        "",
        CLIENT_SECRET,
        chrono::Utc::now(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(sync.status(), 202);
    let storms = tokio::spawn({
        let storm = storm.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(20)).await;
                storm.store(true, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(2)).await;
                storm.store(false, Ordering::Relaxed);
            }
        }
    });
    let mut by_customer: BTreeMap<usize, Vec<&world::Deal>> = BTreeMap::new();
    for deal in &world.deals {
        by_customer.entry(deal.customer).or_default().push(deal);
    }
    for deals in by_customer.values() {
        for deal in deals {
            sims.hubspot
                .move_deal(portal, deal.id, world::trigger(deal.doc_type))
                .unwrap();
            if deal.passes_through {
                sims.hubspot
                    .move_deal(portal, deal.id, world::AFTER)
                    .unwrap();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let store = db.store().await;
    let mut kills = 0;
    let deadline = Instant::now() + plan.deadline;
    let settled = loop {
        // A kill while Holded takes a create: the create lands, its answer
        // and the worker do not.
        while let Ok(seen) = creates.try_recv() {
            if kills < plan.kills && rand::rng().random_bool(0.3) {
                let victim = rand::rng().random_range(0..workers.len());
                let _ = workers[victim].child.start_kill();
                kills += 1;
                eprintln!(
                    "fault matrix: worker {victim} killed during a {} create",
                    seen.what
                );
                tokio::time::sleep(Duration::from_millis(rand::rng().random_range(200..1500)))
                    .await;
                let skewed = workers[victim].skewed;
                workers[victim] = spawn_worker(cwd.path(), &env, skewed);
            }
        }
        if settled(&store, portal as i64, world.deals.len()).await || Instant::now() > deadline {
            break Instant::now() <= deadline;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    storms.abort();
    let figures = report::tally(
        &sims,
        &store,
        portal as i64,
        &world,
        &injected,
        kills,
        started.elapsed(),
        settled,
    )
    .await;
    for mut worker in workers {
        let _ = worker.child.start_kill();
        let _ = worker.child.wait().await;
    }
    if figures.fault().is_some() {
        keep_logs(cwd.path());
    }
    let _ = web.terminate().await;
    relay.stop(false).await;
    holded_proxy.stop().await;
    hubspot_proxy.stop().await;
    figures
}

/// Whether every deal's request has ended and the sync run has finished.
async fn settled(store: &holded_hubspot::store::Store, portal: i64, deals: usize) -> bool {
    let requests = document_request::Entity::find()
        .filter(document_request::Column::PortalId.eq(portal))
        .all(store.db())
        .await
        .unwrap_or_default();
    let ended = requests
        .iter()
        .filter(|r| r.state == "created" || r.state == "failed")
        .count();
    let run_done = sync_run::Entity::find()
        .filter(sync_run::Column::PortalId.eq(portal))
        .order_by_desc(sync_run::Column::Id)
        .one(store.db())
        .await
        .ok()
        .flatten()
        .is_some_and(|run| run.status == "completed" || run.status == "failed");
    let connected = portal::Entity::find_by_id(portal)
        .one(store.db())
        .await
        .ok()
        .flatten()
        .is_some_and(|p| p.status == "connected");
    ended >= deals && run_done || !connected
}

#[tokio::test]
async fn fault_matrix_short() {
    let figures = run(&Plan {
        deals: 12,
        records: 300,
        kills: 1,
        fault_rate: 0.1,
        holded_read_ms: (20, 60),
        holded_write_ms: (100, 250),
        hubspot_ms: (10, 40),
        webhook_copies: 4,
        deadline: Duration::from_secs(240),
    })
    .await;
    println!("{figures}");
    figures.assert_clean();
}

#[tokio::test]
#[ignore = "the full matrix takes several minutes: run it on purpose (README)"]
async fn fault_matrix_full() {
    let figures = run(&Plan {
        deals: 200,
        records: 5_000,
        kills: 8,
        fault_rate: 0.2,
        holded_read_ms: (100, 300),
        holded_write_ms: (300, 800),
        hubspot_ms: (50, 150),
        webhook_copies: 10,
        deadline: Duration::from_secs(1_800),
    })
    .await;
    println!("{figures}");
    figures.assert_clean();
}
