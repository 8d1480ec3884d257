//! Tenant isolation and request authenticity, tried from outside as an
//! attacker would: a signed UI call names exactly one portal, user and app
//! (HubSpot's), a UI call is never a webhook delivery nor the reverse, a
//! signed save is accepted once, and only a portal's super admins (and the
//! users they allow) change its settings.

use std::collections::BTreeMap;

use holded_hubspot::{
    crypto::{Cipher, SecretKey},
    store::{
        entities::{audit_log, portal, settings, webhook_event},
        portal_tokens::refresh_token_slot,
    },
};
use holded_hubspot_sim::hubspot::{SeedDeal, model::Tier};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use secrecy::ExposeSecret;

use crate::support::{
    ADMIN_TOKEN, APP_ID, Engine, Stack, TEST_SECRET_KEY, fetch_path, settings_body,
};

/// Two installed portals: the victim, configured, with a deal; the attacker.
struct Tenants {
    stack: Stack,
    victim: i64,
    attacker: i64,
    victim_deal: u64,
}

async fn tenants() -> Tenants {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (victim, _) = stack.install(Tier::Pro).await;
    let (attacker, _) = stack.install(Tier::Pro).await;
    let account = stack.sims.holded.create_account(None);
    stack
        .save_settings(
            victim,
            &settings_body(
                Some(&account.v1_key),
                &[("invoice", "closedwon")],
                false,
                false,
            ),
        )
        .await;
    let victim_deal = stack
        .sims
        .hubspot
        .seed_deal(
            victim as u64,
            SeedDeal {
                properties: BTreeMap::from([
                    (
                        "dealname".to_owned(),
                        "Reforma de la nave de Gijón".to_owned(),
                    ),
                    ("pipeline".to_owned(), "default".to_owned()),
                    ("dealstage".to_owned(), "appointmentscheduled".to_owned()),
                ]),
                ..Default::default()
            },
        )
        .unwrap()
        .deal_id;
    Tenants {
        stack,
        victim,
        attacker,
        victim_deal,
    }
}

impl Tenants {
    /// Every signed UI route, with a body where it takes one.
    fn routes(&self) -> Vec<(Method, String, String)> {
        let deal = self.victim_deal;
        let save = settings_body(None, &[], false, false);
        vec![
            (Method::GET, "/api/settings".into(), String::new()),
            (Method::PUT, "/api/settings".into(), save),
            (Method::POST, "/api/sync".into(), String::new()),
            (Method::GET, "/api/runs".into(), String::new()),
            (Method::GET, format!("/api/deals/{deal}"), String::new()),
            (
                Method::PUT,
                format!("/api/deals/{deal}"),
                json!({"documentType": "invoice", "associateTo": ""}).to_string(),
            ),
            (
                Method::POST,
                format!("/api/deals/{deal}/documents"),
                "{}".into(),
            ),
        ]
    }

    /// What the victim's portal holds that an attack could change.
    async fn victim_state(&self) -> (Option<settings::Model>, u64, Value) {
        let store = self.stack.db.store().await;
        let row = settings::Entity::find_by_id(self.victim)
            .one(store.db())
            .await
            .unwrap();
        let audits = audit_log::Entity::find()
            .filter(audit_log::Column::PortalId.eq(self.victim))
            .count(store.db())
            .await
            .unwrap();
        let deal =
            self.stack.sims.hubspot.dump(self.victim as u64).unwrap()["records"]["deals"].clone();
        (row, audits, deal)
    }
}

