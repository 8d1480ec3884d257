//! The service skeleton: start-up on both databases, health, readiness,
//! metrics, migrations, secrets at rest, the scheduler's claim-once, the job
//! workers, graceful shutdown and configuration errors.

use std::{collections::HashSet, time::Duration};

use chrono::{Duration as Span, Utc};
use holded_hubspot::{
    crypto::{Cipher, CryptoError, SecretKey},
    jobs::{JobContext, JobQueue, SyncPortal, run_workers, scheduler_tick},
    store::{RunTrigger, Store, entities::portal, portal_tokens::access_token_slot},
};
use holded_hubspot_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, PaginatorTrait, Statement,
};
use secrecy::{ExposeSecret, SecretString};

use crate::support::{Engine, ServiceProcess, TempDir, TestDb, http, service_command};

/// Every table of the schema (DESIGN §7, and the security tables).
const TABLES: [&str; 14] = [
    "portals",
    "settings",
    "record_links",
    "sync_runs",
    "sync_run_objects",
    "sync_run_items",
    "document_requests",
    "webhook_events",
    "timeline_entries",
    "audit_log",
    "oauth_states",
    "signed_requests",
    "console_sessions",
    "login_failures",
];

async fn insert_portal(store: &Store, id: i64, next_run_at: Option<chrono::DateTime<Utc>>) {
    let now = Utc::now();
    portal::ActiveModel {
        id: Set(id),
        time_zone: Set("Europe/Madrid".into()),
        status: Set("connected".into()),
        status_reason: Set(None),
        access_token_enc: Set(None),
        refresh_token_enc: Set(None),
        token_expires_at: Set(None),
        scopes: Set(None),
        next_run_at: Set(next_run_at),
        last_claimed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        sensitive_supported: Set(false),
        provisioned_at: Set(None),
        sync_lock_until: Set(None),
        degraded_since: Set(None),
        degraded_reason: Set(None),
        missing_scopes: Set(None),
        uninstalled_at: Set(None),
        sync_lock_owner: Set(None),
    }
    .insert(store.db())
    .await
    .expect("insert portal");
}

