//! Installing the app through the real OAuth redirects and provisioning the
//! portal's CRM properties (issue: install, provisioning, settings).

use holded_hubspot::{
    crypto::Cipher,
    store::{Store, entities::portal},
};
use holded_hubspot_sim::hubspot::{Fault, model::Tier};
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::support::{Engine, Stack, no_redirects};

fn custom_property<'a>(dump: &'a Value, object: &str, name: &str) -> &'a Value {
    dump["custom_properties"][object]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{object}.{name} provisioned: {}", dump["custom_properties"]))
}

fn property_writes(stack: &Stack) -> u64 {
    let stats = stack.sims.hubspot.stats();
    stats
        .by_endpoint
        .iter()
        .filter(|(endpoint, _)| endpoint.starts_with("POST /crm/properties/"))
        .map(|(_, count)| count)
        .sum()
}

async fn install_provisions_the_portal(engine: Engine) {
    let stack = Stack::start(engine, &[]).await;
    let (portal_id, page) = stack.install(Tier::Pro).await;
    assert!(page.contains("está instalada"), "{page}");
    assert!(page.contains("Europe/Madrid"));

    // Tokens are stored sealed, and the portal is connected.
    let store: Store = stack.db.store().await;
    let row = portal::Entity::find_by_id(portal_id)
        .one(store.db())
        .await
        .unwrap()
        .expect("portal row");
    assert_eq!(row.status, "connected");
    assert!(row.provisioned_at.is_some());
    assert!(
        !row.sensitive_supported,
        "a Pro portal cannot hold sensitive data"
    );
    let sealed = row.access_token_enc.expect("sealed access token");
    assert!(
        sealed.starts_with("hh2.") && !sealed.contains("sim-at"),
        "{sealed}"
    );
    assert!(
        row.refresh_token_enc
            .expect("sealed refresh")
            .starts_with("hh2.")
    );
    assert!(
        Cipher::new(holded_hubspot::crypto::SecretKey::generate())
            .open(
                &sealed,
                holded_hubspot::store::portal_tokens::access_token_slot(portal_id)
            )
            .is_err(),
        "only the service's key opens it"
    );

    // The properties exist with the right types, options and unique flags.
    let dump = stack.sims.hubspot.dump(portal_id as u64).unwrap();
    for object in ["contacts", "companies", "deals"] {
        let id = custom_property(&dump, object, "holded_id");
        assert_eq!(id["hasUniqueValue"], true, "{object}: {id}");
        assert_eq!(id["groupName"], "holded");
    }
    assert_eq!(
        custom_property(&dump, "products", "holded_id")["hasUniqueValue"],
        false
    );
    let doc_type = custom_property(&dump, "deals", "holded_tipo_documento");
    assert_eq!(doc_type["type"], "enumeration");
    let labels: Vec<&str> = doc_type["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["Presupuesto", "Proforma", "Albarán", "Factura", "Pedido"]
    );
    let associate = custom_property(&dump, "deals", "holded_asociar_documento_a");
    assert_eq!(associate["fieldType"], "radio");
    for name in [
        "holded_numero_documento",
        "holded_enlace",
        "holded_estado_sync",
        "holded_error",
    ] {
        custom_property(&dump, "deals", name);
    }
    let sensitive = dump["custom_properties"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "holded_nif");
    assert!(
        !sensitive,
        "sensitive properties only when sensitive data is on"
    );

    // Installing again changes nothing: no property is created the second time.
    let writes = property_writes(&stack);
    let before = stack.sims.hubspot.dump(portal_id as u64).unwrap()["custom_properties"].clone();
    let page = stack.install_again(portal_id as u64).await;
    assert!(page.contains("creadas ahora: 0"), "{page}");
    let after = stack.sims.hubspot.dump(portal_id as u64).unwrap()["custom_properties"].clone();
    assert_eq!(before, after);
    let new_writes = property_writes(&stack) - writes;
    assert!(
        new_writes <= 4,
        "only the 4 group probes may POST again, saw {new_writes}"
    );
}

#[tokio::test]
async fn install_through_oauth_provisions_the_portal_on_sqlite() {
    install_provisions_the_portal(Engine::Sqlite).await;
}

#[tokio::test]
async fn install_through_oauth_provisions_the_portal_on_postgres() {
    install_provisions_the_portal(Engine::Postgres).await;
}

#[tokio::test]
async fn a_provisioning_that_failed_halfway_completes_on_the_next_install() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let portal = stack
        .sims
        .hubspot
        .create_portal(holded_hubspot_sim::hubspot::NewPortal {
            tier: Tier::Pro,
            ..Default::default()
        });
    // Deal properties fail with a persistent server error: contacts, companies
    // and products get theirs, deals do not.
    stack.sims.hubspot.add_fault(Fault {
        kind: "server_error".into(),
        status: Some(503),
        delay_ms: None,
        count: None,
        rate: None,
        path_contains: Some("/crm/properties/2026-09/deals".into()),
        portal_id: Some(portal.portal_id),
    });
    stack
        .sims
        .hubspot
        .set_install_portal(portal.portal_id)
        .unwrap();
    let (status, page) = stack.oauth_dance().await;
    assert_eq!(status, 502, "{page}");
    assert!(
        page.contains("Vuelve a instalar la app para completarla"),
        "{page}"
    );
    let store = stack.db.store().await;
    let row = store
        .portal(portal.portal_id as i64)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "installing");
    assert!(
        row.status_reason
            .unwrap()
            .contains("La instalación no terminó")
    );
    let dump = stack.sims.hubspot.dump(portal.portal_id).unwrap();
    assert!(
        dump["custom_properties"]["deals"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    custom_property(&dump, "contacts", "holded_id");

    stack.sims.hubspot.clear_faults();
    let page = stack.install_again(portal.portal_id).await;
    assert!(page.contains("está instalada"), "{page}");
    let dump = stack.sims.hubspot.dump(portal.portal_id).unwrap();
    custom_property(&dump, "deals", "holded_tipo_documento");
    let row = store
        .portal(portal.portal_id as i64)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "connected");
}