async fn status_and_body(request: reqwest::RequestBuilder) -> (u16, Value) {
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_signed_route_refuses_a_second_portal_id_in_front_of_hubspots() {
    let t = tenants().await;
    let before = t.victim_state().await;
    let attacker = t.stack.super_admin(t.attacker);
    for (method, path, body) in t.routes() {
        // The UI puts the victim's portalId in its own URL; hubspot.fetch then
        // appends the attacker's identity and signs the whole URL.
        let smuggled = format!("{path}?portalId={}", t.victim);
        let url = fetch_path(&attacker, t.attacker, &smuggled);
        assert_eq!(url.matches("portalId=").count(), 2, "{url}");
        let (status, answer) = status_and_body(t.stack.signed(method.clone(), &url, &body)).await;
        assert_eq!(status, 401, "{method} {url}: {answer}");
        assert_eq!(answer["error"], "invalid_caller", "{method} {url}");
        assert!(
            !answer.to_string().contains("Gijón") && answer.get("holded").is_none(),
            "{answer}"
        );
        // The same call without the smuggled parameter is the attacker's own.
        let own = fetch_path(&attacker, t.attacker, &path);
        let (status, _) = status_and_body(t.stack.signed(method.clone(), &own, &body)).await;
        assert_ne!(status, 401, "{method} {own}");
    }
    assert_eq!(
        t.victim_state().await,
        before,
        "nothing of the victim changed"
    );
}

#[tokio::test]
async fn a_missing_repeated_or_foreign_identity_is_refused_on_every_signed_route() {
    let t = tenants().await;
    let before = t.victim_state().await;
    let admin = t.stack.super_admin(t.victim);
    let identity = |app: u64| {
        format!(
            "portalId={}&userId={}&userEmail={}&appId={app}",
            t.victim,
            admin.id,
            admin.email.replace('@', "%40")
        )
    };
    for (method, path, body) in t.routes() {
        let attempts = [
            format!("{path}?{}", identity(APP_ID + 1)),
            format!("{path}?{}", identity(APP_ID).replace("&appId=", "&x=")),
            format!("{path}?{}", identity(APP_ID).replace("userId=", "uid=")),
            format!(
                "{path}?{}",
                identity(APP_ID).replace("&userEmail=", "&mail=")
            ),
            format!("{path}?{}&userId=1", identity(APP_ID)),
            format!("{path}?appId={APP_ID}&{}", identity(APP_ID)),
            format!("{path}?portalId={}", t.victim),
        ];
        for url in attempts {
            let (status, answer) =
                status_and_body(t.stack.signed(method.clone(), &url, &body)).await;
            assert_eq!(status, 401, "{method} {url}: {answer}");
        }
    }
    assert_eq!(t.victim_state().await, before);
}

/// A deal-stage event for `deal` of `portal`, as HubSpot delivers it.
fn stage_event(portal: i64, deal: u64) -> Value {
    json!({
        "eventId": 77, "subscriptionId": 9001, "portalId": portal, "appId": APP_ID,
        "occurredAt": chrono::Utc::now().timestamp_millis(),
        "subscriptionType": "object.propertyChange", "objectTypeId": "0-3",
        "objectId": deal, "propertyName": "dealstage", "propertyValue": "closedwon",
        "changeSource": "CRM_UI", "attemptNumber": 0,
    })
}

#[tokio::test]
async fn a_ui_call_is_never_a_webhook_delivery_nor_the_reverse() {
    let t = tenants().await;
    let store = t.stack.db.store().await;
    let forged = json!([stage_event(t.victim, t.victim_deal)]).to_string();
    // Any user of any portal can make hubspot.fetch sign a POST to our
    // webhook route: HubSpot appends the identity, so it has a query string.
    let attacker = t.stack.super_admin(t.attacker);
    let ui_signed = fetch_path(&attacker, t.attacker, "/webhooks/hubspot");
    let (status, answer) = status_and_body(t.stack.signed(Method::POST, &ui_signed, &forged)).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"], "not_a_webhook");
    // Events of another app, or without an app id, are not ours either.
    for event in [json!({"appId": APP_ID + 1}), json!({"appId": Value::Null})] {
        let mut foreign = stage_event(t.victim, t.victim_deal);
        foreign["appId"] = event["appId"].clone();
        let body = json!([stage_event(t.victim, t.victim_deal), foreign]).to_string();
        let (status, answer) =
            status_and_body(t.stack.signed(Method::POST, "/webhooks/hubspot", &body)).await;
        assert_eq!(status, 401, "{answer}");
    }
    assert_eq!(
        webhook_event::Entity::find()
            .count(store.db())
            .await
            .unwrap(),
        0,
        "nothing stored"
    );
    // A webhook-shaped request (no identity) on the UI routes.
    for (method, path, body) in t.routes() {
        let (status, _) = status_and_body(t.stack.signed(method.clone(), &path, &body)).await;
        assert_eq!(status, 401, "{method} {path}");
    }
    // The real delivery shape is accepted.
    let (status, answer) =
        status_and_body(t.stack.signed(Method::POST, "/webhooks/hubspot", &forged)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 1);
}

#[tokio::test]
async fn a_signed_save_is_accepted_once() {
    let t = tenants().await;
    let body = settings_body(None, &[("invoice", "closedwon")], false, false)
        .replace("2020-01-01", "2024-03-01");
    let request = t
        .stack
        .fetch(t.victim, Method::PUT, "/api/settings", &body)
        .build()
        .unwrap();
    let replay = request.try_clone().unwrap();
    let client = crate::support::http();
    let first = client.execute(request).await.unwrap();
    assert_eq!(first.status(), 200, "{}", first.text().await.unwrap());
    let again = client.execute(replay).await.unwrap();
    assert_eq!(again.status(), 401);
    let answer: Value = again.json().await.unwrap();
    assert_eq!(answer["error"], "replayed_request", "{answer}");
    // Reads are not remembered: the page may load twice in one second.
    let read = t
        .stack
        .fetch(t.victim, Method::GET, "/api/settings", "")
        .build()
        .unwrap();
    let read_again = read.try_clone().unwrap();
    assert_eq!(client.execute(read).await.unwrap().status(), 200);
    assert_eq!(client.execute(read_again).await.unwrap().status(), 200);
}

#[tokio::test]
async fn only_super_admins_and_the_users_they_allow_change_the_settings() {
    let t = tenants().await;
    let rep = t
        .stack
        .sims
        .hubspot
        .add_user(t.victim as u64, "lucia.fernandez@talleres-norte.es", false)
        .unwrap();
    let admin = t.stack.super_admin(t.victim);
    let save = settings_body(None, &[("invoice", "closedwon")], false, false)
        .replace("2020-01-01", "2025-06-01");

    // A sales rep reads the settings, is told who can change them…
    let (status, view) =
        status_and_body(
            t.stack
                .fetch_as(&rep, t.victim, Method::GET, "/api/settings", ""),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["access"]["canEdit"], false);
    assert_eq!(view["access"]["superAdmin"], false);
    assert!(
        view["access"]["message"]
            .as_str()
            .unwrap()
            .contains("superadministradores"),
        "{view}"
    );
    // …and cannot save them: a Spanish 403, nothing saved, the attempt audited.
    let before = t.victim_state().await.0;
    let (status, answer) =
        status_and_body(
            t.stack
                .fetch_as(&rep, t.victim, Method::PUT, "/api/settings", &save),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("superadministrador")
    );
    assert_eq!(t.victim_state().await.0, before);
    let store = t.stack.db.store().await;
    let refused = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("settings.refused"))
        .one(store.db())
        .await
        .unwrap()
        .expect("the refusal is audited");
    assert_eq!(refused.actor, format!("hubspot-user:{}", rep.id));

    // A super admin sees the allowed list, and allows the rep by email.
    let (status, view) =
        status_and_body(t.stack.fetch(t.victim, Method::GET, "/api/settings", "")).await;
    assert_eq!(status, 200);
    assert_eq!(view["access"]["canEdit"], true);
    assert_eq!(view["access"]["superAdmin"], true);
    let mut allow: Value = serde_json::from_str(&save).unwrap();
    allow["allowedEditors"] = json!(["nadie@talleres-norte.es"]);
    let (status, answer) =
        status_and_body(
            t.stack
                .fetch(t.victim, Method::PUT, "/api/settings", &allow.to_string()),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["fields"]["allowedEditors"]
            .as_str()
            .unwrap()
            .contains("nadie@talleres-norte.es")
    );
    allow["allowedEditors"] = json!([" LUCIA.FERNANDEZ@talleres-norte.es "]);
    let (status, saved) =
        status_and_body(
            t.stack
                .fetch(t.victim, Method::PUT, "/api/settings", &allow.to_string()),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        saved["access"]["allowedEditors"],
        json!([{"userId": rep.id.to_string(), "email": rep.email}])
    );

    // Now the rep may save, but not change who else may.
    let (status, saved) =
        status_and_body(
            t.stack
                .fetch_as(&rep, t.victim, Method::PUT, "/api/settings", &save),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["nextSyncDate"], "2025-06-01");
    assert_eq!(saved["access"]["canEdit"], true);
    assert_eq!(saved["access"]["superAdmin"], false);
    let mut widen: Value = serde_json::from_str(&save).unwrap();
    widen["allowedEditors"] = json!([admin.email, rep.email]);
    let (status, answer) = status_and_body(t.stack.fetch_as(
        &rep,
        t.victim,
        Method::PUT,
        "/api/settings",
        &widen.to_string(),
    ))
    .await;
    assert_eq!(status, 403, "{answer}");
    // Every save names its user.
    let actors: Vec<String> = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("settings.updated"))
        .all(store.db())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.actor)
        .collect();
    assert!(
        actors.contains(&format!("hubspot-user:{}", admin.id)),
        "{actors:?}"
    );
    assert!(
        actors.contains(&format!("hubspot-user:{}", rep.id)),
        "{actors:?}"
    );
}