async fn count(store: &Store, sql: &str) -> i64 {
    let row = store
        .db()
        .query_one_raw(Statement::from_string(store.backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("one row");
    row.try_get_by_index::<i64>(0).expect("count")
}

async fn serve_embedded_default(engine: Engine) {
    let db = TestDb::new(engine).await;
    let cwd = TempDir::new("serve");
    let service = ServiceProcess::serve(
        cwd.path(),
        Some(&db),
        &[("HH_ADMIN_TOKEN", crate::support::ADMIN_TOKEN)],
    )
    .await;
    let client = http();

    let health = client
        .get(format!("{}/healthz", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let ready = client
        .get(format!("{}/readyz", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "{}", service.logs());
    let missing = client
        .get(format!("{}/no-such-route", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let metrics = crate::support::metrics(&service.url).await;
    assert!(
        metrics.contains(r#"hh_http_requests_total{method="GET",route="/readyz",status="200"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("hh_http_request_duration_seconds"));

    if engine == Engine::Sqlite {
        assert!(cwd.path().join("data/holded-hubspot.db").is_file());
        assert!(cwd.path().join("data/secret.key").is_file());
        assert!(service.logs().contains("production must set HH_SECRET_KEY"));
    } else {
        assert!(
            !cwd.path().join("data").exists(),
            "PostgreSQL needs no data dir"
        );
    }
    let status = service.terminate().await;
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[tokio::test]
async fn serve_on_sqlite_creates_the_database_and_answers() {
    serve_embedded_default(Engine::Sqlite).await;
}

#[tokio::test]
async fn serve_on_postgres_answers() {
    serve_embedded_default(Engine::Postgres).await;
}

async fn healthcheck(cwd: &std::path::Path, bind: &str) -> std::process::Output {
    service_command(cwd)
        .arg("healthcheck")
        .env("HH_BIND", bind)
        .output()
        .await
        .expect("run healthcheck")
}

/// `healthcheck` (the container health check) passes while the service on
/// HH_BIND answers and fails, naming the URL, once it has stopped.
#[tokio::test]
async fn healthcheck_passes_while_the_service_answers_and_fails_after() {
    let cwd = TempDir::new("healthcheck");
    let service = ServiceProcess::serve(cwd.path(), None, &[]).await;
    let bind = service.url.trim_start_matches("http://").to_owned();
    let healthy = healthcheck(cwd.path(), &bind).await;
    assert!(
        healthy.status.success(),
        "{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    assert!(service.terminate().await.success());
    let unhealthy = healthcheck(cwd.path(), &bind).await;
    let stderr = String::from_utf8_lossy(&unhealthy.stderr);
    assert_eq!(unhealthy.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("unhealthy: http://{bind}/healthz")),
        "{stderr}"
    );
}

async fn migrations_apply_and_are_idempotent(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = Store::connect(&db.target()).await.unwrap();
    assert!(
        store.readiness().await.is_err(),
        "an empty database is not ready"
    );
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(
        Migrator::get_pending_migrations(store.db())
            .await
            .unwrap()
            .is_empty()
    );
    store.readiness().await.expect("ready once migrated");
    for table in TABLES {
        assert_eq!(
            count(&store, &format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
    // The `migrate` command also applies them and exits 0, twice.
    let cwd = TempDir::new("migrate");
    for _ in 0..2 {
        let mut cmd = service_command(cwd.path());
        cmd.arg("migrate").env("HH_DATA_DIR", db.dir.path());
        if let Some(url) = &db.url {
            cmd.env("DATABASE_URL", url)
                .env("HH_SECRET_KEY", crate::support::TEST_SECRET_KEY);
        }
        let out = cmd.output().await.unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn migrations_apply_from_empty_and_are_idempotent_on_sqlite() {
    migrations_apply_and_are_idempotent(Engine::Sqlite).await;
}

#[tokio::test]
async fn migrations_apply_from_empty_and_are_idempotent_on_postgres() {
    migrations_apply_and_are_idempotent(Engine::Postgres).await;
}

async fn secrets_round_trip_through_the_database(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let cipher = Cipher::new(SecretKey::generate());
    insert_portal(&store, 7001, None).await;
    let token = SecretString::from("oauth-access-token-7001".to_owned());
    let mut row: portal::ActiveModel = portal::Entity::find_by_id(7001)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .into();
    let slot = access_token_slot(7001);
    row.access_token_enc = Set(Some(cipher.seal(&token, slot)));
    row.update(store.db()).await.unwrap();

    let stored = portal::Entity::find_by_id(7001)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .access_token_enc
        .unwrap();
    assert!(!stored.contains("oauth-access-token"), "stored encrypted");
    assert_eq!(
        cipher.open(&stored, slot).unwrap().expose_secret(),
        "oauth-access-token-7001"
    );
    let other = Cipher::new(SecretKey::generate());
    assert!(matches!(
        other.open(&stored, slot),
        Err(CryptoError::WrongKey { .. })
    ));
    let tampered = format!("{}A", &stored[..stored.len() - 1]);
    let tampered = if tampered == stored {
        format!("{}B", &stored[..stored.len() - 1])
    } else {
        tampered
    };
    assert!(matches!(
        cipher.open(&tampered, slot),
        Err(CryptoError::Tampered | CryptoError::Malformed)
    ));
}

#[tokio::test]
async fn secrets_round_trip_on_sqlite() {
    secrets_round_trip_through_the_database(Engine::Sqlite).await;
}

#[tokio::test]
async fn secrets_round_trip_on_postgres() {
    secrets_round_trip_through_the_database(Engine::Postgres).await;
}

/// Two schedulers with their own connection pools (as two processes would
/// have) tick at the same instant, many times over: every due portal is
/// claimed by exactly one of them and queued exactly once.
async fn two_schedulers_claim_each_due_portal_once(engine: Engine) {
    const PORTALS: i64 = 12;
    const ROUNDS: usize = 25;
    let db = TestDb::new(engine).await;
    let setup = db.store().await;
    for id in 1..=PORTALS {
        insert_portal(&setup, id, None).await;
    }
    // A portal not yet due and a disconnected one must never be claimed.
    insert_portal(&setup, 900, Some(Utc::now() + Span::hours(5))).await;
    insert_portal(&setup, 901, Some(Utc::now() - Span::hours(1))).await;
    setup
        .db()
        .execute_unprepared("UPDATE portals SET status = 'disconnected' WHERE id = 901")
        .await
        .unwrap();

    let mut schedulers = Vec::new();
    for _ in 0..2 {
        let store = db.store().await;
        let queue = JobQueue::setup(&store).await.unwrap();
        schedulers.push(JobContext {
            store,
            queue,
            engine: None,
            deals: None,
            retention: Span::days(30),
        });
    }
    for round in 0..ROUNDS {
        let now = Utc::now();
        setup
            .db()
            .execute_unprepared(&format!(
                "UPDATE portals SET next_run_at = {} WHERE id <= {PORTALS}",
                match engine {
                    Engine::Postgres => "NOW() - INTERVAL '1 minute'".to_owned(),
                    Engine::Sqlite => format!(
                        "'{}'",
                        (now - Span::minutes(1)).format("%Y-%m-%d %H:%M:%S%.6f+00:00")
                    ),
                }
            ))
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            scheduler_tick(&schedulers[0], now),
            scheduler_tick(&schedulers[1], now)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let first: HashSet<i64> = a.iter().copied().collect();
        let second: HashSet<i64> = b.iter().copied().collect();
        assert!(first.is_disjoint(&second), "round {round}: {a:?} vs {b:?}");
        let all: HashSet<i64> = first.union(&second).copied().collect();
        assert_eq!(all, (1..=PORTALS).collect(), "round {round}");
        // Claimed portals are leased: an immediate second tick claims nothing.
        assert!(
            scheduler_tick(&schedulers[0], now)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let jobs_table = match engine {
        Engine::Postgres => "apalis.jobs",
        Engine::Sqlite => "Jobs",
    };
    let queued = count(&setup, &format!("SELECT COUNT(*) FROM {jobs_table}")).await;
    assert_eq!(queued, PORTALS * ROUNDS as i64, "one job per claim");
}

#[tokio::test]
async fn two_schedulers_claim_each_due_portal_once_on_postgres() {
    two_schedulers_claim_each_due_portal_once(Engine::Postgres).await;
}

#[tokio::test]
async fn two_schedulers_claim_each_due_portal_once_on_sqlite() {
    two_schedulers_claim_each_due_portal_once(Engine::Sqlite).await;
}

/// The workers pick up a queued job, record the run (failed with a clear
/// reason: this process has no HubSpot app configured) and schedule the next
/// nightly run; then they stop on the shutdown signal.
async fn workers_run_a_queued_sync_job(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    insert_portal(&store, 4242, Some(Utc::now() - Span::minutes(5))).await;
    let ctx = JobContext {
        queue: JobQueue::setup(&store).await.unwrap(),
        store: store.clone(),
        engine: None,
        deals: None,
        retention: Span::days(30),
    };
    assert_eq!(scheduler_tick(&ctx, Utc::now()).await.unwrap(), vec![4242]);
    ctx.queue
        .push(SyncPortal {
            portal_id: 4242,
            trigger: RunTrigger::Manual,
        })
        .await
        .unwrap();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(run_workers(ctx, async move {
        let _ = stopped.await;
        Ok(())
    }));
    let runs = holded_hubspot::store::entities::sync_run::Entity::find();
    let mut done = 0;
    for _ in 0..300 {
        done = runs.clone().count(store.db()).await.unwrap();
        if done >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done, 2, "the scheduled and the manual job both ran");
    let all = holded_hubspot::store::entities::sync_run::Entity::find()
        .all(store.db())
        .await
        .unwrap();
    assert!(all.iter().all(|r| r.status == "failed"
        && r.finished_at.is_some()
        && r.error.as_deref() == Some("La app de HubSpot no está configurada en este servidor.")));
    let triggers: HashSet<&str> = all.iter().map(|r| r.trigger.as_str()).collect();
    assert_eq!(triggers, HashSet::from(["scheduled", "manual"]));
    let portal = portal::Entity::find_by_id(4242)
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    let next = portal.next_run_at.expect("next nightly run scheduled");
    assert!(
        next > Utc::now() && next < Utc::now() + Span::hours(25),
        "{next}"
    );
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(40), workers)
        .await
        .expect("workers stop on the signal")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn workers_run_a_queued_sync_job_on_sqlite() {
    workers_run_a_queued_sync_job(Engine::Sqlite).await;
}

#[tokio::test]
async fn workers_run_a_queued_sync_job_on_postgres() {
    workers_run_a_queued_sync_job(Engine::Postgres).await;
}

#[tokio::test]
async fn readyz_is_503_when_the_postgres_database_is_gone() {
    let db = TestDb::new(Engine::Postgres).await;
    let cwd = TempDir::new("ready-pg");
    let service = ServiceProcess::serve(cwd.path(), Some(&db), &[("HH_LOG_FORMAT", "json")]).await;
    let client = http();
    let url = format!("{}/readyz", service.url);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    db.drop_database().await;
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "not_ready");
    assert_eq!(body["reason"], "database_unreachable", "{body}");
    assert!(
        !body.to_string().contains("hh_test_") && !body.to_string().contains("database \""),
        "no database error text: {body}"
    );
    // Liveness is unaffected, and JSON logs carry the request id.
    assert_eq!(
        client
            .get(format!("{}/healthz", service.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let logs = service.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("not ready"))
        .unwrap_or_else(|| panic!("a log line for the failed check: {logs}"));
    let entry: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
    assert!(entry["span"]["request_id"].is_string(), "{entry}");
}

#[tokio::test]
async fn readyz_is_503_when_sqlite_migrations_are_missing() {
    let db = TestDb::new(Engine::Sqlite).await;
    let cwd = TempDir::new("ready-sqlite");
    let path = db.dir.path().display().to_string();
    let service = ServiceProcess::serve(cwd.path(), None, &[("HH_DATA_DIR", path.as_str())]).await;
    let client = http();
    let url = format!("{}/readyz", service.url);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let store = Store::connect(&db.target()).await.unwrap();
    store
        .db()
        .execute_unprepared("DELETE FROM seaql_migrations")
        .await
        .unwrap();
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["reason"], "migrations_pending", "{body}");
    assert!(
        !body.to_string().contains("m20261128"),
        "no migration names: {body}"
    );
    assert!(
        service.logs().contains("m20261128_000001_initial"),
        "the detail is logged"
    );
}

/// A bad value stops start-up with exit code 2 and one line naming the variable;
/// secret values are never echoed.
#[tokio::test]
async fn bad_configuration_stops_start_up_with_one_line() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("HH_SECRET_KEY", "c2VjcmV0LXRvby1zaG9ydA==")],
            "HH_SECRET_KEY: must be the base64",
        ),
        (
            &[("HH_BIND", "localhost")],
            "HH_BIND: `localhost` is not an address",
        ),
        (
            &[("DATABASE_URL", "mysql://u:pw@h/db")],
            "DATABASE_URL: unsupported database `mysql:`",
        ),
        (
            &[("DATABASE_URL", "postgres://u:hunter2@127.0.0.1/db")],
            "HH_SECRET_KEY: missing: required when DATABASE_URL points to PostgreSQL",
        ),
        (
            &[("HH_TIMELINE", "notes")],
            "HH_TIMELINE: no longer used: remove it, and set HH_TIMELINE_EVENT_TYPE",
        ),
        (
            &[("HH_TIMELINE_EVENT_TYPE", "Holded deal event")],
            "HH_TIMELINE_EVENT_TYPE: `Holded deal event` is not a fully qualified name",
        ),
        (
            &[("HH_LOG_FORMAT", "xml")],
            "HH_LOG_FORMAT: `xml` is not one of: human, json",
        ),
        (
            &[("HUBSPOT_API_BASE", "ftp://x")],
            "HUBSPOT_API_BASE: `ftp://x` must be an http",
        ),
        (
            &[("HH_PUBLIC_URL", "not a url")],
            "HH_PUBLIC_URL: `not a url` is not a valid URL",
        ),
        (&[("HH_ADMIN_TOKEN", "abc12")], "HH_ADMIN_TOKEN: too short"),
        (
            &[("HUBSPOT_CLIENT_ID", "abc")],
            "HUBSPOT_CLIENT_SECRET: missing",
        ),
        (
            &[
                ("HUBSPOT_CLIENT_ID", "abc"),
                ("HUBSPOT_CLIENT_SECRET", "s3cr3t-value"),
                ("HUBSPOT_APP_ID", "x1"),
            ],
            "HUBSPOT_APP_ID: `x1` is not a number",
        ),
    ];
    let cwd = TempDir::new("config");
    for (env, expected) in cases {
        let mut cmd = service_command(cwd.path());
        cmd.arg("migrate");
        for (key, value) in *env {
            cmd.env(key, value);
        }
        let out = cmd.output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line for {env:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {expected}")),
            "{env:?}: {stderr}"
        );
        for secret in ["c2VjcmV0LXRvby1zaG9ydA", "hunter2", "s3cr3t-value", "abc12"] {
            assert!(!stderr.contains(secret), "a secret value leaked: {stderr}");
        }
    }
    assert!(
        !cwd.path().join("data").exists(),
        "nothing is created on a config error"
    );
}

/// `--help` documents every environment variable.
#[tokio::test]
async fn help_documents_every_variable() {
    let cwd = TempDir::new("help");
    let out = service_command(cwd.path())
        .arg("--help")
        .output()
        .await
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DATABASE_URL",
        "HH_DATA_DIR",
        "HH_BIND",
        "HH_PUBLIC_URL",
        "HH_SECRET_KEY",
        "HH_ADMIN_TOKEN",
        "HUBSPOT_CLIENT_ID",
        "HUBSPOT_CLIENT_SECRET",
        "HUBSPOT_APP_ID",
        "HUBSPOT_API_BASE",
        "HUBSPOT_AUTH_URL",
        "HOLDED_API_BASE",
        "HH_TIMELINE_EVENT_TYPE",
        "HH_LOG_FORMAT",
        "RUST_LOG",
    ] {
        assert!(help.contains(var), "--help mentions {var}: {help}");
    }
}

/// The nightly run fires at 01:00 Madrid time on the configured date and every
/// night after, across the spring daylight-saving change (clock-controlled:
/// the scheduler tick and the rescheduling take the instant as input).
#[tokio::test]
async fn the_nightly_run_fires_at_01_00_across_a_daylight_saving_change() {
    use chrono::{NaiveDate, TimeZone};
    use holded_hubspot::{jobs::schedule_next_nightly, schedule::first_nightly_run};

    let db = TestDb::new(Engine::Sqlite).await;
    let store = db.store().await;
    let ctx = JobContext {
        queue: JobQueue::setup(&store).await.unwrap(),
        store: store.clone(),
        engine: None,
        deals: None,
        retention: Span::days(30),
    };
    let madrid = chrono_tz::Europe::Madrid;
    let utc = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&Utc)
    };
    // Configured on 27 March 2026 to start on the 28th; clocks go forward on
    // the 29th at 02:00.
    let configured = utc("2026-03-27T12:00:00Z");
    let first = first_nightly_run(
        madrid,
        NaiveDate::from_ymd_opt(2026, 3, 28).unwrap(),
        configured,
    );
    insert_portal(&store, 77, Some(first)).await;
    let expected = [
        "2026-03-28T00:00:00Z", // 01:00 CET
        "2026-03-29T00:00:00Z", // 01:00 CET, the night the clocks change
        "2026-03-29T23:00:00Z", // 01:00 CEST
        "2026-03-30T23:00:00Z",
    ];
    for fire in expected {
        let at = utc(fire);
        assert_eq!(
            at.with_timezone(&madrid).format("%H:%M").to_string(),
            "01:00",
            "{fire} is 01:00 in Madrid"
        );
        let minute_before = at - Span::minutes(1);
        assert!(
            scheduler_tick(&ctx, minute_before)
                .await
                .unwrap()
                .is_empty(),
            "not before {fire}"
        );
        assert_eq!(
            scheduler_tick(&ctx, at).await.unwrap(),
            vec![77],
            "due at {fire}"
        );
        assert!(
            scheduler_tick(&ctx, at + Span::minutes(1))
                .await
                .unwrap()
                .is_empty(),
            "claimed once"
        );
        // The run ends a few minutes later and schedules the next night.
        let next = schedule_next_nightly(&store, 77, "Europe/Madrid", at + Span::minutes(7))
            .await
            .unwrap();
        assert_eq!(
            next.with_timezone(&madrid).format("%H:%M").to_string(),
            "01:00"
        );
    }
    let portal = store.portal(77).await.unwrap().unwrap();
    assert_eq!(
        portal.next_run_at,
        Some(
            madrid
                .with_ymd_and_hms(2026, 4, 1, 1, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        )
    );
}

async fn journals_are_pruned_after_their_retention(engine: Engine) {
    use holded_hubspot::store::entities::{signed_request, timeline_entry, webhook_event};
    use sea_orm::{ColumnTrait, QueryFilter};
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    insert_portal(&store, 77, None).await;
    let now = Utc::now();
    let event = |i: usize, age: Span, handled: bool| webhook_event::ActiveModel {
        id: sea_orm::NotSet,
        dedupe_key: Set(format!("77:{i}:1:{}", age.num_seconds())),
        portal_id: Set(77),
        subscription_type: Set("object.propertyChange".into()),
        object_id: Set(Some(i.to_string())),
        payload: Set("{}".into()),
        occurred_at: Set(now - age),
        received_at: Set(now - age),
        processed_at: Set(handled.then_some(now - age)),
        enqueued_at: Set(Some(now - age)),
    };
    // More handled old events than one batch, one unhandled old event (kept:
    // it was never acted on), and a recent one.
    let mut events: Vec<_> = (0..1_200).map(|i| event(i, Span::days(40), true)).collect();
    events.push(event(5_000, Span::days(40), false));
    events.push(event(5_001, Span::days(1), true));
    for chunk in events.chunks(200) {
        webhook_event::Entity::insert_many(chunk.to_vec())
            .exec(store.db())
            .await
            .unwrap();
    }
    for (deal, age) in [("1", Span::days(31)), ("2", Span::days(29))] {
        timeline_entry::ActiveModel {
            id: sea_orm::NotSet,
            portal_id: Set(77),
            deal_id: Set(deal.into()),
            document_request_id: Set(None),
            channel: Set("note".into()),
            text: Set("Holded · Factura F260012 creada".into()),
            hubspot_id: Set(None),
            created_at: Set(now - age),
        }
        .insert(store.db())
        .await
        .unwrap();
    }
    assert!(
        store
            .remember_signature("old", now - Span::minutes(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .remember_signature("live", now + Span::minutes(9))
            .await
            .unwrap()
    );

    let pruned = store.prune_journals(now, Span::days(30)).await.unwrap();
    assert_eq!(pruned.webhook_events, 1_200);
    assert_eq!(pruned.timeline_entries, 1);
    assert!(pruned.expired >= 1, "{pruned:?}");
    let left: Vec<String> = webhook_event::Entity::find()
        .all(store.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.object_id.unwrap())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"5000".to_owned()) && left.contains(&"5001".to_owned()));
    let entries = timeline_entry::Entity::find()
        .all(store.db())
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].deal_id, "2");
    let signatures = signed_request::Entity::find()
        .filter(signed_request::Column::SignatureHash.eq("live"))
        .count(store.db())
        .await
        .unwrap();
    assert_eq!(signatures, 1);
    assert_eq!(
        signed_request::Entity::find()
            .count(store.db())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn journals_are_pruned_after_their_retention_on_sqlite() {
    journals_are_pruned_after_their_retention(Engine::Sqlite).await;
}

#[tokio::test]
async fn journals_are_pruned_after_their_retention_on_postgres() {
    journals_are_pruned_after_their_retention(Engine::Postgres).await;
}
