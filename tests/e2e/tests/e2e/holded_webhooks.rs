//! Holded webhooks (issue 19): a change in Holded reaches HubSpot within a
//! minute through the portal's webhook, with no nightly run; forged, stale,
//! replayed, foreign-account and oversized deliveries change nothing; a
//! delivery Holded never made is healed by the next nightly run.

use std::time::{Duration, Instant};

use futures::StreamExt;
use holded_hubspot::holded::{ContactChanges, HoldedApi};
use holded_hubspot_sim::{
    holded::{
        seed::SeedSpec,
        webhooks::{WebhookFaults, signature},
    },
    hubspot::model::Tier,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    support::{Engine, settings_body},
    sync::{Scenario, holded_ids, scenario, small_seed},
};

/// The events the settings page tells the admin to tick (those the
/// simulator models).
const EVENTS: [&str; 9] = [
    "contact.create",
    "contact.update",
    "contact.delete",
    "product.update",
    "invoice.create",
    "invoice.update",
    "invoice.approve",
    "payment.create",
    "payment.update",
];

/// Invoices and estimates become deals in the default pipeline.
pub(crate) const MAPPED: [(&str, &str); 2] = [
    ("estimate", "appointmentscheduled"),
    ("invoice", "closedwon"),
];

/// A synced v2 portal whose Holded account delivers webhooks to it, set up
/// as the settings page explains; returns the endpoint and the secret.
async fn connected(engine: Engine) -> (Scenario, String, String) {
    connected_with(engine, small_seed(12)).await
}

/// [`connected`] with the account seeded by `seed`.
async fn connected_with(engine: Engine, seed: SeedSpec) -> (Scenario, String, String) {
    connected_as(engine, seed, false).await
}

/// [`connected_with`], the portal keeping the account's v1 key (`use_v1`)
/// or its v2 token.
async fn connected_as(engine: Engine, seed: SeedSpec, use_v1: bool) -> (Scenario, String, String) {
    let s = scenario(engine, Tier::Pro, seed, false, use_v1).await;
    let output = s.sync(&[]).await;
    assert!(output.contains("completed"), "{output}");
    let view = settings(&s).await;
    let hook = &view["holdedWebhook"];
    let url = hook["url"].as_str().unwrap().to_owned();
    assert!(url.contains("/webhooks/holded/"), "{hook}");
    assert!(
        !url.contains(&s.portal.to_string()),
        "the endpoint token says nothing of the portal: {url}"
    );
    let steps = hook["steps"].to_string();
    assert!(
        steps.contains("Configuración › Desarrolladores › Webhooks"),
        "{steps}"
    );
    assert!(steps.contains("whsec_"), "{steps}");
    assert_eq!(hook["connected"], false, "{hook}");
    let events: Vec<String> = EVENTS.iter().map(|e| (*e).to_owned()).collect();
    let webhook = s
        .stack
        .sims
        .holded
        .register_webhook(&s.account.account_id, &url, &events)
        .expect("Holded takes the webhook");
    // A secret that is not Holded's is refused with a Spanish message.
    let mut body: Value =
        serde_json::from_str(&settings_body(None, &MAPPED, false, false)).unwrap();
    body["holdedWebhookSecret"] = json!("pat_not_a_signing_secret");
    let res = s
        .stack
        .fetch(s.portal, Method::PUT, "/api/settings", &body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let refused: Value = res.json().await.unwrap();
    assert!(refused.to_string().contains("whsec_"), "{refused}");
    body["holdedWebhookSecret"] = json!(webhook.secret);
    s.stack.save_settings(s.portal, &body.to_string()).await;
    let view = settings(&s).await;
    assert_eq!(view["holdedWebhook"]["secretConfigured"], true);
    assert!(
        !view.to_string().contains(&webhook.secret),
        "the secret is never shown"
    );
    (s, url, webhook.secret)
}

pub(crate) async fn settings(s: &Scenario) -> Value {
    let res = s
        .stack
        .fetch(s.portal, Method::GET, "/api/settings", "")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The HubSpot contact of Holded contact `holded_id`.
fn hubspot_contact(s: &Scenario, holded_id: &str) -> Value {
    s.records("contacts")
        .into_iter()
        .find(|r| r["properties"]["holded_id"] == holded_id)
        .unwrap_or_else(|| panic!("no HubSpot contact for {holded_id}"))
}

/// Waits up to a minute for `check` on the HubSpot contact of `holded_id`;
/// returns how long it took.
pub(crate) async fn within_a_minute(
    s: &Scenario,
    holded_id: &str,
    check: impl Fn(&Value) -> bool,
) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if check(&hubspot_contact(s, holded_id)["properties"]) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "not in HubSpot within a minute: {}\n{}",
        hubspot_contact(s, holded_id),
        s.stack.service.logs()
    );
}

