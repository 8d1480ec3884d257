//! `holded-hubspot demo`: the whole product in one command with nothing
//! configured, run as the real binary in an empty working directory.

use std::{path::Path, process::Stdio, time::Duration};

use holded_hubspot::{
    config::DatabaseTarget,
    store::{
        Store,
        entities::{document_request, sync_run, timeline_entry},
    },
};
use sea_orm::EntityTrait;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{TempDir, free_port, http, service_command};

/// Generous bound for one demo on a busy machine (it takes seconds).
const DEMO_TIMEOUT: Duration = Duration::from_secs(180);

/// The numbers of a summary row: created, updated, unchanged, failed,
/// HubSpot calls, Holded calls.
fn summary_row(stdout: &str, label: &str) -> [u64; 6] {
    let line = stdout
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no summary row «{label}» in:\n{stdout}"));
    let numbers: Vec<u64> = line
        .split_whitespace()
        .rev()
        .take(6)
        .map(|n| n.parse().unwrap_or_else(|_| panic!("row «{line}»")))
        .collect();
    let mut row = [0; 6];
    for (slot, value) in row.iter_mut().rev().zip(numbers) {
        *slot = value;
    }
    row
}

fn sqlite_header(path: &Path) -> Vec<u8> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .take(16)
        .collect()
}

#[tokio::test]
async fn demo_exit_runs_the_whole_scenario_on_a_fresh_demo_database() {
    let cwd = TempDir::new("demo");
    let data = cwd.path().join("data");
    std::fs::create_dir_all(data.join("demo")).unwrap();
    // A previous demo's database is replaced; the service's own is never touched.
    std::fs::write(data.join("demo/holded-hubspot.db"), "old demo").unwrap();
    std::fs::write(data.join("holded-hubspot.db"), "the operator's database").unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let output = tokio::time::timeout(
        DEMO_TIMEOUT,
        service_command(cwd.path())
            .args(["demo", "--exit"])
            .env("HH_BIND", &bind)
            .output(),
    )
    .await
    .expect("the demo finishes")
    .expect("run the demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo failed ({}):\n{stdout}\n{stderr}",
        output.status
    );

    assert!(stdout.contains(&format!("http://{bind}")), "{stdout}");
    for kind in [
        "contactos (contacts)",
        "empresas (companies)",
        "productos (products)",
        "negocios (deals)",
    ] {
        let [created, _, _, failed, _, _] = summary_row(&stdout, kind);
        assert!(created > 0, "{kind} created:\n{stdout}");
        assert_eq!(failed, 0, "{kind} failed:\n{stdout}");
    }
    let [.., hubspot_calls, holded_calls] = summary_row(&stdout, "total");
    assert!(hubspot_calls > 0 && holded_calls > 0, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("Negocios creados en HubSpot") && line.ends_with(": 4")),
        "four deals seeded:\n{stdout}"
    );
    assert!(
        !stdout.contains("/console"),
        "--exit does not keep serving:\n{stdout}"
    );

    assert_eq!(
        std::fs::read_to_string(data.join("holded-hubspot.db")).unwrap(),
        "the operator's database"
    );
    let demo_db = data.join("demo/holded-hubspot.db");
    assert_eq!(sqlite_header(&demo_db), b"SQLite format 3\0");
    let store = Store::connect(&DatabaseTarget::Sqlite(demo_db))
        .await
        .unwrap();
    let runs = sync_run::Entity::find().all(store.db()).await.unwrap();
    // The nightly sync, and the runs Holded's webhooks started for the invoice.
    let nightly: Vec<_> = runs.iter().filter(|r| r.trigger != "webhook").collect();
    assert_eq!(nightly.len(), 1, "{runs:?}");
    assert!(runs.iter().all(|r| r.status == "completed"), "{runs:?}");
    assert!(runs.iter().any(|r| r.trigger == "webhook"), "{runs:?}");
    // The invoice approved and half paid in Holded, on its deal within seconds.
    assert!(
        stdout.contains("cobrada parcialmente") && stdout.contains("(the deal shows it)"),
        "{stdout}"
    );
    let told: Vec<String> = timeline_entry::Entity::find()
        .all(store.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert!(
        told.iter().any(|t| t.contains("aprobada")) && told.iter().any(|t| t.contains("Cobro de")),
        "{told:?}"
    );
    // Moving the deals made an estimate, a proforma, a delivery note and an invoice in Holded.
    let requests = document_request::Entity::find()
        .all(store.db())
        .await
        .unwrap();
    let mut created: Vec<&str> = requests
        .iter()
        .filter(|r| r.state == "created" && r.holded_document_id.is_some())
        .map(|r| r.document_type.as_str())
        .collect();
    created.sort();
    assert_eq!(
        created,
        ["estimate", "invoice", "proform", "waybill"],
        "{requests:?}"
    );
    for kind in ["Presupuesto", "Proforma", "Albarán", "Factura"] {
        assert!(
            stdout.contains(&format!("  · {kind} ")),
            "{kind} in the summary:\n{stdout}"
        );
    }
    assert!(!data.join("secret.key").exists() && !data.join("demo/secret.key").exists());
}

#[tokio::test]
async fn demo_keeps_serving_until_sigterm_then_stops_gracefully() {
    let cwd = TempDir::new("demo-serve");
    let log_path = cwd.path().join("demo.log");
    let mut child = service_command(cwd.path())
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("start the demo");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let console = tokio::time::timeout(DEMO_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push_str(&line);
            seen.push('\n');
            if let Some(at) = line.find("http://")
                && line.trim_end().ends_with("/console")
            {
                return line[at..].trim_end().to_owned();
            }
        }
        panic!("the demo ended without a console URL:\n{seen}\n{}", log());
    })
    .await
    .expect("the demo prints its console URL");
    let base = console.trim_end_matches("/console");
    let health = http().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let pid = child.id().expect("running").to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let status = tokio::time::timeout(Duration::from_secs(40), child.wait())
        .await
        .expect("the demo stops within the grace period")
        .unwrap();
    assert!(
        status.success(),
        "graceful stop exits 0, got {status}: {}",
        log()
    );
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(rest.contains("Parando el servicio"), "{rest}");
    assert!(
        http().get(format!("{base}/healthz")).send().await.is_err(),
        "nothing listens after the stop"
    );
}
