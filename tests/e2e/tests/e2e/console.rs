//! The operator console (`/console`): each scenario prepares the state over
//! the real service and simulators, then drives the pages in a real headless
//! Chromium through a Node script in `tests/browser/` (playwright-core), and
//! checks what landed. Forged forms, cookies and headers are checked with
//! plain HTTP. Screenshots go to `tests/e2e/artifacts/console-*.png`.

use std::{path::PathBuf, time::Duration};

use chrono::Utc;
use holded_hubspot::store::entities::{audit_log, sync_run_item};
use holded_hubspot_sim::hubspot::model::Tier;
use reqwest::{Method, StatusCode, header};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::{
    support::{ADMIN_TOKEN, Engine, ServiceProcess, TempDir, http, no_redirects, output_text},
    sync::{Scenario, scenario, small_seed},
};

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../browser")
}

fn artifacts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}

/// Installs `tests/browser`'s npm packages from the lock file when they are
/// missing (as the UI extensions' suites do), once per test binary.
fn install_browser_packages() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        if browser_dir().join("node_modules/playwright-core").is_dir() {
            return;
        }
        let out = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(browser_dir())
            .output()
            .expect("npm is needed for the console's browser tests");
        assert!(
            out.status.success(),
            "npm ci in tests/browser failed:\n{}",
            crate::support::output_text(&out)
        );
    });
    assert!(
        browser_dir().join("node_modules/playwright-core").is_dir(),
        "the console's browser tests need their npm packages: run `npm ci` in tests/browser"
    );
}

/// Runs `tests/browser/<script>` against the scenario's service with `env`
/// (besides the service URL, the admin token, the portal and where
/// screenshots go) and returns its output; panics with that output when the
/// script fails. Chromium must be installed (the npm packages are installed
/// here when missing): this fails, saying what to install, rather than skip.
async fn run_browser(s: &Scenario, script: &str, env: &[(&str, String)]) -> String {
    assert!(
        std::path::Path::new(CHROMIUM).is_file(),
        "the console's browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium"
    );
    install_browser_packages();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(script)
        .current_dir(browser_dir())
        .env("HH_SERVICE_URL", &s.stack.service.url)
        .env("HH_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("HH_PORTAL_ID", s.portal.to_string())
        .env("HH_ARTIFACTS_DIR", artifacts_dir())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within 3 minutes"))
        .unwrap_or_else(|e| panic!("the console's browser tests need Node.js 20+ (`node`): {e}"));
    let text = output_text(&out);
    assert!(
        out.status.success(),
        "{script} failed:\n{text}\n--- service log ---\n{}",
        s.stack.service.logs()
    );
    text
}

/// The settings as the settings API returns them.
async fn api_settings(s: &Scenario) -> Value {
    let res = s
        .stack
        .fetch(s.portal, Method::GET, "/api/settings", "")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn audit_entries(s: &Scenario) -> Vec<audit_log::Model> {
    let store = s.stack.db.store().await;
    audit_log::Entity::find()
        .filter(audit_log::Column::PortalId.eq(s.portal))
        .order_by_asc(audit_log::Column::Id)
        .all(store.db())
        .await
        .unwrap()
}

fn last4(key: &str) -> String {
    key[key.len() - 4..].to_owned()
}

#[tokio::test]
async fn console_signs_in_and_shows_the_portals_and_their_runs() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(10), false, false).await;
    s.sync(&[]).await;
    let output = run_browser(&s, "sign-in-and-runs.mjs", &[]).await;
    for shot in ["login-refused", "portals", "runs"] {
        assert!(output.contains(&format!("console-{shot}.png")), "{output}");
    }
}

#[tokio::test]
async fn console_saves_settings_through_the_settings_validation() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(3), false, false).await;
    let before = api_settings(&s).await;
    let next_sync_date = (Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    run_browser(
        &s,
        "settings.mjs",
        &[
            ("HH_KEY_LAST4", last4(&s.account.v2_token)),
            ("HH_NEXT_SYNC_DATE", next_sync_date.clone()),
        ],
    )
    .await;

    // The settings API reads what the console saved, and only that: the
    // refused saves changed nothing.
    let after = api_settings(&s).await;
    assert_eq!(after["nextSyncDate"], next_sync_date.as_str());
    assert_eq!(after["objects"]["products"], false);
    assert_eq!(after["objects"]["contacts"], true);
    assert_eq!(
        after["documentMapping"]["salesorder"]["stageId"],
        "closedwon"
    );
    assert_eq!(after["holded"], before["holded"], "the key is kept");
    let saves: Vec<audit_log::Model> = audit_entries(&s)
        .await
        .into_iter()
        .filter(|e| e.action == "settings.updated" && e.actor == "console")
        .collect();
    assert_eq!(saves.len(), 1, "one save, audited as the console");
    assert!(!saves[0].details.contains(&s.account.v2_token));
}