/// A synced person of the account (its Holded id).
pub(crate) fn a_person(s: &Scenario) -> String {
    let persons: Vec<String> = s
        .stack
        .sims
        .holded
        .contacts(&s.account.account_id)
        .into_iter()
        .filter(|c| c.is_person)
        .map(|c| c.id)
        .collect();
    let synced = holded_ids(&s.records("contacts"));
    persons
        .into_iter()
        .find(|id| synced.contains(id))
        .expect("a synced person")
}

pub(crate) async fn set_phone(s: &Scenario, holded_id: &str, phone: &str) {
    s.holded()
        .update_contact(
            holded_id,
            &ContactChanges {
                phone: Some(phone.to_owned()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_phone_changed_in_holded_reaches_hubspot_within_a_minute_and_a_delete_is_marked() {
    let (s, _, _) = connected(Engine::Sqlite).await;
    let person = a_person(&s);
    set_phone(&s, &person, "+34 612 345 678").await;
    // HubSpot keeps the number as the mapping writes it (E.164).
    let took = within_a_minute(&s, &person, |p| p["phone"] == "+34612345678").await;
    eprintln!("phone in HubSpot after {took:?}");
    // It came by webhook: a webhook run, no nightly one, in the history.
    let (_, runs) = runs(&s).await;
    let triggers: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["trigger"].as_str())
        .collect();
    assert!(triggers.contains(&"webhook"), "{runs}");
    assert!(!triggers.contains(&"scheduled"), "{runs}");
    let deliveries = s.stack.sims.holded.webhook_deliveries();
    assert!(
        deliveries
            .iter()
            .any(|d| d.event == "contact.update" && d.status == Some(200)),
        "{deliveries:?}"
    );
    let hook = &settings(&s).await["holdedWebhook"];
    assert_eq!(hook["connected"], true, "{hook}");
    assert!(hook["lastDeliveryAt"].is_string(), "{hook}");

    // Deleted in Holded: marked as the nightly run marks it, never deleted.
    assert!(
        s.stack
            .sims
            .holded
            .delete_contact(&s.account.account_id, &person)
    );
    within_a_minute(&s, &person, |p| {
        p["holded_estado_sync"] == "eliminado_en_holded"
    })
    .await;
}

/// Holded's webhooks do not depend on the key a portal keeps: a portal
/// with a v1 key gets the change too, read back through v1.
#[tokio::test]
async fn a_portal_with_a_v1_key_gets_the_change_too() {
    let (s, _, _) = connected_as(Engine::Sqlite, small_seed(12), true).await;
    let person = a_person(&s);
    set_phone(&s, &person, "+34 699 001 122").await;
    within_a_minute(&s, &person, |p| p["phone"] == "+34699001122").await;
}

async fn runs(s: &Scenario) -> (u16, Value) {
    let res = s
        .stack
        .fetch(s.portal, Method::GET, "/api/runs", "")
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// A delivery as Holded would send it, signed with `secret`.
fn delivery(
    url: &str,
    secret: &str,
    event: &str,
    id: &str,
    account: &str,
    date: chrono::DateTime<chrono::Utc>,
    body: &[u8],
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("x-holded-webhook-event", event)
        .header("x-holded-webhook-id", id)
        .header("x-holded-webhook-account-id", account)
        .header("x-holded-webhook-date", date.to_rfc3339())
        .header("x-holded-webhook-version", "v1")
        .header("x-holded-webhook-signature", signature(secret, body))
        .body(body.to_vec())
}

#[tokio::test]
async fn forged_stale_replayed_foreign_and_oversized_deliveries_change_nothing_and_the_night_heals_a_missed_one()
 {
    let (s, url, secret) = connected(Engine::Postgres).await;
    let person = a_person(&s);
    let before = hubspot_contact(&s, &person)["properties"]["phone"].clone();
    // Holded never delivers this change (a missed delivery).
    s.stack.sims.holded.set_webhook_faults(WebhookFaults {
        drop_next: 1,
        ..Default::default()
    });
    set_phone(&s, &person, "+34 699 000 111").await;
    let account = s.account.account_id.clone();
    let body = json!({"id": person, "name": "Núria Puig Ferrer", "phone": "+34 699 000 111"})
        .to_string()
        .into_bytes();
    let now = chrono::Utc::now();
    let forged = delivery(
        &url,
        "whsec_forged0123456789abcdef",
        "contact.update",
        "d-forged",
        &account,
        now,
        &body,
    );
    assert_eq!(forged.send().await.unwrap().status(), 401);
    let stale = delivery(
        &url,
        &secret,
        "contact.update",
        "d-stale",
        &account,
        now - chrono::Duration::minutes(10),
        &body,
    );
    assert_eq!(stale.send().await.unwrap().status(), 400);
    let big = vec![b' '; 300 * 1024];
    let oversized = delivery(
        &url,
        &secret,
        "contact.update",
        "d-big",
        &account,
        now,
        &big,
    );
    assert_eq!(oversized.send().await.unwrap().status(), 413);
    // A genuine delivery about a product pins the account…
    let product = json!({"id": "6a0000000000000000ffffff"})
        .to_string()
        .into_bytes();
    let genuine = || {
        delivery(
            &url,
            &secret,
            "product.update",
            "d-genuine",
            &account,
            now,
            &product,
        )
    };
    assert_eq!(genuine().send().await.unwrap().status(), 200);
    // …so that another account's delivery, even well signed, is refused,
    let foreign = delivery(
        &url,
        &secret,
        "contact.update",
        "d-foreign",
        "acc_otra_empresa",
        now,
        &body,
    );
    assert_eq!(foreign.send().await.unwrap().status(), 403);
    // and a replay is taken once.
    let replay: Value = genuine().send().await.unwrap().json().await.unwrap();
    assert_eq!(replay["outcome"], "duplicate", "{replay}");

    // None of them brought the phone.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(hubspot_contact(&s, &person)["properties"]["phone"], before);
    let hook = &settings(&s).await["holdedWebhook"];
    assert_eq!(hook["refused"], 4, "{hook}");
    assert!(
        hook["lastRefusal"]
            .as_str()
            .unwrap()
            .contains("otra cuenta"),
        "{hook}"
    );
    assert!(
        !s.stack.service.logs().contains(&secret),
        "the secret never reaches the logs"
    );
    // The operator sees the same in the console's settings tab.
    let page = s
        .stack
        .console_page(&format!("/portals/{}/settings", s.portal))
        .await;
    assert!(page.contains(&url), "the endpoint");
    assert!(page.contains("Configuración › Desarrolladores › Webhooks"));
    assert!(page.contains("Envíos rechazados: 4"), "{page}");
    assert!(!page.contains(&secret));

    // The nightly run is the reconciliation: it brings the missed change.
    let output = s.sync(&[]).await;
    assert!(output.contains("completed"), "{output}");
    assert_eq!(
        hubspot_contact(&s, &person)["properties"]["phone"],
        "+34699000111"
    );
}

/// A v2 call to the simulated Holded with the account's token.
async fn holded_post(s: &Scenario, path: &str, body: Value) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v2/{path}", s.stack.sims.holded_url))
        .bearer_auth(&s.account.v2_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let answer: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

/// A draft invoice of 1.000,00 € + IVA 21 % for `contact`, due on `due`.
async fn new_invoice(s: &Scenario, contact: &str, due: chrono::NaiveDate) -> String {
    let today = chrono::Utc::now().date_naive();
    let answer = holded_post(
        s,
        "invoices",
        json!({
            "contact_id": contact, "date": today.to_string(), "due_date": due.to_string(),
            "description": "Implantación del ERP",
            "items": [{"name": "Consultoría de implantación", "units": 8, "price": "125", "taxes": ["s_iva_21"]}],
        }),
    )
    .await;
    answer["id"].as_str().unwrap().to_owned()
}

/// Waits (up to a minute) until the portal has no Holded delivery left to
/// handle: the targeted runs they started are over.
async fn changes_settled(s: &Scenario) {
    let store = s.stack.db.store().await;
    let started = Instant::now();
    while !store
        .pending_holded_events(s.portal, 1)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Holded deliveries still unhandled after a minute"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The deal of Holded document `holded_id`, once `check` holds on its
/// properties (within a minute).
async fn deal_when(s: &Scenario, holded_id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let deal = s
            .records("deals")
            .into_iter()
            .find(|d| d["properties"]["holded_id"] == holded_id);
        match deal {
            Some(deal) if check(&deal["properties"]) => return deal,
            _ if started.elapsed() > Duration::from_secs(60) => panic!(
                "deal of {holded_id} not as expected within a minute: {deal:?}\n{}",
                s.stack.service.logs()
            ),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The timeline notes on `deal_id` once there are at least `n` (the steps
/// are told right after the deal is written), oldest first.
async fn notes_when(s: &Scenario, deal_id: &str, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let notes = notes_on(s, deal_id);
        if notes.len() >= n || started.elapsed() > Duration::from_secs(30) {
            return notes;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The timeline notes on `deal_id`, oldest first.
fn notes_on(s: &Scenario, deal_id: &str) -> Vec<String> {
    let dump = s.stack.sims.hubspot.dump(s.portal as u64).unwrap();
    let on_deal: Vec<String> = dump["associations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["from_type"] == "notes" && a["to_type"] == "deals")
        .filter(|a| a["to_id"].to_string().trim_matches('"') == deal_id)
        .map(|a| a["from_id"].to_string().trim_matches('"').to_owned())
        .collect();
    dump["records"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| on_deal.contains(&n["id"].as_str().unwrap_or_default().to_owned()))
        .map(|n| {
            n["properties"]["hs_note_body"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_invoice_approved_and_paid_in_holded_shows_on_its_deal_with_its_timeline() {
    let (s, _, _) = connected(Engine::Postgres).await;
    let customer = a_person(&s);
    let today = chrono::Utc::now().date_naive();
    let invoice = new_invoice(&s, &customer, today + chrono::Days::new(30)).await;
    let deal = deal_when(&s, &invoice, |p| p["holded_estado_documento"] == "borrador").await;
    let deal_id = deal["id"].as_str().unwrap().to_owned();
    assert_eq!(deal["properties"]["holded_importe_pendiente"], "1210");

    holded_post(&s, &format!("invoices/{invoice}/approve"), json!({})).await;
    let deal = deal_when(&s, &invoice, |p| p["holded_estado_documento"] == "emitida").await;
    let number = deal["properties"]["holded_numero_documento"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(number.starts_with('F'), "{deal}");

    let paid_on = today.to_string();
    holded_post(
        &s,
        &format!("invoices/{invoice}/payments"),
        json!({"amount": "500", "date": paid_on, "treasury_id": null, "description": "Transferencia"}),
    )
    .await;
    let deal = deal_when(&s, &invoice, |p| {
        p["holded_estado_documento"] == "cobrada_parcialmente"
    })
    .await;
    assert_eq!(deal["properties"]["holded_importe_cobrado"], "500");
    assert_eq!(deal["properties"]["holded_importe_pendiente"], "710");
    assert!(
        deal["properties"]["holded_fecha_ultimo_cobro"].is_string(),
        "{deal}"
    );
    assert!(
        deal["properties"]["holded_fecha_vencimiento"].is_string(),
        "{deal}"
    );

    holded_post(
        &s,
        &format!("invoices/{invoice}/payments"),
        json!({"amount": "710", "date": paid_on}),
    )
    .await;
    let deal = deal_when(&s, &invoice, |p| p["holded_estado_documento"] == "cobrada").await;
    assert_eq!(deal["properties"]["holded_importe_pendiente"], "0");
    let notes = notes_when(&s, &deal_id, 4).await;
    let told: Vec<&str> = notes
        .iter()
        .map(|n| n.lines().next().unwrap_or_default())
        .collect();
    assert_eq!(
        told,
        [
            format!("Holded · Factura {number} aprobada"),
            "Holded · Cobro de 500,00 € registrado (pendiente 710,00 €)".to_owned(),
            "Holded · Cobro de 710,00 € registrado (pendiente 0,00 €)".to_owned(),
            format!("Holded · Factura {number} cobrada"),
        ],
        "{notes:?}"
    );

    // Overdue: due yesterday in the portal's time zone, nothing paid.
    let late = new_invoice(&s, &customer, today - chrono::Days::new(1)).await;
    holded_post(&s, &format!("invoices/{late}/approve"), json!({})).await;
    deal_when(&s, &late, |p| p["holded_estado_documento"] == "vencida").await;
    // Every run the approval's deliveries started is over (a later one
    // would read the payment below and bring it before the night).
    changes_settled(&s).await;
    // A payment whose delivery Holded never makes: the night brings it.
    s.stack.sims.holded.set_webhook_faults(WebhookFaults {
        drop_next: 1,
        ..Default::default()
    });
    holded_post(
        &s,
        &format!("invoices/{late}/payments"),
        json!({"amount": "100.50", "date": paid_on}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    deal_when(&s, &late, |p| {
        p["holded_importe_cobrado"].is_null() || p["holded_importe_cobrado"] == "0"
    })
    .await;
    let output = s.sync(&[]).await;
    assert!(output.contains("completed"), "{output}");
    let deal = deal_when(&s, &late, |p| p["holded_importe_cobrado"] == "100.5").await;
    assert_eq!(deal["properties"]["holded_importe_pendiente"], "1109.5");
    assert_eq!(deal["properties"]["holded_estado_documento"], "vencida");
    let late_notes = notes_when(&s, deal["id"].as_str().unwrap(), 1).await;
    assert!(
        late_notes
            .iter()
            .any(|n| n.starts_with("Holded · Cobro de 100,50 € registrado (pendiente 1.109,50 €)")),
        "{late_notes:?}"
    );

    // Cancelled.
    let cancelled = new_invoice(&s, &customer, today + chrono::Days::new(30)).await;
    holded_post(&s, &format!("invoices/{cancelled}/approve"), json!({})).await;
    deal_when(&s, &cancelled, |p| {
        p["holded_estado_documento"] == "emitida"
    })
    .await;
    holded_post(&s, &format!("invoices/{cancelled}/cancel"), json!({})).await;
    let deal = deal_when(&s, &cancelled, |p| {
        p["holded_estado_documento"] == "anulada"
    })
    .await;
    let cancelled_notes = notes_when(&s, deal["id"].as_str().unwrap(), 2).await;
    assert!(
        cancelled_notes.iter().any(|n| n.contains("anulada")),
        "{cancelled_notes:?}"
    );
}

/// Holded calls the service made with the portal's v2 token so far.
fn service_calls(s: &Scenario) -> u64 {
    let caller = format!("{} v2", s.account.account_id);
    s.stack
        .sims
        .holded
        .stats()
        .requests
        .iter()
        .filter(|r| r.key == caller)
        .map(|r| r.count)
        .sum()
}

#[tokio::test]
async fn a_storm_of_a_thousand_changes_stays_within_the_rate_limits_and_the_quota() {
    let seed = SeedSpec {
        account_id: String::new(),
        seed: 19,
        contacts: 1000,
        products: 0,
        documents_per_type: 0,
    };
    let (s, _, _) = connected_with(Engine::Sqlite, seed).await;
    let calls_before = service_calls(&s);
    let hubspot_429s_before = s.stack.sims.hubspot.stats().rate_limited;
    // Someone changes every phone in Holded within a minute (another app,
    // through API v1, which the simulated Holded does not rate limit).
    let http = reqwest::Client::new();
    let contacts = s.stack.sims.holded.contacts(&s.account.account_id);
    let started = Instant::now();
    futures::stream::iter(contacts.iter().enumerate())
        .for_each_concurrent(16, |(i, c)| {
            let request = http
                .put(format!(
                    "{}/api/invoicing/v1/contacts/{}",
                    s.stack.sims.holded_url, c.id
                ))
                .header("key", &s.account.v1_key)
                .json(&json!({"phone": format!("+34 91{:07}", i)}));
            async move {
                let res = request.send().await.unwrap();
                assert_eq!(res.status(), 200);
            }
        })
        .await;
    let changed_in = started.elapsed();
    assert!(changed_in < Duration::from_secs(60), "{changed_in:?}");
    let expected: Vec<(String, String)> = contacts
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), format!("+3491{:07}", i)))
        .collect();
    let all_in = || {
        let mut phones = std::collections::HashMap::new();
        for object in ["contacts", "companies"] {
            for r in s.records(object) {
                phones.insert(
                    r["properties"]["holded_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    r["properties"]["phone"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
        expected
            .iter()
            .filter(|(id, phone)| phones.get(id) != Some(phone))
            .count()
    };
    loop {
        let missing = all_in();
        if missing == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "{missing} changes not in HubSpot:\n{}",
            s.stack.service.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = started.elapsed();
    let calls = service_calls(&s) - calls_before;
    let deliveries = s.stack.sims.holded.webhook_deliveries().len();
    eprintln!(
        "storm: {deliveries} deliveries, all in HubSpot after {took:?}, {calls} Holded calls by the service"
    );
    assert_eq!(
        s.stack.sims.holded.stats().rate_limited,
        0,
        "Holded's 100/min"
    );
    assert_eq!(
        s.stack.sims.hubspot.stats().rate_limited,
        hubspot_429s_before,
        "HubSpot's limits"
    );
    // Scanned, not read one by one: a few pages of 100, not a thousand calls.
    assert!(calls <= 100, "{calls} Holded calls for a storm of 1.000");
    let used = s.stack.sims.holded.monthly_usage(&s.account.account_id);
    assert!(used < 5000, "the monthly quota: {used}");
}

/// The benchmark of the real-time path (not run by default: `cargo test -p
/// holded-hubspot-e2e --test e2e benchmark_holded_webhooks -- --ignored
/// --nocapture`): time from a change in Holded to the HubSpot record, p50
/// and p99 over sequential changes, and the Holded calls per delivery.
#[tokio::test]
#[ignore = "benchmark: prints figures"]
async fn benchmark_holded_webhooks() {
    const CHANGES: usize = 40;
    let (s, _, _) = connected(Engine::Sqlite).await;
    let person = a_person(&s);
    let calls_before = service_calls(&s);
    let deliveries_before = s.stack.sims.holded.webhook_deliveries().len();
    let mut latencies = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        let phone = format!("+34 93{:07}", 1000 + i);
        let stored = phone.replace(' ', "");
        let started = Instant::now();
        // Through API v1, so that the v2 token's calls are the service's only.
        let res = reqwest::Client::new()
            .put(format!(
                "{}/api/invoicing/v1/contacts/{person}",
                s.stack.sims.holded_url
            ))
            .header("key", &s.account.v1_key)
            .json(&json!({ "phone": phone }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        loop {
            if hubspot_contact(&s, &person)["properties"]["phone"] == stored.as_str() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    let deliveries = s.stack.sims.holded.webhook_deliveries().len() - deliveries_before;
    let calls = service_calls(&s) - calls_before;
    println!(
        "Holded webhooks: {CHANGES} sequential contact changes; Holded change → HubSpot p50 {:?}, p99 {:?}, max {:?}; {deliveries} deliveries, {calls} Holded calls by the service ({:.2} per delivery)",
        at(0.50),
        at(0.99),
        latencies[latencies.len() - 1],
        calls as f64 / deliveries.max(1) as f64
    );
    let caller = format!("{} v2", s.account.account_id);
    for r in s
        .stack
        .sims
        .holded
        .stats()
        .requests
        .iter()
        .filter(|r| r.key == caller)
    {
        println!("  {} {} × {}", r.method, r.route, r.count);
    }
}
