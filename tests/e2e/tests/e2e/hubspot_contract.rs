//! HubSpot client against the HubSpot simulator, over real HTTP: every client
//! operation, the simulator's answers checked against the required fields of
//! HubSpot's published schemas (copied into `fixtures/hubspot`), rate limits,
//! retries, OAuth and signed webhooks verified with the client's verifier.

use std::{
    collections::BTreeMap,
    net::TcpListener,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Utc;
use futures::{StreamExt, stream};
use holded_hubspot::hubspot::{
    CreateInput, Hubspot, HubspotConfig, HubspotError, MemoryTokenStore, OAuthSettings, ObjectType,
    PortalClient, Properties, RetryPolicy, TokenStore, Tokens, UpdateInput, UpsertInput,
    associations::{AssociationInput, types},
    properties::{PropertyDefinition, PropertyGroup, PropertyOption},
    search::{Filter, FilterGroup, Operator, SearchRequest},
    signature::{SignedRequest, verify_v1, verify_v3},
    timeline::AppEvent,
};
use holded_hubspot_sim::{
    RunningSims,
    hubspot::{
        AppConfig, Fault, NewPortal, NewTaxRate, SeedDeal, Settings, WebhookFaults, model::Tier,
    },
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support;

const CLIENT_ID: &str = "e2e-client";
const CLIENT_SECRET: &str = "e2e-secret-0123456789";
pub(crate) const APP_ID: u64 = 777;
const SCOPES: [&str; 9] = [
    "oauth",
    "crm.objects.contacts.write",
    "crm.objects.contacts.read",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.companies.read",
    "crm.schemas.deals.write",
    "timeline",
    "tax_rates.read",
];

pub(crate) fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Retries fast enough for tests; the waits are configuration, the code path is the same.
pub(crate) fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        locked_delay: Duration::from_millis(100),
        rate_limited_delay: Duration::from_millis(300),
        search_limited_delay: Duration::from_millis(300),
        timeout: Duration::from_secs(2),
        max_retries: 8,
        max_waits: 12,
    }
}

pub(crate) fn app_config(webhook_url: Option<String>) -> AppConfig {
    AppConfig {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        app_id: APP_ID,
        webhook_url,
        webhook_time_factor: 60_000.0,
        webhook_timeout_ms: 5_000,
    }
}

fn oauth_settings(sims: &RunningSims) -> OAuthSettings {
    OAuthSettings {
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        state_key: std::sync::Arc::new(secrecy::SecretBox::new(Box::new([7; 32]))),
        redirect_url: "http://localhost:8080/oauth/callback".into(),
        authorize_url: format!("{}/oauth/authorize", sims.hubspot_url),
        api_base: sims.hubspot_url.clone(),
        scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        optional_scopes: Vec::new(),
    }
}

/// A client for `sims` with `retry`.
pub(crate) fn hubspot(sims: &RunningSims, retry: RetryPolicy) -> Hubspot {
    let mut config = HubspotConfig::new(&sims.hubspot_url);
    config.retry = retry;
    Hubspot::new(config, Some(oauth_settings(sims))).expect("client")
}

/// Simulators, the app registered, and a portal reached with a direct token.
pub(crate) async fn setup(
    tier: Tier,
    approved: bool,
) -> (RunningSims, Hubspot, PortalClient, u64, String) {
    let sims = support::sims().await;
    sims.hubspot.register_app(app_config(None));
    let created = sims.hubspot.create_portal(NewPortal {
        tier,
        time_zone: "Europe/Madrid".into(),
        app_events_approved: approved,
    });
    let hub = hubspot(&sims, quick_retry());
    let store = Arc::new(MemoryTokenStore::new(Tokens::fixed(SecretString::from(
        created.access_token.clone(),
    ))));
    let portal = hub.portal(created.portal_id, store);
    (sims, hub, portal, created.portal_id, created.access_token)
}

/// Runs the install flow: authorize → redirect with code and state → exchange.
pub(crate) async fn install(hub: &Hubspot) -> Tokens {
    let oauth = hub.oauth().expect("oauth configured");
    let (url, state) = oauth.authorize_url(Utc::now());
    assert!(
        url.contains("scope=oauth+crm.objects.contacts.write")
            || url.contains("scope=oauth%20crm.objects.contacts.write"),
        "{url}"
    );
    let no_redirects = holded_hubspot::http::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = no_redirects.get(&url).send().await.expect("authorize");
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let location = reqwest::Url::parse(&location).expect("redirect url");
    assert!(
        location
            .as_str()
            .starts_with("http://localhost:8080/oauth/callback")
    );
    let query: BTreeMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("state"),
        Some(&state),
        "state comes back unchanged"
    );
    oauth
        .verify_state(&query["state"], Utc::now())
        .expect("our signed state");
    assert!(
        oauth
            .verify_state(&format!("{state}x"), Utc::now())
            .is_err()
    );
    oauth
        .exchange_code(&query["code"], Utc::now())
        .await
        .expect("code exchange")
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("../../fixtures/hubspot/required-fields.json"))
        .expect("fixture json")
}

