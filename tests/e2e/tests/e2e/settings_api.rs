//! The settings API behind the settings page: HubSpot-signed requests only,
//! each portal its own settings, every rule with its Spanish message, nothing
//! saved unless everything is valid, and an audit trail without secrets.

use chrono::{Duration, Utc};
use holded_hubspot::store::entities::{audit_log, settings};
use holded_hubspot_sim::hubspot::model::Tier;
use reqwest::Method;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};

use crate::support::{CLIENT_SECRET, Engine, Stack, signed_request};

fn body(key: Option<&str>, date: &str, mapping: Value, sensitive: bool) -> String {
    let mut body = json!({
        "nextSyncDate": date,
        "objects": {"contacts": true, "companies": true, "products": false, "documents": true},
        "documentMapping": mapping,
        "sensitiveData": {"enabled": sensitive, "eraseExisting": false},
    });
    if let Some(key) = key {
        body["holdedApiKey"] = json!(key);
    }
    body.to_string()
}

async fn put(stack: &Stack, portal: i64, body: &str) -> (u16, Value) {
    let res = stack
        .fetch(portal, Method::PUT, "/api/settings", body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn get(stack: &Stack, portal: i64) -> (u16, Value) {
    let res = stack
        .fetch(portal, Method::GET, "/api/settings", "")
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn settings_round_trip(engine: Engine) {
    let stack = Stack::start(engine, &[]).await;
    let (portal, _) = stack.install(Tier::Pro).await;
    let account = stack.sims.holded.create_account(None);

    let (status, view) = get(&stack, portal).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["portalId"], portal);
    assert_eq!(view["holded"]["configured"], false);
    assert_eq!(view["timeZone"], "Europe/Madrid");
    let tomorrow = (Utc::now()
        .with_timezone(&chrono_tz::Europe::Madrid)
        .date_naive()
        + chrono::Days::new(1))
    .to_string();
    assert_eq!(view["nextSyncDate"], tomorrow, "default: tomorrow");
    assert_eq!(view["sensitiveData"]["available"], false);
    assert!(
        view["sensitiveData"]["reason"]
            .as_str()
            .unwrap()
            .contains("Enterprise")
    );
    let stages: Vec<&str> = view["pipelines"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"closedwon"), "{view}");

    let mapping = json!({"invoice": {"pipelineId": "default", "stageId": "closedwon"},
                         "estimate": {"pipelineId": "default", "stageId": "contractsent"}});
    let (status, saved) = put(
        &stack,
        portal,
        &body(
            Some(&account.v2_token),
            "2025-01-01",
            mapping.clone(),
            false,
        ),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["holded"]["configured"], true);
    assert_eq!(saved["holded"]["generation"], "v2");
    let last4 = &account.v2_token[account.v2_token.len() - 4..];
    assert_eq!(saved["holded"]["keyLast4"], last4);
    assert!(
        !saved.to_string().contains(&account.v2_token),
        "the key never comes back"
    );
    assert_eq!(saved["nextSyncDate"], "2025-01-01");
    assert_eq!(saved["objects"]["products"], false);
    assert_eq!(saved["documentMapping"], mapping);

    // Stored sealed; audited with the key masked; the nightly run is scheduled
    // (a past date back-fills, so the run is the next 01:00).
    let store = stack.db.store().await;
    let row = settings::Entity::find_by_id(portal)
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    assert!(row.holded_key_enc.unwrap().starts_with("hh2."));
    let audit = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(audit.action, "settings.updated");
    assert_eq!(
        audit.actor,
        format!("hubspot-user:{}", stack.super_admin(portal).id)
    );
    assert!(
        audit.details.contains(&format!("…{last4}")),
        "{}",
        audit.details
    );
    assert!(!audit.details.contains(&account.v2_token));
    let next = store
        .portal(portal)
        .await
        .unwrap()
        .unwrap()
        .next_run_at
        .expect("scheduled");
    assert!(
        next > Utc::now() && next <= Utc::now() + Duration::hours(25),
        "{next}"
    );
    let (_, again) = get(&stack, portal).await;
    assert_eq!(again["documentMapping"], mapping);
}

#[tokio::test]
async fn settings_round_trip_on_sqlite() {
    settings_round_trip(Engine::Sqlite).await;
}

#[tokio::test]
async fn settings_round_trip_on_postgres() {
    settings_round_trip(Engine::Postgres).await;
}

#[tokio::test]
async fn unsigned_forged_stale_and_uninstalled_requests_are_refused() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal, _) = stack.install(Tier::Pro).await;
    let path = format!("/api/settings?portalId={portal}");
    let valid = body(None, "2027-01-01", json!({}), false);
    let url = format!("{}{path}", stack.service.url);

    let unsigned = crate::support::http()
        .put(&url)
        .body(valid.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let forged = signed_request(
        &stack.service.url,
        Method::PUT,
        &path,
        &valid,
        "not-the-secret",
        Utc::now(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(forged.status(), 401);
    let stale = signed_request(
        &stack.service.url,
        Method::PUT,
        &path,
        &valid,
        CLIENT_SECRET,
        Utc::now() - Duration::minutes(6),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(stale.status(), 401);
    let future = signed_request(
        &stack.service.url,
        Method::PUT,
        &path,
        &valid,
        CLIENT_SECRET,
        Utc::now() + Duration::minutes(6),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(future.status(), 401);
    // A signature over another portal's URL does not open this one.
    let other = signed_request(
        &stack.service.url,
        Method::PUT,
        "/api/settings?portalId=1",
        &valid,
        CLIENT_SECRET,
        Utc::now(),
    )
    .build()
    .unwrap();
    let headers = other.headers().clone();
    let mut replay = crate::support::http().put(&url).body(valid.clone());
    for (name, value) in headers.iter() {
        replay = replay.header(name, value);
    }
    assert_eq!(replay.send().await.unwrap().status(), 401);
    // A tampered body under a valid signature.
    let tampered = stack
        .signed(Method::PUT, &path, &valid)
        .body(valid.replace("2027", "2026"));
    assert_eq!(tampered.send().await.unwrap().status(), 401);
    // Nothing changed.
    let store = stack.db.store().await;
    let row = settings::Entity::find_by_id(portal)
        .one(store.db())
        .await
        .unwrap();
    assert!(
        row.is_none_or(|r| r.next_sync_date.map(|d| d.to_string()) != Some("2027-01-01".into()))
    );
    // A portal that never installed the app.
    let res = stack
        .fetch_as(
            &stack.super_admin(portal),
            99_999,
            Method::GET,
            "/api/settings",
            "",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "portal_not_installed");
    // Malformed JSON.
    let (status, body) = put(&stack, portal, "{not json").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn each_portal_reads_and_changes_only_its_own_settings() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (first, _) = stack.install(Tier::Pro).await;
    let (second, _) = stack.install(Tier::Pro).await;
    let (status, _) = put(&stack, first, &body(None, "2027-02-02", json!({}), false)).await;
    assert_eq!(status, 200);
    let (_, theirs) = get(&stack, second).await;
    assert_ne!(theirs["nextSyncDate"], "2027-02-02");
    assert_eq!(theirs["portalId"], second);
}

#[tokio::test]
async fn every_rule_answers_422_in_spanish_and_saves_nothing() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal, _) = stack.install(Tier::Pro).await;
    let account = stack.sims.holded.create_account(None);
    let (status, _) = put(
        &stack,
        portal,
        &body(Some(&account.v1_key), "2027-03-03", json!({}), false),
    )
    .await;
    assert_eq!(status, 200, "a v1 key works too");

    let cases: Vec<(String, &str, &str)> = vec![
        (
            body(None, "03/03/2030", json!({}), false),
            "nextSyncDate",
            "AAAA-MM-DD",
        ),
        (
            body(None, "1999-12-31", json!({}), false),
            "nextSyncDate",
            "anterior al 1 de enero de 2000",
        ),
        (
            body(None, "2099-01-01", json!({}), false),
            "nextSyncDate",
            "más de un año vista",
        ),
        (
            body(
                None,
                "2027-03-03",
                json!({"invoice": {"pipelineId": "nope", "stageId": "x"}}),
                false,
            ),
            "documentMapping.invoice",
            "El pipeline elegido no existe",
        ),
        (
            body(
                None,
                "2027-03-03",
                json!({"invoice": {"pipelineId": "default", "stageId": "nope"}}),
                false,
            ),
            "documentMapping.invoice",
            "La etapa elegida no existe",
        ),
        (
            body(
                None,
                "2027-03-03",
                json!({"invoice": {"pipelineId": "default", "stageId": ""}}),
                false,
            ),
            "documentMapping.invoice",
            "Elige una etapa",
        ),
        (
            body(
                None,
                "2027-03-03",
                json!({"factura": {"pipelineId": "default", "stageId": "closedwon"}}),
                false,
            ),
            "documentMapping.factura",
            "Tipo de documento desconocido",
        ),
        (
            body(None, "2027-03-03", json!({}), true),
            "sensitiveData",
            "Enterprise",
        ),
        (
            body(
                Some("0123456789abcdef0123456789abcdef"),
                "2027-03-03",
                json!({}),
                false,
            ),
            "holdedApiKey",
            "Holded no reconoce esta clave",
        ),
        (
            body(Some("pat_not_a_real_token"), "2027-03-03", json!({}), false),
            "holdedApiKey",
            "Holded no reconoce esta clave",
        ),
    ];
    for (request, field, message) in cases {
        let (status, body) = put(&stack, portal, &request).await;
        assert_eq!(status, 422, "{request}: {body}");
        assert_eq!(body["error"], "validation");
        let got = body["fields"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} in {body}"));
        assert!(got.contains(message), "{field}: {got}");
    }
    // A token without the permissions the product needs names them.
    let limited = stack
        .sims
        .holded
        .create_token(
            &account.account_id,
            Some(&["contacts:contacts.read".to_owned()]),
        )
        .unwrap();
    let (status, body) = put(
        &stack,
        portal,
        &body(Some(&limited), "2027-03-03", json!({}), false),
    )
    .await;
    assert_eq!(status, 422);
    let message = body["fields"]["holdedApiKey"].as_str().unwrap();
    assert!(
        message.contains("faltan permisos") || message.contains("permiso"),
        "{message}"
    );
    // Nothing was saved by any refused request: the v1 key and the date stay.
    let (_, view) = get(&stack, portal).await;
    assert_eq!(view["holded"]["generation"], "v1");
    assert_eq!(
        view["holded"]["keyLast4"],
        &account.v1_key[account.v1_key.len() - 4..]
    );
    assert_eq!(view["nextSyncDate"], "2027-03-03");
}

#[tokio::test]
async fn the_default_tax_is_checked_against_the_holded_account_and_audited() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal, _) = stack.install(Tier::Pro).await;
    let account = stack.sims.holded.create_account(None);
    let (_, view) = get(&stack, portal).await;
    assert_eq!(view["defaultTax"], "s_iva_21", "IVA general by default");
    let with_tax = |key: Option<&str>, tax: &str| {
        let mut value: Value =
            serde_json::from_str(&body(key, "2027-01-01", json!({}), false)).unwrap();
        value["defaultTax"] = json!(tax);
        value.to_string()
    };

    // Without a Holded key the tax cannot be checked; a malformed key is refused as such.
    let (status, refused) = put(&stack, portal, &with_tax(None, "s_iva_10")).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["fields"]["defaultTax"]
            .as_str()
            .unwrap()
            .contains("clave de Holded")
    );
    let (status, refused) = put(&stack, portal, &with_tax(None, "IVA 10")).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["fields"]["defaultTax"]
            .as_str()
            .unwrap()
            .contains("s_iva_21")
    );

    // A tax the account lacks is refused with Holded's word for it; nothing is saved.
    let (status, refused) = put(
        &stack,
        portal,
        &with_tax(Some(&account.v2_token), "s_iva_7"),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["fields"]["defaultTax"],
        "Tu cuenta de Holded no tiene el impuesto «s_iva_7». Elige uno de los que aparecen en Holded › Configuración › Impuestos."
    );
    assert_eq!(get(&stack, portal).await.1["holded"]["configured"], false);

    let (status, saved) = put(
        &stack,
        portal,
        &with_tax(Some(&account.v2_token), "s_iva_10"),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["defaultTax"], "s_iva_10");
    // The stored key checks a later change too.
    let (status, saved) = put(&stack, portal, &with_tax(None, "s_iva_4")).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(get(&stack, portal).await.1["defaultTax"], "s_iva_4");
    let store = stack.db.store().await;
    let last = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    let details: Value = serde_json::from_str(&last.details).unwrap();
    assert_eq!(details["defaultTax"]["antes"], "s_iva_10");
    assert_eq!(details["defaultTax"]["después"], "s_iva_4");
}