#[tokio::test]
async fn install_links_are_single_use_and_forged_states_are_refused() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let portal = stack.sims.hubspot.create_portal(Default::default());
    stack
        .sims
        .hubspot
        .set_install_portal(portal.portal_id)
        .unwrap();
    let client = no_redirects();
    let start = client
        .get(format!("{}/oauth/install", stack.service.url))
        .send()
        .await
        .unwrap();
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    let approved = client.get(&authorize).send().await.unwrap();
    let callback = approved.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(client.get(&callback).send().await.unwrap().status(), 200);
    // The same callback again (a replayed link) is refused.
    let replay = client.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    assert!(
        replay
            .text()
            .await
            .unwrap()
            .contains("no es válido o ha caducado")
    );
    // A forged state is refused before any token exchange.
    let exchanges = stack.sims.hubspot.stats().by_endpoint.clone();
    let forged = client
        .get(format!(
            "{}/oauth/callback?code=abc&state=forged.state",
            stack.service.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(
        stack.sims.hubspot.stats().by_endpoint,
        exchanges,
        "no call to HubSpot"
    );
    // HubSpot's own refusal is shown in Spanish.
    let refused = client
        .get(format!(
            "{}/oauth/callback?error=access_denied&error_description=El%20usuario%20cancel%C3%B3",
            stack.service.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("El usuario canceló"));
}

#[tokio::test]
async fn an_enterprise_portal_can_hold_sensitive_data() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal_id, page) = stack.install(Tier::Enterprise).await;
    assert!(page.contains("admite datos sensibles"), "{page}");
    let row = stack
        .db
        .store()
        .await
        .portal(portal_id)
        .await
        .unwrap()
        .unwrap();
    assert!(row.sensitive_supported);
}

/// Sensitive properties do not show in HubSpot's property reads unless asked
/// for with `dataSensitivity=sensitive`: turning sensitive data on again (or
/// installing again) finds the ones created before instead of failing.
#[tokio::test]
async fn sensitive_data_turned_on_again_finds_its_properties() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal_id, _) = stack.install(Tier::Enterprise).await;
    let account = stack.sims.holded.create_account(None);
    for sensitive in [true, false, true] {
        let body = crate::support::settings_body(Some(&account.v2_token), &[], sensitive, false);
        stack.save_settings(portal_id, &body).await;
    }
    stack.install_again(portal_id as u64).await;
    let dump = stack.sims.hubspot.dump(portal_id as u64).unwrap();
    for object in ["contacts", "companies"] {
        let nifs = dump["custom_properties"][object]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["name"] == "holded_nif")
            .count();
        assert_eq!(nifs, 1, "{object}.holded_nif created once");
        assert_eq!(
            custom_property(&dump, object, "holded_nif")["dataSensitivity"],
            "sensitive"
        );
    }
    let store = stack.db.store().await;
    let row = store.portal(portal_id).await.unwrap().unwrap();
    assert_eq!(row.status, "connected", "{:?}", row.status_reason);
}

#[tokio::test]
async fn an_uninstalled_app_leaves_the_portal_disconnected_until_installed_again() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal_id, _) = stack.install(Tier::Pro).await;
    let get = || {
        stack
            .fetch(portal_id, reqwest::Method::GET, "/api/settings", "")
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    stack.sims.hubspot.uninstall(portal_id as u64);

    // The next request that reaches HubSpot (a save reads the pipelines afresh)
    // finds the tokens refused.
    let save = serde_json::json!({
        "nextSyncDate": "2027-01-01",
        "objects": {"contacts": true, "companies": true, "products": true, "documents": true},
        "documentMapping": {},
        "sensitiveData": {"enabled": false},
    })
    .to_string();
    let res = stack
        .fetch(portal_id, reqwest::Method::PUT, "/api/settings", &save)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "portal_disconnected");
    let store = stack.db.store().await;
    let row = store.portal(portal_id).await.unwrap().unwrap();
    assert_eq!(row.status, "disconnected");
    assert!(
        row.status_reason
            .unwrap()
            .contains("desinstalada o acceso retirado")
    );
    assert!(row.uninstalled_at.is_some());
    // Nothing keeps calling HubSpot for it: not the page, not a sync.
    let calls = stack.sims.hubspot.stats().total;
    assert_eq!(get().await.unwrap().status(), 409);
    let portal = portal_id.to_string();
    let out = stack
        .command(&["sync", "--portal", &portal])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no está conectado"));
    assert_eq!(stack.sims.hubspot.stats().total, calls);

    // Installing again reconnects it.
    stack.install_again(portal_id as u64).await;
    assert_eq!(get().await.unwrap().status(), 200);
    assert_eq!(
        store.portal(portal_id).await.unwrap().unwrap().status,
        "connected"
    );
}