/// Asserts `value` has every field HubSpot's schema requires.
fn assert_schema(schema: &str, value: &Value) {
    let fixture = fixture();
    let required = fixture["schemas"][schema]["required"]
        .as_array()
        .unwrap_or_else(|| panic!("no schema {schema}"));
    for field in required {
        let field = field.as_str().expect("field name");
        assert!(
            value.get(field).is_some(),
            "{schema} lacks required `{field}` in {value}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_install_refresh_introspect_and_scopes() {
    let (sims, hub, _, portal_id, _token) = setup(Tier::Pro, false).await;
    let tokens = install(&hub).await;
    let expires_in = tokens.expires_at.expect("expiry") - Utc::now();
    assert!(
        expires_in > chrono::Duration::minutes(29) && expires_in <= chrono::Duration::minutes(30)
    );
    assert!(
        !format!("{tokens:?}").contains("sim-at"),
        "tokens are redacted in Debug"
    );

    let info = hub
        .oauth()
        .expect("oauth")
        .introspect(&tokens)
        .await
        .expect("introspect");
    assert_eq!(info.hub_id, portal_id);
    assert_eq!(info.app_id, Some(APP_ID));
    assert!(info.scopes.iter().any(|s| s == "crm.objects.deals.write"));

    let store = Arc::new(MemoryTokenStore::new(tokens.clone()));
    let portal = hub.portal(portal_id, store.clone());
    assert_eq!(
        portal.account_details().await.expect("account").portal_id,
        portal_id
    );

    // HubSpot's clock moves past the 30 minutes: a 401 EXPIRED_AUTHENTICATION, one refresh, success.
    sims.hubspot.advance_clock(chrono::Duration::minutes(31));
    let details = portal
        .account_details()
        .await
        .expect("refreshed once on 401");
    assert_eq!(details.time_zone, "Europe/Madrid");
    let refreshed = store.current();
    assert_ne!(
        secrecy::ExposeSecret::expose_secret(&refreshed.access_token),
        secrecy::ExposeSecret::expose_secret(&tokens.access_token)
    );
    assert!(refreshed.refresh_token.is_some());

    // Refresh ahead of expiry: a token with one minute left is replaced before the call.
    let mut near = refreshed.clone();
    near.expires_at = Some(Utc::now() + chrono::Duration::minutes(1));
    store.save(near.clone()).await.expect("save");
    let before = sims
        .hubspot
        .stats()
        .by_endpoint
        .get("GET /account-info/2026-03/details")
        .copied()
        .unwrap_or(0);
    portal.account_details().await.expect("call");
    let after = sims.hubspot.stats().by_endpoint["GET /account-info/2026-03/details"];
    assert_eq!(after - before, 1, "no 401 round trip when refreshing ahead");
    assert!(
        store.current().expires_at.expect("expiry") > Utc::now() + chrono::Duration::minutes(29)
    );

    // The install did not grant companies.write: a typed, named error.
    let err = portal
        .batch_create(
            ObjectType::Companies,
            &[CreateInput::new(props(&[("name", "ACME")]))],
        )
        .await
        .expect_err("missing scope");
    match err {
        HubspotError::MissingScopes { scopes } => {
            assert_eq!(scopes, ["crm.objects.companies.write"])
        }
        other => panic!("{other:?}"),
    }

    // Uninstall: revoking the refresh token ends the installation's access.
    let current = store.current();
    hub.oauth()
        .expect("oauth")
        .revoke(&current)
        .await
        .expect("revoke");
    let err = portal.account_details().await.expect_err("revoked");
    assert!(matches!(err, HubspotError::Auth { .. }), "{err:?}");

    // A refresh token that no longer works is an auth error, not a loop.
    let dead = Tokens {
        access_token: SecretString::from("sim-at-unknown"),
        refresh_token: Some(SecretString::from("sim-rt-unknown")),
        expires_at: Some(Utc::now() - chrono::Duration::minutes(1)),
    };
    let err = hub
        .portal(portal_id, Arc::new(MemoryTokenStore::new(dead)))
        .account_details()
        .await
        .expect_err("dead");
    assert!(matches!(err, HubspotError::Auth { .. }), "{err:?}");
    sims.stop().await;
}

pub(crate) async fn contacts_with_unique_holded_id(portal: &PortalClient) {
    let group = PropertyGroup {
        name: "holded".into(),
        label: "Holded".into(),
        display_order: -1,
    };
    portal
        .ensure_property_group(ObjectType::Contacts, &group)
        .await
        .expect("group");
    let again = portal
        .ensure_property_group(ObjectType::Contacts, &group)
        .await
        .expect("group exists");
    assert_eq!(again.name, "holded");
    let def = PropertyDefinition {
        name: "holded_id".into(),
        label: "Holded ID".into(),
        kind: "string".into(),
        field_type: "text".into(),
        group_name: "holded".into(),
        description: None,
        has_unique_value: true,
        options: Vec::new(),
        data_sensitivity: None,
    };
    let created = portal
        .ensure_property(ObjectType::Contacts, &def)
        .await
        .expect("property");
    assert!(created.has_unique_value);
    let existing = portal
        .ensure_property(ObjectType::Contacts, &def)
        .await
        .expect("idempotent");
    assert!(existing.has_unique_value && !existing.hubspot_defined);
}

/// The reference's reading (§1.3: 207 when every input has its own trace id),
/// which the simulator gives when `multi_status_upserts` is on; the default,
/// stricter reading is in `hubspot_fidelity`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_upsert_of_100_with_3_invalid_lands_97_and_reports_3_under_the_multi_status_reading()
{
    let (sims, _hub, portal, portal_id, _token) = setup(Tier::Pro, false).await;
    sims.hubspot.set_settings(Settings {
        multi_status_upserts: true,
        ..Settings::default()
    });
    contacts_with_unique_holded_id(&portal).await;
    let mut inputs: Vec<UpsertInput> = (0..100)
        .map(|i| {
            UpsertInput::new(
                "holded_id",
                format!("H-{i:03}"),
                props(&[
                    ("email", &format!("c{i}@example.es")),
                    ("firstname", &format!("Cliente {i}")),
                ]),
            )
        })
        .collect();
    inputs[10]
        .properties
        .insert("email".into(), "not-an-email".into());
    inputs[50]
        .properties
        .insert("nif_inexistente".into(), "B123".into());
    inputs[90]
        .properties
        .insert("email".into(), "c1@example.es".into());
    let bad: Vec<String> = [10, 50, 90]
        .iter()
        .map(|i| inputs[*i].trace_id.clone())
        .collect();
    let outcome = portal
        .batch_upsert(ObjectType::Contacts, &inputs)
        .await
        .expect("batch");
    assert_eq!(outcome.results.len(), 97);
    assert_eq!(outcome.errors.len(), 3);
    let mut reported: Vec<String> = outcome
        .errors
        .iter()
        .flat_map(|e| e.trace_ids.clone())
        .collect();
    reported.sort();
    let mut expected = bad.clone();
    expected.sort();
    assert_eq!(reported, expected);
    let reason_of = |trace: &str| {
        outcome
            .errors
            .iter()
            .find(|e| e.trace_ids.iter().any(|t| t == trace))
            .map(|e| e.error.clone())
    };
    assert!(
        matches!(reason_of(&bad[0]), Some(HubspotError::Validation { property: Some(p), reason: Some(r), .. }) if p == "email" && r == "INVALID_EMAIL")
    );
    assert!(
        matches!(reason_of(&bad[1]), Some(HubspotError::Validation { property: Some(p), reason: Some(r), .. }) if p == "nif_inexistente" && r == "PROPERTY_DOESNT_EXIST")
    );
    assert!(
        matches!(reason_of(&bad[2]), Some(HubspotError::Conflict { .. })),
        "{:?}",
        reason_of(&bad[2])
    );
    assert!(
        outcome
            .results
            .iter()
            .all(|r| r.new == Some(true) && r.object_write_trace_id.is_some())
    );

    let dump = sims.hubspot.dump(portal_id).expect("dump");
    assert_eq!(
        dump["records"]["contacts"].as_array().map(Vec::len),
        Some(97)
    );

    // Same keys again: updates, not duplicates.
    let good: Vec<UpsertInput> = inputs
        .iter()
        .enumerate()
        .filter(|(i, _)| ![10, 50, 90].contains(i))
        .map(|(_, u)| {
            UpsertInput::new(
                "holded_id",
                u.id.clone(),
                props(&[("lastname", "Actualizado")]),
            )
        })
        .collect();
    let second = portal
        .batch_upsert(ObjectType::Contacts, &good)
        .await
        .expect("second batch");
    assert_eq!(second.results.len(), 97);
    assert!(second.errors.is_empty() && second.results.iter().all(|r| r.new == Some(false)));
    assert_eq!(
        sims.hubspot.dump(portal_id).expect("dump")["records"]["contacts"]
            .as_array()
            .map(Vec::len),
        Some(97)
    );
    sims.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_contract_uniqueness_and_raw_batch_rules() {
    let (sims, _hub, portal, portal_id, token) = setup(Tier::Pro, false).await;
    contacts_with_unique_holded_id(&portal).await;
    let http = support::http();
    let base = format!("{}/crm/objects/2026-09", sims.hubspot_url);

    // get / batch read / update / archive through the client.
    let created = portal
        .batch_create(
            ObjectType::Contacts,
            &[CreateInput::new(props(&[
                ("email", "ana@example.es"),
                ("holded_id", "H-1"),
            ]))],
        )
        .await
        .expect("create");
    let id = created.results[0].id.clone();
    let read = portal
        .get_object(ObjectType::Contacts, &id, &["email", "holded_id"])
        .await
        .expect("get");
    assert_eq!(read.get("holded_id"), Some("H-1"));
    let mut update = UpdateInput::new("H-1", props(&[("firstname", "Ana")]));
    update.id_property = Some("holded_id".into());
    portal
        .batch_update(ObjectType::Contacts, &[update])
        .await
        .expect("update by unique property");
    let by_unique = portal
        .batch_read(
            ObjectType::Contacts,
            &["H-1".into(), "H-404".into()],
            &["firstname"],
            Some("holded_id"),
        )
        .await
        .expect("read");
    assert_eq!(by_unique.results.len(), 1);
    assert_eq!(by_unique.results[0].get("firstname"), Some("Ana"));
    assert_eq!(by_unique.errors.len(), 1, "unknown id reported, not fatal");

    // Unique values: a second contact with the same email or holded_id conflicts, naming the existing id.
    let dup = portal
        .create_object(
            ObjectType::Contacts,
            &CreateInput::new(props(&[("email", "ANA@example.es")])),
        )
        .await
        .expect_err("email taken");
    assert!(
        matches!(&dup, HubspotError::Conflict { existing_id: Some(e), .. } if *e == id),
        "{dup:?}"
    );
    let dup = portal
        .create_object(
            ObjectType::Contacts,
            &CreateInput::new(props(&[("holded_id", "H-1")])),
        )
        .await
        .expect_err("holded_id taken");
    assert!(
        matches!(&dup, HubspotError::Conflict { existing_id: Some(e), .. } if *e == id),
        "{dup:?}"
    );

    // Upsert by a property that is not unique: 400 for the whole batch.
    let err = portal
        .batch_upsert(
            ObjectType::Contacts,
            &[UpsertInput::new(
                "firstname",
                "Ana",
                props(&[("lastname", "X")]),
            )],
        )
        .await
        .expect_err("non-unique idProperty");
    assert!(
        matches!(&err, HubspotError::Validation { message, .. } if message.contains("non-unique 0-1 property firstname")),
        "{err:?}"
    );

    // Without objectWriteTraceId one bad input fails the whole batch and nothing lands.
    let raw = json!({"inputs": [
        {"properties": {"email": "ok@example.es"}},
        {"properties": {"email": "broken"}}
    ]});
    let response = http
        .post(format!("{base}/contacts/batch/create"))
        .bearer_auth(&token)
        .json(&raw)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_schema("Error", &body);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("INVALID_EMAIL"),
        "{body}"
    );
    // Duplicate ids in one upsert are refused; more than 100 inputs too.
    let raw = json!({"inputs": [
        {"id": "H-9", "idProperty": "holded_id", "properties": {}, "objectWriteTraceId": "a"},
        {"id": "H-9", "idProperty": "holded_id", "properties": {}, "objectWriteTraceId": "b"}
    ]});
    let response = http
        .post(format!("{base}/contacts/batch/upsert"))
        .bearer_auth(&token)
        .json(&raw)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"properties": {"firstname": format!("n{i}")}}))
        .collect();
    let response = http
        .post(format!("{base}/contacts/batch/create"))
        .bearer_auth(&token)
        .json(&json!({"inputs": many}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    // Values are validated like HubSpot: bad number, date, enumeration, read-only.
    for (object, property, value, code) in [
        ("products", "price", "doce", "INVALID_DECIMAL"),
        ("deals", "closedate", "mañana", "INVALID_DATE"),
        ("deals", "dealstage", "inventada", "INVALID_OPTION"),
        ("line_items", "amount", "10", "READ_ONLY_VALUE"),
        ("line_items", "price", "-1", "INVALID_DECIMAL"),
    ] {
        let response = http
            .post(format!("{base}/{object}"))
            .bearer_auth(&token)
            .json(&json!({"properties": {property: value}}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{object}.{property}");
        let body: Value = response.json().await.expect("json");
        assert!(
            body["message"].as_str().unwrap_or("").contains(code),
            "{body}"
        );
    }

    // Same record through the legacy family and by type id.
    let legacy: Value = http
        .get(format!(
            "{}/crm/v3/objects/0-1/{id}?properties=email",
            sims.hubspot_url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_schema("SimplePublicObjectWithAssociations", &legacy);
    assert_eq!(legacy["properties"]["email"], "ana@example.es");

    // Required fields configured by the account: enforced by 2026-09 writes only.
    sims.hubspot
        .set_required_properties(
            portal_id,
            holded_hubspot_sim::hubspot::model::ObjType::Deals,
            vec!["amount".into()],
        )
        .expect("required");
    let legacy = http
        .post(format!("{}/crm/v3/objects/deals", sims.hubspot_url))
        .bearer_auth(&token)
        .json(&json!({"properties": {"dealname": "v3"}}))
        .send()
        .await
        .expect("send");
    assert_eq!(legacy.status(), 201, "v3 does not enforce them");
    let err = portal
        .create_object(
            ObjectType::Deals,
            &CreateInput::new(props(&[("dealname", "2026-09")])),
        )
        .await
        .expect_err("required amount");
    assert!(
        matches!(&err, HubspotError::Validation { property: Some(p), .. } if p == "amount"),
        "{err:?}"
    );

    // Archive: gone from reads.
    portal
        .archive(ObjectType::Contacts, &id)
        .await
        .expect("archive");
    let gone = portal
        .get_object(ObjectType::Contacts, &id, &[])
        .await
        .expect_err("archived");
    assert!(matches!(gone, HubspotError::NotFound { .. }));
    sims.stop().await;
}

/// `POST url` as `token`: status and JSON body.
pub(crate) async fn post_as(url: String, token: &str, body: Value) -> (u16, Value) {
    let response = support::http()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `GET url` as `token`: status and JSON body.
pub(crate) async fn get_as(url: String, token: &str) -> (u16, Value) {
    let response = support::http()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn required_scopes(body: &Value) -> Value {
    body["errors"][0]["context"]["requiredGranularScopes"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_values_need_the_sensitive_scopes() {
    let (sims, hub, _portal, _portal_id, direct) = setup(Tier::Enterprise, false).await;
    let props_url = format!("{}/crm/properties/2026-09", sims.hubspot_url);
    let base = format!("{}/crm/objects/2026-09", sims.hubspot_url);
    let nif = json!({"name": "holded_nif", "label": "NIF", "type": "string", "fieldType": "text",
                     "groupName": "contactinformation", "dataSensitivity": "sensitive"});
    let (status, body) = post_as(format!("{props_url}/contacts"), &direct, nif).await;
    assert_eq!(status, 201, "direct tokens carry every scope: {body}");
    let (status, _) = post_as(
        format!("{base}/contacts"),
        &direct,
        json!({"properties": {"email": "ana@example.es", "holded_nif": "B12345678"}}),
    )
    .await;
    assert_eq!(status, 201);

    // The app was installed without the sensitive-data scopes.
    let tokens = install(&hub).await;
    let app = secrecy::ExposeSecret::expose_secret(&tokens.access_token).to_owned();
    let write_scope = json!(["crm.objects.contacts.sensitive.write.v2"]);
    let read_scope = json!(["crm.objects.contacts.sensitive.read.v2"]);
    let (status, body) = post_as(
        format!("{base}/contacts"),
        &app,
        json!({"properties": {"email": "eva@example.es", "holded_nif": "X"}}),
    )
    .await;
    assert_eq!(
        (status, required_scopes(&body)),
        (403, write_scope.clone()),
        "{body}"
    );
    assert_eq!(body["category"], "MISSING_SCOPES");
    let (status, body) = post_as(
        format!("{base}/contacts/batch/upsert"),
        &app,
        json!({"inputs": [{"id": "ana@example.es", "idProperty": "email", "properties": {"holded_nif": "Y"}}]}),
    )
    .await;
    assert_eq!(
        (status, required_scopes(&body)),
        (403, write_scope),
        "{body}"
    );
    let (status, body) = get_as(
        format!("{base}/contacts/ana@example.es?idProperty=email&properties=holded_nif"),
        &app,
    )
    .await;
    assert_eq!(
        (status, required_scopes(&body)),
        (403, read_scope.clone()),
        "{body}"
    );
    let (status, body) = post_as(
        format!("{base}/contacts/search"),
        &app,
        json!({"filterGroups": [{"filters": [{"propertyName": "holded_nif", "operator": "HAS_PROPERTY"}]}]}),
    )
    .await;
    assert_eq!(
        (status, required_scopes(&body)),
        (403, read_scope),
        "{body}"
    );
    let (status, body) = post_as(
        format!("{props_url}/deals"),
        &app,
        json!({"name": "holded_iban", "label": "IBAN", "type": "string", "fieldType": "text",
               "groupName": "dealinformation", "dataSensitivity": "sensitive"}),
    )
    .await;
    assert_eq!(
        (status, required_scopes(&body)),
        (403, json!(["crm.objects.deals.sensitive.write.v2"])),
        "{body}"
    );
    // Non-sensitive values stay open to the app.
    let (status, body) = get_as(
        format!("{base}/contacts/ana@example.es?idProperty=email&properties=email"),
        &app,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    sims.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_is_never_kinder_than_hubspot() {
    let (sims, _hub, _portal, _portal_id, token) = setup(Tier::Pro, false).await;
    let base = format!("{}/crm/objects/2026-09", sims.hubspot_url);

    // New records take a moment to appear in search by default.
    let (status, _) = post_as(
        format!("{base}/deals"),
        &token,
        json!({"properties": {"dealname": "Recién creado"}}),
    )
    .await;
    assert_eq!(status, 201);
    let by_name = json!({"filterGroups": [{"filters": [
        {"propertyName": "dealname", "operator": "EQ", "value": "Recién creado"}]}]});
    let (_, found) = post_as(format!("{base}/deals/search"), &token, by_name.clone()).await;
    assert_eq!(found["total"], 0, "{found}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (_, found) = post_as(format!("{base}/deals/search"), &token, by_name).await;
    assert_eq!(found["total"], 1, "{found}");

    // An unknown operator is a 400, not an empty result.
    let (status, body) = post_as(
        format!("{base}/deals/search"),
        &token,
        json!({"filterGroups": [{"filters": [
            {"propertyName": "dealname", "operator": "STARTS_WITH", "value": "R"}]}]}),
    )
    .await;
    assert_eq!(
        (status, &body["category"]),
        (400, &json!("VALIDATION_ERROR")),
        "{body}"
    );

    // Upsert and update inputs have no `associations`: whatever is sent there is ignored.
    let (_, company) = post_as(
        format!("{base}/companies"),
        &token,
        json!({"properties": {"name": "ACME"}}),
    )
    .await;
    let to_company = json!([{"to": {"id": company["id"]},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]);
    let (status, upserted) = post_as(
        format!("{base}/contacts/batch/upsert"),
        &token,
        json!({"inputs": [{"id": "eva@example.es", "idProperty": "email",
                           "properties": {"firstname": "Eva"}, "associations": to_company}]}),
    )
    .await;
    assert_eq!(status, 200, "{upserted}");
    let contact = upserted["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = post_as(
        format!("{base}/contacts/batch/update"),
        &token,
        json!({"inputs": [{"id": contact, "properties": {"lastname": "Gil"}, "associations": to_company}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, read) = get_as(
        format!("{base}/contacts/{contact}?associations=companies"),
        &token,
    )
    .await;
    assert_eq!(
        read["associations"]["companies"]["results"],
        json!([]),
        "{read}"
    );

    // Repeated objectWriteTraceIds make the batch untraced: one bad input fails it all.
    let (status, body) = post_as(
        format!("{base}/contacts/batch/create"),
        &token,
        json!({"inputs": [
            {"properties": {"email": "ok@example.es"}, "objectWriteTraceId": "t"},
            {"properties": {"email": "broken"}, "objectWriteTraceId": "t"}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = get_as(
        format!("{base}/contacts/ok@example.es?idProperty=email"),
        &token,
    )
    .await;
    assert_eq!(status, 404, "nothing landed");

    // Enumeration options need `hidden` (HubSpot's OptionInput requires it).
    let props_url = format!("{}/crm/properties/2026-09/deals", sims.hubspot_url);
    let tipo = |option: Value| {
        json!({"name": "holded_tipo", "label": "Tipo", "type": "enumeration", "fieldType": "select",
               "groupName": "dealinformation", "options": [option]})
    };
    let (status, body) = post_as(
        props_url.clone(),
        &token,
        tipo(json!({"label": "Factura", "value": "invoice", "displayOrder": 0})),
    )
    .await;
    assert_eq!(
        (status, &body["category"]),
        (400, &json!("VALIDATION_ERROR")),
        "{body}"
    );
    let (status, body) = post_as(
        props_url,
        &token,
        tipo(json!({"label": "Factura", "value": "invoice", "displayOrder": 0, "hidden": false})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    sims.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_limits_paging_restart_and_index_lag() {
    let (sims, _hub, portal, _, _token) = setup(Tier::Pro, false).await;
    sims.hubspot.set_settings(Settings {
        index_lag_ms: 400,
        ..Settings::default()
    });
    let inputs: Vec<CreateInput> = (0..250)
        .map(|i| {
            CreateInput::new(props(&[
                ("dealname", &format!("Pedido {i}")),
                ("amount", &format!("{}", i * 10)),
                ("dealstage", "qualifiedtobuy"),
            ]))
        })
        .collect();
    let since = Utc::now() - chrono::Duration::seconds(1);
    let created = portal
        .batch_create(ObjectType::Deals, &inputs)
        .await
        .expect("create");
    assert_eq!(created.results.len(), 250);
    let request = SearchRequest {
        filter_groups: vec![FilterGroup {
            filters: vec![Filter::new("dealstage", Operator::Eq, "qualifiedtobuy")],
        }],
        properties: vec!["dealname".into()],
        limit: 200,
        ..SearchRequest::default()
    };
    let immediately = portal
        .search(ObjectType::Deals, &request)
        .await
        .expect("search");
    assert_eq!(immediately.total, 0, "new writes are not searchable yet");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let page = portal
        .search(ObjectType::Deals, &request)
        .await
        .expect("search");
    assert_eq!(page.total, 250);
    assert_eq!(page.results.len(), 200);
    assert_eq!(page.next_after.as_deref(), Some("200"));
    let big = SearchRequest {
        filter_groups: vec![FilterGroup {
            filters: vec![Filter::new("amount", Operator::Gte, "2000")],
        }],
        limit: 10,
        ..SearchRequest::default()
    };
    assert_eq!(
        portal
            .search(ObjectType::Deals, &big)
            .await
            .expect("numeric")
            .total,
        50
    );
    let all = portal
        .search_modified_since(ObjectType::Deals, since, &[], &["dealname"])
        .await
        .expect("walk");
    assert_eq!(all.len(), 250);
    // Archived records drop out of search (after the lag).
    portal
        .archive(ObjectType::Deals, &created.results[0].id)
        .await
        .expect("archive");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        portal
            .search(ObjectType::Deals, &request)
            .await
            .expect("search")
            .total,
        249
    );

    // The simulator enforces HubSpot's limits itself.
    let http = support::http();
    let token = sims
        .hubspot
        .create_portal(NewPortal::default())
        .access_token;
    let url = format!("{}/crm/v3/objects/deals/search", sims.hubspot_url);
    let filter = json!({"propertyName": "amount", "operator": "GT", "value": "1"});
    for (body, why) in [
        (json!({"limit": 201}), "page > 200"),
        (json!({"limit": 100, "after": "9950"}), "beyond 10,000"),
        (
            json!({"filterGroups": [{"filters": vec![filter.clone(); 7]}]}),
            "7 filters in a group",
        ),
        (
            json!({"filterGroups": vec![json!({"filters": vec![filter.clone(); 4]}); 5]}),
            "20 filters",
        ),
        (
            json!({"sorts": [{"propertyName": "amount", "direction": "ASCENDING"}, {"propertyName": "dealname", "direction": "ASCENDING"}]}),
            "two sorts",
        ),
        (json!({"query": "x".repeat(3_100)}), "body > 3000 chars"),
    ] {
        // Paced under the 5 searches per second the simulator enforces.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let response = http
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{why}");
    }
    let ok = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"limit": 1}))
        .send()
        .await
        .expect("send");
    assert!(
        ok.headers().get("x-hubspot-ratelimit-max").is_none(),
        "search answers carry no rate-limit headers"
    );
    assert_schema(
        "CollectionResponseWithTotalSimplePublicObject",
        &ok.json::<Value>().await.expect("json"),
    );
    sims.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_search_restarts_before_the_10000_result_cap() {
    let (sims, _hub, portal, portal_id, _token) = setup(Tier::Pro, false).await;
    // Not about the index lag: seeded records are searchable at once.
    sims.hubspot.set_settings(Settings {
        index_lag_ms: 0,
        ..Settings::default()
    });
    let since = Utc::now() - chrono::Duration::seconds(1);
    let records: Vec<BTreeMap<String, String>> = (0..10_150)
        .map(|i| {
            [
                ("name".to_owned(), format!("Producto {i}")),
                ("price".to_owned(), "1".to_owned()),
            ]
            .into()
        })
        .collect();
    sims.hubspot
        .seed_records(
            portal_id,
            holded_hubspot_sim::hubspot::model::ObjType::Products,
            records,
        )
        .expect("seed");
    let all = portal
        .search_modified_since(ObjectType::Products, since, &[], &["name"])
        .await
        .expect("walk past 10,000");
    assert_eq!(all.len(), 10_150, "every record once");
    let distinct: std::collections::HashSet<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(distinct.len(), 10_150);
    assert_eq!(sims.hubspot.stats().rate_limited, 0);
    sims.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_pipelines_associations_timeline_tax_and_account() {
    let (sims, hub, portal, portal_id, _token) = setup(Tier::Pro, false).await;
    // Sensitive properties exist only on Enterprise.
    let sensitive = PropertyDefinition {
        name: "holded_nif".into(),
        label: "NIF (Holded)".into(),
        kind: "string".into(),
        field_type: "text".into(),
        group_name: "companyinformation".into(),
        description: Some("NIF/CIF".into()),
        has_unique_value: false,
        options: Vec::new(),
        data_sensitivity: Some("sensitive".into()),
    };
    assert!(
        portal
            .ensure_property(ObjectType::Companies, &sensitive)
            .await
            .is_err()
    );
    let enterprise = sims.hubspot.create_portal(NewPortal {
        tier: Tier::Enterprise,
        time_zone: "Atlantic/Canary".into(),
        app_events_approved: true,
    });
    let ent = hub.portal(
        enterprise.portal_id,
        Arc::new(MemoryTokenStore::new(Tokens::fixed(SecretString::from(
            enterprise.access_token,
        )))),
    );
    let created = ent
        .ensure_property(ObjectType::Companies, &sensitive)
        .await
        .expect("enterprise");
    assert_eq!(created.data_sensitivity.as_deref(), Some("sensitive"));
    assert_eq!(
        ent.get_property(ObjectType::Companies, "holded_nif", Some("sensitive"))
            .await
            .expect("read")
            .data_sensitivity
            .as_deref(),
        Some("sensitive")
    );
    assert_eq!(
        ent.account_details().await.expect("account").time_zone,
        "Atlantic/Canary"
    );

    // Enumeration property: options enforced on writes.
    let tipo = PropertyDefinition {
        name: "holded_tipo_documento".into(),
        label: "Tipo de documento (Holded)".into(),
        kind: "enumeration".into(),
        field_type: "select".into(),
        group_name: "dealinformation".into(),
        description: None,
        has_unique_value: false,
        options: vec![
            PropertyOption {
                label: "Factura".into(),
                value: "invoice".into(),
                display_order: 0,
                hidden: false,
            },
            PropertyOption {
                label: "Presupuesto".into(),
                value: "estimate".into(),
                display_order: 1,
                hidden: false,
            },
        ],
        data_sensitivity: None,
    };
    portal
        .ensure_property(ObjectType::Deals, &tipo)
        .await
        .expect("enum property");
    let list = portal
        .list_properties(ObjectType::Deals, None)
        .await
        .expect("list");
    assert!(
        list.iter()
            .any(|p| p.name == "holded_tipo_documento" && p.options.len() == 2)
    );
    let err = portal
        .create_object(
            ObjectType::Deals,
            &CreateInput::new(props(&[
                ("dealname", "X"),
                ("holded_tipo_documento", "Factura"),
            ])),
        )
        .await
        .expect_err("label instead of value");
    assert!(
        matches!(&err, HubspotError::Validation { property: Some(p), reason: Some(r), .. } if p == "holded_tipo_documento" && r == "INVALID_OPTION"),
        "{err:?}"
    );

    // Pipelines: default with seven stages, plus a custom one; cached per portal.
    sims.hubspot
        .add_pipeline(
            portal_id,
            holded_hubspot_sim::hubspot::NewPipeline {
                label: "Facturación".into(),
                stages: vec![
                    holded_hubspot_sim::hubspot::NewStage {
                        label: "Borrador".into(),
                        probability: None,
                        is_closed: false,
                    },
                    holded_hubspot_sim::hubspot::NewStage {
                        label: "Facturar".into(),
                        probability: Some("1.0".into()),
                        is_closed: true,
                    },
                ],
            },
        )
        .expect("pipeline");
    let pipelines = portal.deal_pipelines().await.expect("pipelines");
    let default = pipelines
        .iter()
        .find(|p| p.id == "default")
        .expect("default pipeline");
    assert_eq!(
        default
            .stages
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        [
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "closedwon",
            "closedlost"
        ]
    );
    assert_eq!(
        default
            .stage("closedwon")
            .map(|s| s.metadata["isClosed"].as_str()),
        Some("true")
    );
    let custom = pipelines
        .iter()
        .find(|p| p.label == "Facturación")
        .expect("custom")
        .clone();
    let calls = portal.calls_used();
    portal.deal_pipelines().await.expect("cached");
    assert_eq!(portal.calls_used(), calls, "pipelines come from the cache");
    // A stage of another pipeline is refused.
    let err = portal
        .create_object(
            ObjectType::Deals,
            &CreateInput::new(props(&[
                ("dealname", "X"),
                ("pipeline", "default"),
                ("dealstage", &custom.stages[0].id),
            ])),
        )
        .await
        .expect_err("stage of another pipeline");
    assert!(
        matches!(&err, HubspotError::Validation { property: Some(p), .. } if p == "dealstage"),
        "{err:?}"
    );
    let in_custom = portal
        .create_object(
            ObjectType::Deals,
            &CreateInput::new(props(&[
                ("dealname", "Y"),
                ("pipeline", &custom.id),
                ("dealstage", &custom.stages[1].id),
            ])),
        )
        .await
        .expect("custom stage");

    // Associations: seeded deal with line items, company and contact.
    let seeded = sims
        .hubspot
        .seed_deal(
            portal_id,
            SeedDeal {
                properties: [
                    ("dealname".to_owned(), "Obra".to_owned()),
                    ("dealstage".to_owned(), "contractsent".to_owned()),
                ]
                .into(),
                line_items: vec![
                    [
                        ("name", "Ladrillo"),
                        ("quantity", "3"),
                        ("price", "10.50"),
                        ("hs_discount_percentage", "10"),
                    ]
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                    [("name", "Cemento"), ("quantity", "1"), ("price", "7")]
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ],
                company: Some([("name".to_owned(), "Construcciones SL".to_owned())].into()),
                contact: Some([("email".to_owned(), "obra@example.es".to_owned())].into()),
            },
        )
        .expect("seed");
    let deal = seeded.deal_id.to_string();
    let lines = portal
        .associations(
            ObjectType::Deals,
            ObjectType::LineItems,
            std::slice::from_ref(&deal),
        )
        .await
        .expect("line items");
    assert_eq!(lines[&deal].len(), 2);
    assert!(
        lines[&deal]
            .iter()
            .all(|a| a.type_ids == [types::DEAL_TO_LINE_ITEM])
    );
    let companies = portal
        .associations(
            ObjectType::Deals,
            ObjectType::Companies,
            std::slice::from_ref(&deal),
        )
        .await
        .expect("companies");
    let mut company_types = companies[&deal][0].type_ids.clone();
    company_types.sort();
    assert_eq!(
        company_types,
        [types::DEAL_TO_COMPANY_PRIMARY, types::DEAL_TO_COMPANY]
    );
    let items = portal
        .batch_read(
            ObjectType::LineItems,
            &lines[&deal]
                .iter()
                .map(|a| a.to_id.clone())
                .collect::<Vec<_>>(),
            &["name", "amount", "price"],
            None,
        )
        .await
        .expect("line items");
    let ladrillo = items
        .results
        .iter()
        .find(|r| r.get("name") == Some("Ladrillo"))
        .expect("ladrillo");
    assert_eq!(
        ladrillo
            .get("amount")
            .map(|a| a.parse::<rust_decimal::Decimal>().expect("decimal")),
        Some(rust_decimal_macros::dec!(28.35))
    );
    // Create associations: contact → company (primary) and deal → contact.
    let contact = portal
        .create_object(
            ObjectType::Contacts,
            &CreateInput::new(props(&[("email", "nuevo@example.es")])),
        )
        .await
        .expect("contact");
    portal
        .associate(
            ObjectType::Contacts,
            ObjectType::Companies,
            &[AssociationInput {
                from_id: contact.id.clone(),
                to_id: seeded.company_id.expect("company").to_string(),
                type_id: types::CONTACT_TO_COMPANY_PRIMARY,
            }],
        )
        .await
        .expect("associate");
    portal
        .associate(
            ObjectType::Deals,
            ObjectType::Contacts,
            &[AssociationInput {
                from_id: in_custom.id.clone(),
                to_id: contact.id.clone(),
                type_id: types::DEAL_TO_CONTACT,
            }],
        )
        .await
        .expect("associate deal");
    let back = portal
        .associations(
            ObjectType::Contacts,
            ObjectType::Deals,
            std::slice::from_ref(&contact.id),
        )
        .await
        .expect("inverse");
    assert_eq!(back[&contact.id][0].to_id, in_custom.id);
    assert_eq!(back[&contact.id][0].type_ids, [4]);

    // Timeline: app events refused until approved; notes always work.
    let event_type = sims.hubspot.register_app_event_type("holded_deal_event");
    let event = AppEvent {
        event_type_name: event_type.clone(),
        id: "evt-1".into(),
        object_id: deal.clone(),
        timestamp: Utc::now(),
        properties: [("docNumber".to_owned(), "F-2026-001".to_owned())].into(),
    };
    let refused = portal
        .send_app_events(std::slice::from_ref(&event))
        .await
        .expect_err("not approved");
    assert!(
        matches!(refused, HubspotError::Refused { status: 403, .. }),
        "a 403 is a refusal, not a revoked install: {refused:?}"
    );
    let note = portal
        .add_deal_note(&deal, "Holded · Factura F-2026-001 creada", Utc::now())
        .await
        .expect("note");
    let notes = portal
        .associations(
            ObjectType::Deals,
            ObjectType::Notes,
            std::slice::from_ref(&deal),
        )
        .await
        .expect("notes");
    assert_eq!(notes[&deal][0].to_id, note.id);
    let ent_deal = ent
        .create_object(
            ObjectType::Deals,
            &CreateInput::new(props(&[("dealname", "E")])),
        )
        .await
        .expect("deal");
    let approved = AppEvent {
        object_id: ent_deal.id.clone(),
        ..event
    };
    assert_eq!(
        ent.send_app_events(std::slice::from_ref(&approved))
            .await
            .expect("approved"),
        1
    );
    assert_eq!(
        sims.hubspot.dump(enterprise.portal_id).expect("dump")["app_events"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Tax rates and account details.
    sims.hubspot
        .add_tax_rate(
            portal_id,
            NewTaxRate {
                name: "IVA 21".into(),
                label: "IVA general".into(),
                percentage_rate: 21.into(),
            },
        )
        .expect("tax");
    let rates = portal.tax_rates().await.expect("tax rates");
    assert_eq!(rates.len(), 1);
    assert_eq!(rates[0].percentage_rate, rust_decimal_macros::dec!(21));
    let account = portal.account_details().await.expect("account");
    assert_eq!(account.time_zone, "Europe/Madrid");
    assert!(account.tz().is_some());
    sims.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_times_the_allowed_rate_never_gets_a_ten_secondly_429() {
    let (sims, _hub, _, portal_id, token) = setup(Tier::Pro, false).await;
    // Default client limits and retry policy: the real numbers.
    let client = hubspot(&sims, RetryPolicy::default());
    let portal = client.portal(
        portal_id,
        Arc::new(MemoryTokenStore::new(Tokens::fixed(SecretString::from(
            token,
        )))),
    );
    let started = Instant::now();
    // 330 calls issued all at once: 3× the 110 allowed in a 10 s window.
    let results: Vec<_> = stream::iter(0..330)
        .map(|_| {
            let portal = portal.clone();
            async move { portal.account_details().await }
        })
        .buffer_unordered(330)
        .collect()
        .await;
    let elapsed = started.elapsed();
    assert!(results.iter().all(Result::is_ok));
    let stats = sims.hubspot.stats();
    assert_eq!(
        stats.by_portal[&portal_id].rate_limited, 0,
        "no 429 on the ten-second policy"
    );
    assert_eq!(stats.by_portal[&portal_id].requests, 330);
    assert_eq!(portal.calls_used(), 330);
    assert!(
        elapsed >= Duration::from_secs(20),
        "the limiter spread the calls: {elapsed:?}"
    );
    // Searches at 3× their 5/s limit: none refused either.
    let request = SearchRequest {
        limit: 1,
        ..SearchRequest::default()
    };
    let searches: Vec<_> = stream::iter(0..15)
        .map(|_| {
            let portal = portal.clone();
            let request = request.clone();
            async move { portal.search(ObjectType::Deals, &request).await }
        })
        .buffer_unordered(15)
        .collect()
        .await;
    assert!(searches.iter().all(Result::is_ok));
    assert_eq!(sims.hubspot.stats().rate_limited, 0);
    sims.stop().await;
}

/// A 429 says HubSpot did not do it and when to come back: a rate-limit
/// storm on top of failing answers is waited out, its waits counted apart
/// from the retries of failures (10 × 429 and 5 × 503 here, with 8 retries).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_storm_does_not_use_up_the_retries_of_failures() {
    let (sims, _hub, portal, portal_id, _token) = setup(Tier::Pro, false).await;
    let fault = |kind: &str, count: u32| Fault {
        kind: kind.into(),
        status: Some(503),
        delay_ms: None,
        count: Some(count),
        rate: None,
        path_contains: Some("/account-info".into()),
        portal_id: Some(portal_id),
    };
    sims.hubspot.add_fault(fault("server_error", 5));
    sims.hubspot.add_fault(fault("rate_limit", 10));
    let details = portal
        .account_details()
        .await
        .expect("waited out and retried until success");
    assert_eq!(details.portal_id, portal_id);
    assert_eq!(portal.calls_used(), 16, "5 × 503 + 10 × 429 + success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_429_5xx_423_and_timeouts_are_retried_daily_limit_stops_the_portal() {
    let (sims, _hub, portal, portal_id, _token) = setup(Tier::Pro, false).await;
    let fault = |kind: &str, count: u32| Fault {
        kind: kind.into(),
        status: None,
        delay_ms: None,
        count: Some(count),
        rate: None,
        path_contains: Some("/account-info".into()),
        portal_id: Some(portal_id),
    };
    sims.hubspot.add_fault(fault("rate_limit", 2));
    sims.hubspot.add_fault(Fault {
        status: Some(503),
        ..fault("server_error", 2)
    });
    sims.hubspot.add_fault(fault("locked", 1));
    sims.hubspot.add_fault(Fault {
        delay_ms: Some(2_500),
        ..fault("timeout", 1)
    });
    let details = portal
        .account_details()
        .await
        .expect("retried until success");
    assert_eq!(details.portal_id, portal_id);
    assert_eq!(
        portal.calls_used(),
        7,
        "2×429 + 2×503 + 423 + timeout + success"
    );
    let stats = sims.hubspot.stats();
    assert_eq!(stats.by_portal[&portal_id].rate_limited, 2);

    // Search 429 ("secondly") is retried too.
    sims.hubspot.add_fault(Fault {
        path_contains: Some("/search".into()),
        ..fault("search_limit", 1)
    });
    portal
        .search(
            ObjectType::Deals,
            &SearchRequest {
                limit: 1,
                ..SearchRequest::default()
            },
        )
        .await
        .expect("search retried");

    // A 400 is not retried.
    let before = portal.calls_used();
    assert!(
        portal
            .create_object(
                ObjectType::Deals,
                &CreateInput::new(props(&[("nope", "x")]))
            )
            .await
            .is_err()
    );
    assert_eq!(portal.calls_used() - before, 1);

    // A create that met a 5xx may have landed: not repeated (no duplicates), reported.
    sims.hubspot.add_fault(Fault {
        status: Some(502),
        path_contains: Some("/batch/create".into()),
        ..fault("server_error", 1)
    });
    let before = portal.calls_used();
    let err = portal
        .batch_create(
            ObjectType::Deals,
            &[CreateInput::new(props(&[("dealname", "Una vez")]))],
        )
        .await
        .expect_err("not retried");
    assert!(
        matches!(err, HubspotError::Server { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(portal.calls_used() - before, 1);
    // The same write as an update is retried.
    let deal = portal
        .create_object(
            ObjectType::Deals,
            &CreateInput::new(props(&[("dealname", "Base")])),
        )
        .await
        .expect("deal");
    sims.hubspot.add_fault(Fault {
        status: Some(502),
        path_contains: Some("/batch/update".into()),
        ..fault("server_error", 1)
    });
    portal
        .batch_update(
            ObjectType::Deals,
            &[UpdateInput::new(deal.id, props(&[("dealname", "Otra")]))],
        )
        .await
        .expect("update retried");

    // DAILY: the portal stops until the reset, clearly reported, without more calls.
    sims.hubspot.add_fault(fault("daily_limit", 1));
    let err = portal.account_details().await.expect_err("daily");
    let HubspotError::DailyLimit {
        portal_id: blocked,
        until,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(blocked, portal_id);
    assert!(until > Utc::now());
    assert!(err.to_string().contains("límite diario"));
    let requests = sims.hubspot.stats().by_portal[&portal_id].requests;
    assert!(matches!(
        portal.get_object(ObjectType::Deals, "1", &[]).await,
        Err(HubspotError::DailyLimit { .. })
    ));
    assert_eq!(
        sims.hubspot.stats().by_portal[&portal_id].requests,
        requests,
        "no request while stopped"
    );
    sims.stop().await;
}

/// What the test's webhook receiver saw.
#[derive(Default)]
struct Received {
    events: Vec<Value>,
    requests: usize,
    failures_left: usize,
    /// Answers this many deliveries too late (after the sender's timeout).
    slow_left: usize,
    verified: usize,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<(Mutex<Received>, String)>,
) -> HttpResponse {
    let (received, url) = state.get_ref();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let secret = SecretString::from(CLIENT_SECRET);
    let signed = SignedRequest {
        method: req.method().as_str(),
        uri: url,
        body: &body,
    };
    let v3 = verify_v3(
        &secret,
        &signed,
        header("X-HubSpot-Signature-v3").as_deref(),
        header("X-HubSpot-Request-Timestamp").as_deref(),
        Utc::now(),
    );
    let v1 = verify_v1(&secret, &body, header("X-HubSpot-Signature").as_deref());
    let answer_late = {
        let mut r = received.lock().expect("lock");
        r.requests += 1;
        if v3.is_err() || v1.is_err() {
            return HttpResponse::Unauthorized().finish();
        }
        r.verified += 1;
        if r.failures_left > 0 {
            r.failures_left -= 1;
            return HttpResponse::InternalServerError().finish();
        }
        if r.slow_left == 0 {
            let events: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
            r.events.extend(events);
            false
        } else {
            r.slow_left -= 1;
            true
        }
    };
    if answer_late {
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    HttpResponse::Ok().finish()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deal_stage_webhooks_are_signed_batched_retried_duplicated_and_reordered() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/webhooks/hubspot?source=e2e",
        listener.local_addr().expect("addr")
    );
    let state = web::Data::new((
        Mutex::new(Received {
            failures_left: 2,
            ..Received::default()
        }),
        url.clone(),
    ));
    let server_state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(server_state.clone())
            .route("/webhooks/hubspot", web::post().to(receive))
    })
    .listen(listener)
    .expect("listen")
    .workers(1)
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(server);

    let sims = support::sims().await;
    sims.hubspot.register_app(app_config(Some(url.clone())));
    let created = sims.hubspot.create_portal(NewPortal::default());
    let hub = hubspot(&sims, quick_retry());
    let tokens = install(&hub).await;
    let portal = hub.portal(created.portal_id, Arc::new(MemoryTokenStore::new(tokens)));
    let seeded = sims
        .hubspot
        .seed_deal(
            created.portal_id,
            SeedDeal {
                properties: [
                    ("dealname".to_owned(), "Obra".to_owned()),
                    ("dealstage".to_owned(), "appointmentscheduled".to_owned()),
                ]
                .into(),
                ..SeedDeal::default()
            },
        )
        .expect("seed");

    // A user moves the deal in HubSpot; the first two deliveries fail and are retried.
    sims.hubspot
        .move_deal(created.portal_id, seeded.deal_id, "closedwon")
        .expect("move");
    wait_for("the user's event", || {
        !state.0.lock().expect("lock").events.is_empty()
    })
    .await;
    {
        let r = state.0.lock().expect("lock");
        assert_eq!(
            r.verified, r.requests,
            "every delivery verifies (v3 and v1)"
        );
        let event = &r.events[0];
        assert_eq!(event["subscriptionType"], "object.propertyChange");
        assert_eq!(event["objectTypeId"], "0-3");
        assert_eq!(event["propertyName"], "dealstage");
        assert_eq!(event["propertyValue"], "closedwon");
        assert_eq!(event["changeSource"], "CRM_UI");
        assert_eq!(event["objectId"], json!(seeded.deal_id));
        assert_eq!(event["portalId"], json!(created.portal_id));
        assert_eq!(event["attemptNumber"], 2, "third attempt delivered");
    }
    let attempts: Vec<u32> = sims
        .hubspot
        .deliveries()
        .iter()
        .map(|d| d.attempt)
        .collect();
    assert_eq!(attempts, [0, 1, 2]);

    // The app's own write: INTEGRATION with our app id.
    portal
        .batch_update(
            ObjectType::Deals,
            &[UpdateInput::new(
                seeded.deal_id.to_string(),
                props(&[("dealstage", "contractsent")]),
            )],
        )
        .await
        .expect("update");
    wait_for("the app's event", || {
        state.0.lock().expect("lock").events.len() >= 2
    })
    .await;
    {
        let r = state.0.lock().expect("lock");
        assert_eq!(r.events[1]["changeSource"], "INTEGRATION");
        assert_eq!(r.events[1]["sourceId"], APP_ID.to_string());
    }

    // Several changes in one flush arrive as one array; duplicate and reorder on demand.
    sims.hubspot.set_webhook_faults(WebhookFaults {
        duplicate_next: 1,
        reorder_next: 1,
    });
    let more: Vec<_> = (0..3)
        .map(|i| {
            sims.hubspot
                .seed_deal(
                    created.portal_id,
                    SeedDeal {
                        properties: [
                            ("dealname".to_owned(), format!("D{i}")),
                            ("dealstage".to_owned(), "qualifiedtobuy".to_owned()),
                        ]
                        .into(),
                        ..SeedDeal::default()
                    },
                )
                .expect("seed")
                .deal_id
        })
        .collect();
    for deal in &more {
        sims.hubspot
            .move_deal(created.portal_id, *deal, "closedlost")
            .expect("move");
    }
    wait_for("the duplicated batch", || {
        state.0.lock().expect("lock").events.len() >= 8
    })
    .await;
    {
        let r = state.0.lock().expect("lock");
        let batch: Vec<u64> = r.events[2..5]
            .iter()
            .filter_map(|e| e["objectId"].as_u64())
            .collect();
        assert_eq!(
            batch,
            more.iter().rev().copied().collect::<Vec<_>>(),
            "reordered"
        );
        assert_eq!(r.events[2..5], r.events[5..8], "duplicated");
        assert_eq!(r.verified, r.requests);
    }

    // An answer slower than the timeout (5 s at HubSpot, 300 ms here) counts as failed and is retried.
    sims.hubspot.register_app(AppConfig {
        webhook_timeout_ms: 300,
        ..app_config(Some(url.clone()))
    });
    state.0.lock().expect("lock").slow_left = 1;
    sims.hubspot
        .move_deal(created.portal_id, more[0], "closedwon")
        .expect("move");
    wait_for("the retried slow delivery", || {
        state.0.lock().expect("lock").events.len() >= 9
    })
    .await;
    let last: Vec<(u32, Option<u16>)> = sims
        .hubspot
        .deliveries()
        .iter()
        .rev()
        .take(2)
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(
        last,
        [(1, Some(200)), (0, None)],
        "timed out, then delivered"
    );

    // Never more than 100 events per POST.
    let records: Vec<BTreeMap<String, String>> = (0..150)
        .map(|i| {
            [
                ("dealname".to_owned(), format!("M{i}")),
                ("dealstage".to_owned(), "qualifiedtobuy".to_owned()),
            ]
            .into()
        })
        .collect();
    let ids = sims
        .hubspot
        .seed_records(
            created.portal_id,
            holded_hubspot_sim::hubspot::model::ObjType::Deals,
            records,
        )
        .expect("seed");
    let before = sims.hubspot.deliveries().len();
    for id in &ids {
        sims.hubspot
            .move_deal(created.portal_id, *id, "closedwon")
            .expect("move");
    }
    wait_for("150 more events", || {
        state.0.lock().expect("lock").events.len() >= 159
    })
    .await;
    let sizes: Vec<usize> = sims.hubspot.deliveries()[before..]
        .iter()
        .map(|d| d.events.len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 150);
    assert!(
        sizes.len() >= 2 && sizes.iter().all(|n| *n <= 100),
        "{sizes:?}"
    );
    sims.stop().await;
    handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_answers_carry_the_published_required_fields() {
    let (sims, _hub, portal, portal_id, _token) = setup(Tier::Pro, true).await;
    let http = support::http();
    let token = sims.hubspot.create_portal(NewPortal {
        app_events_approved: true,
        ..NewPortal::default()
    });
    let base = &sims.hubspot_url;
    let get = |path: String| {
        let http = http.clone();
        let token = token.access_token.clone();
        async move {
            let response = http
                .get(path)
                .bearer_auth(token)
                .send()
                .await
                .expect("send");
            let headers = response.headers().clone();
            (
                response.status().as_u16(),
                headers,
                response.json::<Value>().await.expect("json"),
            )
        }
    };
    let post = |path: String, body: Value| {
        let http = http.clone();
        let token = token.access_token.clone();
        async move {
            let response = http
                .post(path)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("send");
            (
                response.status().as_u16(),
                response.json::<Value>().await.expect("json"),
            )
        }
    };
    let (status, headers, pipelines) = get(format!("{base}/crm/pipelines/2026-09/deals")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-hubspot-ratelimit-max"], "110");
    assert_eq!(
        headers["x-hubspot-ratelimit-interval-milliseconds"],
        "10000"
    );
    assert_schema("CollectionResponsePipelineNoPaging", &pipelines);
    assert_schema("Pipeline", &pipelines["results"][0]);
    assert_schema("PipelineStage", &pipelines["results"][0]["stages"][0]);

    let (_, _, properties) = get(format!("{base}/crm/properties/2026-09/contacts")).await;
    assert_schema("Property", &properties["results"][0]);
    let (status, group) = post(
        format!("{base}/crm/properties/2026-09/deals/groups"),
        json!({"name": "holded", "label": "Holded", "displayOrder": -1}),
    )
    .await;
    assert_eq!(status, 201);
    assert_schema("PropertyGroup", &group);

    let (status, created) = post(
        format!("{base}/crm/objects/2026-09/deals/batch/create"),
        json!({"inputs": [
            {"properties": {"dealname": "A", "dealstage": "closedwon"}, "objectWriteTraceId": "t1"},
            {"properties": {"dealname": "B", "dealstage": "nowhere"}, "objectWriteTraceId": "t2"}
        ]}),
    )
    .await;
    assert_eq!(status, 207);
    assert_schema("BatchResponseSimplePublicObject", &created);
    assert_schema("SimplePublicObject", &created["results"][0]);
    assert_schema("StandardError", &created["errors"][0]);
    assert_eq!(
        created["errors"][0]["context"]["objectWriteTraceId"],
        json!(["t2"])
    );
    assert!(
        created["results"][0]["properties"]["dealname"].is_string(),
        "values are strings"
    );
    let deal_id = created["results"][0]["id"].as_str().expect("id").to_owned();

    let (status, upserted) = post(format!("{base}/crm/objects/2026-09/contacts/batch/upsert"), json!({"inputs": [
        {"id": "u@example.es", "idProperty": "email", "properties": {"firstname": "U"}, "objectWriteTraceId": "u1"}
    ]})).await;
    assert_eq!(status, 200);
    assert_schema("BatchResponseSimplePublicUpsertObject", &upserted);
    assert_schema("SimplePublicUpsertObject", &upserted["results"][0]);
    let contact_id = upserted["results"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (status, linked) = post(format!("{base}/crm/associations/2026-09/deals/contacts/batch/create"), json!({"inputs": [
        {"from": {"id": deal_id}, "to": {"id": contact_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}
    ]})).await;
    assert_eq!(status, 200);
    assert_schema("BatchResponseLabelsBetweenObjectPair", &linked);
    assert_schema("LabelsBetweenObjectPair", &linked["results"][0]);
    let (_, read) = post(
        format!("{base}/crm/associations/2026-09/deals/contacts/batch/read"),
        json!({"inputs": [{"id": deal_id}]}),
    )
    .await;
    assert_schema("BatchResponsePublicAssociationMultiWithLabel", &read);
    assert_schema("PublicAssociationMultiWithLabel", &read["results"][0]);
    assert_schema(
        "MultiAssociatedObjectWithLabel",
        &read["results"][0]["to"][0],
    );
    assert_schema(
        "AssociationSpecWithLabel",
        &read["results"][0]["to"][0]["associationTypes"][0],
    );
    let too_many: Vec<Value> = (0..1_001).map(|i| json!({"id": i.to_string()})).collect();
    let (status, _) = post(
        format!("{base}/crm/associations/2026-09/deals/contacts/batch/read"),
        json!({"inputs": too_many}),
    )
    .await;
    assert_eq!(status, 400, "1,000 ids per read");

    sims.hubspot
        .add_tax_rate(
            token.portal_id,
            NewTaxRate {
                name: "IVA 10".into(),
                label: "IVA reducido".into(),
                percentage_rate: 10.into(),
            },
        )
        .expect("tax");
    let (_, _, rates) = get(format!("{base}/tax-rates/2026-09/tax-rates")).await;
    assert_schema("CollectionResponsePublicTaxRateGroupForwardPaging", &rates);
    assert_schema("PublicTaxRateGroup", &rates["results"][0]);

    let event_type = sims.hubspot.register_app_event_type("holded_deal_event");
    let (status, events) = post(format!("{base}/integrators/timeline/2026-03/events/batch"), json!({"inputs": [
        {"eventTypeName": event_type, "id": "e1", "objectId": deal_id, "properties": {"docNumber": "F1"}}
    ]})).await;
    assert_eq!(status, 200);
    assert_schema("BatchResponseAppEventOccurrence", &events);
    assert_schema("AppEventOccurrence", &events["results"][0]);

    let (_, _, account) = get(format!("{base}/account-info/2026-03/details")).await;
    assert_eq!(account["timeZone"], "Europe/Madrid");

    // OAuth answers.
    let form = http
        .post(format!("{base}/oauth/2026-03/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", "nope"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(form.status(), 400);
    let error: Value = form.json().await.expect("json");
    assert_eq!(error["error"], "invalid_grant");
    assert_eq!(error["status"], "BAD_REFRESH_TOKEN");
    let hub = hubspot(&sims, quick_retry());
    sims.hubspot.set_install_portal(portal_id).expect("portal");
    let tokens = install(&hub).await;
    let refreshed = http
        .post(format!("{base}/oauth/v1/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            (
                "refresh_token",
                secrecy::ExposeSecret::expose_secret(
                    tokens.refresh_token.as_ref().expect("refresh"),
                ),
            ),
        ])
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    assert_schema("AccessTokenResponse", &refreshed);
    assert_eq!(refreshed["expires_in"], 1800);
    let info = http
        .post(format!("{base}/oauth/2026-03/token/introspect"))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", refreshed["access_token"].as_str().expect("token")),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .expect("send")
        .json::<Value>()
        .await
        .expect("json");
    assert_schema("PublicAccessTokenInfoResponse", &info);
    let expired = {
        sims.hubspot.advance_clock(chrono::Duration::seconds(1_801));
        http.get(format!("{base}/crm/pipelines/2026-09/deals"))
            .bearer_auth(refreshed["access_token"].as_str().expect("token"))
            .send()
            .await
            .expect("send")
    };
    assert_eq!(expired.status(), 401);
    let body: Value = expired.json().await.expect("json");
    assert_eq!(body["category"], "EXPIRED_AUTHENTICATION");
    assert_schema("Error", &body);

    // The control surface speaks JSON too.
    let stats: Value = http
        .get(format!("{base}/_sim/hubspot/stats"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(stats["total"].as_u64().unwrap_or(0) > 5);
    assert!(
        stats["by_endpoint"]["GET /crm/pipelines/2026-09/deals"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    );
    let dump: Value = http
        .get(format!(
            "{base}/_sim/hubspot/portals/{}/dump",
            token.portal_id
        ))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(dump["records"]["deals"].as_array().map(Vec::len), Some(1));
    let _ = portal;
    sims.stop().await;
}