#[tokio::test]
async fn a_revoked_install_disconnects_its_portal_and_drops_its_events() {
    let t = tenants().await;
    let store = t.stack.db.store().await;
    // The admin uninstalls the app in HubSpot: its tokens stop working and
    // the refresh answers invalid_grant. The next HubSpot call finds out.
    t.stack.sims.hubspot.uninstall(t.victim as u64);
    let (status, view) = status_and_body(t.stack.fetch(
        t.victim,
        Method::GET,
        &format!("/api/deals/{}", t.victim_deal),
        "",
    ))
    .await;
    assert_ne!(status, 200, "{view}");
    let portal = store.portal(t.victim).await.unwrap().unwrap();
    assert_eq!(portal.status, "disconnected", "{portal:?}");
    assert!(
        portal
            .status_reason
            .as_deref()
            .unwrap()
            .contains("invalid_grant"),
        "{portal:?}"
    );
    let (status, answer) =
        status_and_body(t.stack.fetch(t.victim, Method::GET, "/api/settings", "")).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"], "portal_disconnected");
    // Its stage changes are acknowledged and not kept.
    let body = json!([stage_event(t.victim, t.victim_deal)]).to_string();
    let (status, answer) =
        status_and_body(t.stack.signed(Method::POST, "/webhooks/hubspot", &body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ignored"], 1);
    // The other portal is untouched.
    let other = store.portal(t.attacker).await.unwrap().unwrap();
    assert_eq!(other.status, "connected");
}

#[tokio::test]
async fn a_missing_scope_is_reported_on_the_portal_not_as_a_disconnect() {
    let t = tenants().await;
    // The attacker's portal has not been asked about its users yet (nothing
    // cached): its install lacks the users scope.
    let portal_id = t.attacker;
    t.stack
        .sims
        .hubspot
        .withhold_scope(portal_id as u64, "settings.users.read");
    let (status, view) =
        status_and_body(t.stack.fetch(portal_id, Method::GET, "/api/settings", "")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["access"]["canEdit"], false);
    let message = view["access"]["message"].as_str().unwrap();
    assert!(message.contains("settings.users.read"), "{message}");
    let (status, answer) = status_and_body(t.stack.fetch(
        portal_id,
        Method::PUT,
        "/api/settings",
        &settings_body(None, &[], false, false),
    ))
    .await;
    assert_eq!(status, 403, "{answer}");
    let store = t.stack.db.store().await;
    let portal = store.portal(portal_id).await.unwrap().unwrap();
    assert_eq!(portal.status, "connected");
    assert_eq!(
        portal.missing_scopes.as_deref(),
        Some("settings.users.read")
    );
    // The console shows it.
    let console = ConsoleClient::signed_in(&t.stack).await;
    let page = console.get("/console").await.1;
    assert!(
        page.contains("Faltan permisos de HubSpot (settings.users.read)"),
        "{page}"
    );
}

#[tokio::test]
async fn a_holded_key_copied_into_another_portals_row_does_not_open() {
    let t = tenants().await;
    let other_account = t.stack.sims.holded.create_account(None);
    t.stack
        .save_settings(
            t.attacker,
            &settings_body(Some(&other_account.v1_key), &[], false, false),
        )
        .await;
    let store = t.stack.db.store().await;
    let stolen = settings::Entity::find_by_id(t.victim)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .holded_key_enc;
    let mut row: settings::ActiveModel = settings::Entity::find_by_id(t.attacker)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .into();
    row.holded_key_enc = sea_orm::ActiveValue::Set(stolen);
    sea_orm::ActiveModelTrait::update(row, store.db())
        .await
        .unwrap();
    let (status, answer) =
        status_and_body(t.stack.fetch(t.attacker, Method::POST, "/api/sync", "")).await;
    assert_eq!(status, 202, "{answer}");
    let mut run = Value::Null;
    // The queued run starts within seconds; a loaded machine may take longer.
    for _ in 0..300 {
        let (_, history) =
            status_and_body(t.stack.fetch(t.attacker, Method::GET, "/api/runs", "")).await;
        run = history["runs"][0].clone();
        if run["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap()
            .contains("no se puede leer la clave de Holded guardada"),
        "{run}"
    );
}

#[tokio::test]
async fn metrics_are_for_the_operator_and_their_labels_are_bounded() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let url = format!("{}/metrics", stack.service.url);
    let client = crate::support::http();
    for request in [
        client.get(&url),
        client.get(&url).bearer_auth("not-the-admin-token-000"),
    ] {
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    // Requests an attacker shapes: unknown methods and random paths.
    for i in 0..5 {
        let method = reqwest::Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap();
        client
            .request(method, format!("{}/wp-admin/{i}.php", stack.service.url))
            .send()
            .await
            .unwrap();
    }
    let text = crate::support::metrics(&stack.service.url).await;
    assert!(text.contains("hh_http_requests_total"), "{text}");
    assert!(
        !text.contains("PROBE") && !text.contains("wp-admin"),
        "{text}"
    );
    assert!(
        text.contains(r#"method="OTHER",route="unmatched""#),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_bind_serves_metrics_without_a_token_and_the_public_address_needs_one() {
    let metrics_port = crate::support::free_port();
    let bind = format!("127.0.0.1:{metrics_port}");
    let db = crate::support::TestDb::new(Engine::Sqlite).await;
    let cwd = crate::support::TempDir::new("metrics");
    let data_dir = db.dir.path().display().to_string();
    let service = crate::support::ServiceProcess::serve(
        cwd.path(),
        Some(&db),
        &[
            ("HH_METRICS_BIND", bind.as_str()),
            ("HH_DATA_DIR", data_dir.as_str()),
        ],
    )
    .await;
    let client = crate::support::http();
    let private = client
        .get(format!("http://{bind}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    assert!(
        private
            .text()
            .await
            .unwrap()
            .contains("hh_http_requests_total")
    );
    // Without HH_ADMIN_TOKEN the public address does not serve them at all.
    let public = client
        .get(format!("{}/metrics", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
    // Nothing else is served on the private address.
    let other = client
        .get(format!("http://{bind}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

/// The operator console over plain HTTP (the browser suites drive it in
/// Chromium; these check what a script could try).
struct ConsoleClient {
    base: String,
    cookie: Option<String>,
}

impl ConsoleClient {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            cookie: None,
        }
    }

    /// Signs in with the right token.
    async fn signed_in(stack: &Stack) -> Self {
        let mut console = Self::new(&stack.service.url);
        let status = console.login(ADMIN_TOKEN, "198.51.100.7").await;
        assert_eq!(status, 303);
        console
    }

    /// Posts the login form as if from `address`; keeps the session cookie.
    async fn login(&mut self, token: &str, address: &str) -> u16 {
        let res = crate::support::no_redirects()
            .post(format!("{}/console/login", self.base))
            .header("X-Forwarded-For", address)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        if let Some(cookie) = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
        {
            self.cookie = Some(cookie.to_owned());
        }
        res.status().as_u16()
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let mut request = crate::support::no_redirects().get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", cookie);
        }
        let res = request.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Signs out with the page's CSRF token.
    async fn logout(&self) -> u16 {
        let (_, page) = self.get("/console").await;
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSRF field on the page")
            .to_owned();
        crate::support::no_redirects()
            .post(format!("{}/console/logout", self.base))
            .header("Cookie", self.cookie.clone().unwrap())
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[tokio::test]
async fn console_sign_ins_are_throttled_and_signing_out_ends_the_session_everywhere() {
    let mut stack = Stack::start(Engine::Sqlite, &[]).await;
    let mut guesser = ConsoleClient::new(&stack.service.url);
    for _ in 0..5 {
        assert_eq!(
            guesser.login("adivinanza-0000000000", "203.0.113.9").await,
            401
        );
    }
    // The address is locked now, even with the right token.
    assert_eq!(guesser.login(ADMIN_TOKEN, "203.0.113.9").await, 429);
    let res = crate::support::no_redirects()
        .post(format!("{}/console/login", stack.service.url))
        .header("X-Forwarded-For", "203.0.113.9")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Demasiados intentos fallidos")
    );
    // Another address signs in.
    let console = ConsoleClient::signed_in(&stack).await;
    let (status, page) = console.get("/console").await;
    assert_eq!(status, 200, "{page}");
    // Signing out ends the session: the same cookie no longer opens a page.
    assert_eq!(console.logout().await, 303);
    let (status, _) = console.get("/console").await;
    assert_eq!(status, 303, "back to the login form");

    // A new admin token ends every session opened with the old one.
    let kept = ConsoleClient::signed_in(&stack).await;
    assert_eq!(kept.get("/console").await.0, 200);
    stack
        .restart_with(&[("HH_ADMIN_TOKEN", "un-token-nuevo-de-operador-2027")])
        .await;
    let (status, _) = kept.get("/console").await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn every_answer_carries_hsts_when_the_public_url_is_https() {
    let db = crate::support::TestDb::new(Engine::Sqlite).await;
    let cwd = crate::support::TempDir::new("hsts");
    let data_dir = db.dir.path().display().to_string();
    let service = crate::support::ServiceProcess::serve(
        cwd.path(),
        Some(&db),
        &[
            ("HH_PUBLIC_URL", "https://holded-hubspot.example.es"),
            ("HH_DATA_DIR", data_dir.as_str()),
        ],
    )
    .await;
    let client = crate::support::http();
    for path in ["/healthz", "/console/login", "/api/settings"] {
        let res = client
            .get(format!("{}{path}", service.url))
            .send()
            .await
            .unwrap();
        let hsts = res
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(hsts.starts_with("max-age=31536000"), "{path}: {hsts:?}");
    }
    let plain = Stack::start(Engine::Sqlite, &[]).await;
    let res = client
        .get(format!("{}/healthz", plain.service.url))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
}

/// A value sealed as versions before `hh2` did: AES-256-GCM under the secret
/// key itself, without associated data.
fn legacy_seal(key_base64: &str, plaintext: &str) -> String {
    use aes_gcm::{
        Aes256Gcm, Key, KeyInit,
        aead::{Aead, AeadCore, OsRng},
    };
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(key_base64)
        .unwrap();
    let aead = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let mut data = nonce.to_vec();
    data.extend(aead.encrypt(&nonce, plaintext.as_bytes()).unwrap());
    let kid = SecretKey::from_base64(key_base64).unwrap().key_id();
    format!(
        "hh1.{kid}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
    )
}

/// Waits for the portal's latest run to end; returns it.
async fn finished_run(stack: &Stack, portal: i64) -> Value {
    for _ in 0..200 {
        let (_, history) = status_and_body(stack.fetch(portal, Method::GET, "/api/runs", "")).await;
        let run = history["runs"][0].clone();
        if run["status"] == "completed" || run["status"] == "failed" {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no run finished: {}", stack.service.logs());
}

#[tokio::test]
async fn secrets_under_the_previous_key_keep_working_until_rotate_secrets_reseals_them() {
    let mut stack = Stack::start(Engine::Postgres, &[]).await;
    let (portal, _) = stack.install(Tier::Pro).await;
    let account = stack.sims.holded.create_account(None);
    stack
        .save_settings(
            portal,
            &settings_body(Some(&account.v1_key), &[], false, false),
        )
        .await;
    let store = stack.db.store().await;
    // The refresh token as a version before this one stored it.
    let old = Cipher::new(SecretKey::from_base64(TEST_SECRET_KEY).unwrap());
    let row = store.portal(portal).await.unwrap().unwrap();
    let refresh = old
        .open(
            row.refresh_token_enc.as_deref().unwrap(),
            refresh_token_slot(portal),
        )
        .unwrap();
    let mut active: portal::ActiveModel = row.into();
    active.refresh_token_enc =
        sea_orm::ActiveValue::Set(Some(legacy_seal(TEST_SECRET_KEY, refresh.expose_secret())));
    sea_orm::ActiveModelTrait::update(active, store.db())
        .await
        .unwrap();

    // A new key; the previous one is still read.
    let new_key = "bmV3LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc=";
    let new_kid = SecretKey::from_base64(new_key).unwrap().key_id();
    stack
        .restart_with(&[
            ("HH_SECRET_KEY", new_key),
            ("HH_SECRET_KEY_PREVIOUS", TEST_SECRET_KEY),
        ])
        .await;
    // The access token expires: the refresh uses the first-format refresh token.
    stack
        .sims
        .hubspot
        .advance_clock(chrono::Duration::minutes(31));
    let (status, view) =
        status_and_body(stack.fetch(portal, Method::GET, "/api/settings", "")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["holded"]["configured"], true);
    status_and_body(stack.fetch(portal, Method::POST, "/api/sync", "")).await;
    assert_eq!(finished_run(&stack, portal).await["status"], "completed");

    let out = stack.command(&["rotate-secrets"]).output().await.unwrap();
    let text = crate::support::output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("re-cifrados"), "{text}");
    let sealed: Vec<String> = {
        let row = store.portal(portal).await.unwrap().unwrap();
        let settings_row = settings::Entity::find_by_id(portal)
            .one(store.db())
            .await
            .unwrap()
            .unwrap();
        [
            row.access_token_enc,
            row.refresh_token_enc,
            settings_row.holded_key_enc,
        ]
        .into_iter()
        .flatten()
        .collect()
    };
    assert_eq!(sealed.len(), 3);
    for value in &sealed {
        assert!(value.starts_with(&format!("hh2.{new_kid}.")), "{value}");
    }
    // A second run has nothing left to do.
    let again = stack.command(&["rotate-secrets"]).output().await.unwrap();
    assert!(crate::support::output_text(&again).contains("re-cifrados con la clave"));
    assert!(crate::support::output_text(&again).contains(": 0 ·"));

    // The previous key retired: everything still opens.
    stack.restart_with(&[("HH_SECRET_KEY_PREVIOUS", "")]).await;
    let (status, view) =
        status_and_body(stack.fetch(portal, Method::GET, "/api/settings", "")).await;
    assert_eq!(status, 200, "{view}");
    status_and_body(stack.fetch(portal, Method::POST, "/api/sync", "")).await;
    assert_eq!(finished_run(&stack, portal).await["status"], "completed");
}
