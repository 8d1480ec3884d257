//! Holded webhooks (issue 19): a change in Holded reaches HubSpot within a
//! minute through the portal's webhook, with no nightly run; forged, stale,
//! replayed, foreign-account and oversized deliveries change nothing; a
//! delivery Holded never made is healed by the next nightly run.

use std::time::{Duration, Instant};

use holded_hubspot::holded::{ContactChanges, HoldedApi};
use holded_hubspot_sim::{
    holded::webhooks::{WebhookFaults, signature},
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
const MAPPED: [(&str, &str); 2] = [
    ("estimate", "appointmentscheduled"),
    ("invoice", "closedwon"),
];

/// A synced v2 portal whose Holded account delivers webhooks to it, set up
/// as the settings page explains; returns the endpoint and the secret.
async fn connected(engine: Engine) -> (Scenario, String, String) {
    let s = scenario(engine, Tier::Pro, small_seed(12), false, false).await;
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

async fn settings(s: &Scenario) -> Value {
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
async fn within_a_minute(
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
fn a_person(s: &Scenario) -> String {
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

async fn set_phone(s: &Scenario, holded_id: &str, phone: &str) {
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
    let (s, _, _) = connected(Engine::Sqlite).await;
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