#[tokio::test]
async fn console_retry_resolves_a_failed_record_fixed_in_holded() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(5), false, false).await;
    let bad = s
        .add_person("Pedro Mal Correo", "esto-no-es-un-email")
        .await;
    s.sync(&[]).await;
    let record = [("HH_FAILED_HOLDED_ID", bad.clone())];
    run_browser(&s, "failed-record.mjs", &record).await;

    s.set_email(&bad, "pedro@ejemplo.es").await;
    run_browser(&s, "retry.mjs", &record).await;

    let store = s.stack.db.store().await;
    let failures = sync_run_item::Entity::find()
        .filter(sync_run_item::Column::HoldedId.eq(bad.as_str()))
        .all(store.db())
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].resolved);
    let landed = s.stack.sims.hubspot.dump(s.portal as u64).unwrap()["records"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["properties"]["holded_id"] == bad.as_str());
    assert!(landed, "the fixed contact is in HubSpot");
    let retry = audit_entries(&s)
        .await
        .into_iter()
        .find(|e| e.action == "sync.requested" && e.actor == "console")
        .expect("the retry is audited");
    let details: Value = serde_json::from_str(&retry.details).unwrap();
    assert_eq!(details["reintento"]["holdedId"], bad.as_str());
}

#[tokio::test]
async fn console_shows_document_requests_and_retries_a_failed_one() {
    use holded_hubspot::hubspot::{
        Hubspot, HubspotConfig, MemoryTokenStore, ObjectType, Properties, Tokens,
    };
    use holded_hubspot_sim::hubspot::{SeedDeal, model::ObjType};
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(2), false, false).await;
    let hubspot = &s.stack.sims.hubspot;
    let props = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    // A product whose Holded tax the account lacks: Holded refuses the invoice.
    let product = hubspot
        .seed_records(
            s.portal as u64,
            ObjType::Products,
            vec![props(&[("name", "Libro"), ("holded_impuesto", "s_iva_7")])],
        )
        .unwrap()[0]
        .to_string();
    let deal = hubspot
        .seed_deal(
            s.portal as u64,
            SeedDeal {
                properties: props(&[
                    ("dealname", "Biblioteca municipal"),
                    ("pipeline", "default"),
                    ("dealstage", "contractsent"),
                    ("holded_tipo_documento", "invoice"),
                    ("holded_asociar_documento_a", "company"),
                ]),
                line_items: vec![props(&[
                    ("name", "Libro"),
                    ("quantity", "3"),
                    ("price", "20"),
                    ("hs_product_id", &product),
                ])],
                company: Some(props(&[("name", "Librería Central SL")])),
                contact: None,
            },
        )
        .unwrap()
        .deal_id;
    hubspot
        .move_deal(s.portal as u64, deal, "closedwon")
        .unwrap();
    let store = s.stack.db.store().await;
    let request = || async {
        store
            .deal_document_requests(s.portal, &deal.to_string())
            .await
            .unwrap()
            .pop()
    };
    for _ in 0..300 {
        if request().await.is_some_and(|r| r.state == "failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(request().await.map(|r| r.state).as_deref(), Some("failed"));
    let page = |phase: &str| {
        [
            ("HH_DEAL_ID", deal.to_string()),
            ("HH_DOCUMENTS_STEP", phase.to_owned()),
        ]
    };
    run_browser(&s, "documents.mjs", &page("failed")).await;

    // The rep fixes the product's tax in HubSpot; the operator retries.
    let user = Hubspot::new(HubspotConfig::new(&s.stack.sims.hubspot_url), None)
        .unwrap()
        .portal(
            s.portal as u64,
            std::sync::Arc::new(MemoryTokenStore::new(Tokens::fixed(
                secrecy::SecretString::from(s.token.clone()),
            ))),
        );
    user.update_object(
        ObjectType::Products,
        &product,
        &Properties::from([("holded_impuesto".to_owned(), "s_iva_21".to_owned())]),
    )
    .await
    .unwrap();
    run_browser(&s, "documents.mjs", &page("retry")).await;
    let created = request().await.unwrap();
    assert_eq!(created.state, "created");
    assert_eq!(created.attempts, 2);
    assert!(
        audit_entries(&s)
            .await
            .iter()
            .any(|e| e.action == "document.retry" && e.actor == "console")
    );
}

/// The value of the hidden CSRF field in `html`.
pub(crate) fn csrf_token(html: &str) -> String {
    let (_, rest) = html
        .split_once(r#"name="csrf" value=""#)
        .expect("a CSRF field");
    rest.split('"').next().unwrap().to_owned()
}

fn assert_security_headers(res: &reqwest::Response) {
    let headers = res.headers();
    let get = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("{} lacks {name}", res.url()))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let csp = get("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("script-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(get("x-frame-options"), "DENY");
    assert_eq!(get("x-content-type-options"), "nosniff");
    assert_eq!(get("referrer-policy"), "same-origin");
    assert_eq!(get("cache-control"), "no-store");
}

#[tokio::test]
async fn console_refuses_forged_forms_and_keeps_secrets_out_of_pages() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(3), false, false).await;
    let base = format!("{}/console", s.stack.service.url);
    let client = no_redirects();
    let portal = s.portal;

    let login = client.get(format!("{base}/login")).send().await.unwrap();
    assert_security_headers(&login);
    let refused = client
        .post(format!("{base}/login"))
        .form(&[("token", "hh-e2e-admin-token-012345678X")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().get(header::SET_COOKIE).is_none());
    let cross_site = client
        .post(format!("{base}/login"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    let signed_in = s.stack.console_sign_in(&client).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let set_cookie = signed_in.headers()[header::SET_COOKIE].to_str().unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http here: {set_cookie}"
    );
    assert!(!set_cookie.contains(ADMIN_TOKEN));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let get = |path: String| {
        client
            .get(format!("{base}{path}"))
            .header(header::COOKIE, &cookie)
            .send()
    };

    // Every page carries the security headers and no secret.
    let secrets = [ADMIN_TOKEN, s.account.v2_token.as_str()];
    let mut settings_page = String::new();
    for path in [
        String::new(),
        format!("/portals/{portal}/settings"),
        format!("/portals/{portal}/runs"),
        format!("/portals/{portal}/audit"),
        "/audit".to_owned(),
        "/console.css".to_owned(),
        "/no-existe".to_owned(),
    ] {
        let res = get(path.clone()).await.unwrap();
        assert_security_headers(&res);
        let status = res.status();
        let body = res.text().await.unwrap();
        let expected = if path == "/no-existe" { 404 } else { 200 };
        assert_eq!(status, expected, "{path}: {body}");
        for secret in secrets {
            assert!(!body.contains(secret), "{path} shows a secret");
        }
        if path.ends_with("/settings") {
            settings_page = body;
        }
    }
    assert!(settings_page.contains(&format!("…{}", last4(&s.account.v2_token))));
    let csrf = csrf_token(&settings_page);

    // Forms without the session's token, or from another origin, are refused
    // and change nothing.
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        client
            .post(format!("{base}{path}"))
            .header(header::COOKIE, &cookie)
            .form(&form)
    };
    let save = format!("/portals/{portal}/settings");
    let form = |csrf: Option<&str>| {
        let mut fields = vec![
            ("next_sync_date", "2030-01-01".to_owned()),
            ("contacts", "1".to_owned()),
        ];
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf.to_owned()));
        }
        fields
    };
    let audited_before = audit_entries(&s).await.len();
    let forged = [
        post(&save, form(None)).send().await.unwrap(),
        post(&save, form(Some("not-the-token")))
            .send()
            .await
            .unwrap(),
        post(&save, form(Some(&csrf)))
            .header("Origin", "https://evil.example")
            .send()
            .await
            .unwrap(),
        post(&save, form(Some(&csrf)))
            .header("Sec-Fetch-Site", "cross-site")
            .send()
            .await
            .unwrap(),
        post(&format!("/portals/{portal}/sync"), vec![])
            .send()
            .await
            .unwrap(),
        post("/logout", vec![]).send().await.unwrap(),
    ];
    for res in forged {
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{}", res.url());
        assert_security_headers(&res);
        assert!(res.text().await.unwrap().contains("token CSRF"));
    }
    assert_eq!(audit_entries(&s).await.len(), audited_before);
    assert_eq!(api_settings(&s).await["nextSyncDate"], "2020-01-01");

    // With the token, from the console's origin, the same forms work.
    let origin = s.stack.service.url.clone();
    let queued = post(
        &format!("/portals/{portal}/sync"),
        vec![("csrf", csrf.clone())],
    )
    .header("Origin", &origin)
    .header("Sec-Fetch-Site", "same-origin")
    .send()
    .await
    .unwrap();
    assert_eq!(queued.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        queued.headers()[header::LOCATION],
        format!("/console/portals/{portal}/runs?hecho=sincronizacion").as_str()
    );

    // A session cookie altered in any way is no session.
    let tampered = format!("{}x", cookie);
    let res = client
        .get(format!("{base}/portals/{portal}/runs"))
        .header(header::COOKIE, tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/console/login");

    let logs = s.stack.service.logs();
    for secret in secrets {
        assert!(!logs.contains(secret), "the service logged a secret");
    }
}

#[tokio::test]
async fn console_is_off_without_an_admin_token() {
    let dir = TempDir::new("console-off");
    let data_dir = dir.path().display().to_string();
    let service =
        ServiceProcess::serve(dir.path(), None, &[("HH_DATA_DIR", data_dir.as_str())]).await;
    for path in ["/console", "/console/login"] {
        let res = http()
            .get(format!("{}{path}", service.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_security_headers(&res);
        assert!(res.text().await.unwrap().contains("HH_ADMIN_TOKEN"));
    }
    let res = http()
        .post(format!("{}/console/login", service.url))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
