//! `POST /webhooks/hubspot`: deal-stage changes delivered by the HubSpot
//! simulator (real v3 signatures) are stored once; forged, stale, malformed
//! and oversized deliveries are refused with nothing stored; this app's own
//! changes and unknown portals are acknowledged and ignored; events the app
//! did not subscribe to are acknowledged, logged and counted.

use std::{collections::BTreeMap, time::Duration};

use chrono::Utc;
use holded_hubspot::store::entities::webhook_event;
use holded_hubspot_sim::hubspot::{SeedDeal, WebhookFaults, model::Tier};
use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::{APP_ID, CLIENT_SECRET, Engine, Stack, signed_request};

async fn stored(stack: &Stack) -> Vec<webhook_event::Model> {
    let store = stack.db.store().await;
    webhook_event::Entity::find().all(store.db()).await.unwrap()
}

async fn wait_for(stack: &Stack, count: usize) -> Vec<webhook_event::Model> {
    for _ in 0..100 {
        let rows = stored(stack).await;
        if rows.len() >= count {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stored(stack).await
}

fn deal() -> SeedDeal {
    let mut properties = BTreeMap::new();
    properties.insert("dealname".to_owned(), "Reforma oficina".to_owned());
    properties.insert("pipeline".to_owned(), "default".to_owned());
    properties.insert("dealstage".to_owned(), "appointmentscheduled".to_owned());
    SeedDeal {
        properties,
        line_items: Vec::new(),
        company: None,
        contact: None,
    }
}

#[tokio::test]
async fn a_deal_moved_in_hubspot_is_stored_once_even_when_delivered_twice() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal, _) = stack.install(Tier::Pro).await;
    let seeded = stack.sims.hubspot.seed_deal(portal as u64, deal()).unwrap();
    stack.sims.hubspot.set_webhook_faults(WebhookFaults {
        duplicate_next: 1,
        reorder_next: 0,
    });
    stack
        .sims
        .hubspot
        .move_deal(portal as u64, seeded.deal_id, "closedwon")
        .unwrap();
    let rows = wait_for(&stack, 1).await;
    assert_eq!(rows.len(), 1, "{}", stack.service.logs());
    let row = &rows[0];
    assert_eq!(row.portal_id, portal);
    assert_eq!(
        row.object_id.as_deref(),
        Some(seeded.deal_id.to_string().as_str())
    );
    let payload: Value = serde_json::from_str(&row.payload).unwrap();
    assert_eq!(payload["propertyValue"], "closedwon");
    assert_eq!(payload["changeSource"], "CRM_UI");
    // The duplicate delivery arrived and was acknowledged, not stored again.
    for _ in 0..50 {
        if stack.sims.hubspot.deliveries().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stack.sims.hubspot.deliveries().len() >= 2);
    assert_eq!(stored(&stack).await.len(), 1);
}

fn event(portal: i64, event_id: u64, overrides: Value) -> Value {
    let mut event = json!({
        "eventId": event_id, "subscriptionId": 9001, "portalId": portal, "appId": APP_ID,
        "occurredAt": Utc::now().timestamp_millis(), "subscriptionType": "object.propertyChange",
        "objectTypeId": "0-3", "objectId": 4242, "propertyName": "dealstage",
        "propertyValue": "closedwon", "changeSource": "CRM_UI", "attemptNumber": 0,
    });
    for (key, value) in overrides.as_object().unwrap() {
        event[key] = value.clone();
    }
    event
}

async fn post(stack: &Stack, body: &str) -> (u16, Value) {
    let res = stack
        .signed(Method::POST, "/webhooks/hubspot", body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn bad_deliveries_are_refused_and_others_ignored_with_nothing_stored() {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal, _) = stack.install(Tier::Pro).await;
    let good = json!([event(portal, 1, json!({}))]).to_string();

    let forged = signed_request(
        &stack.service.url,
        Method::POST,
        "/webhooks/hubspot",
        &good,
        "wrong-secret",
        Utc::now(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(forged.status(), 401);
    let stale = signed_request(
        &stack.service.url,
        Method::POST,
        "/webhooks/hubspot",
        &good,
        CLIENT_SECRET,
        Utc::now() - chrono::Duration::minutes(6),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(stale.status(), 401);
    let tampered = stack
        .signed(Method::POST, "/webhooks/hubspot", &good)
        .body(good.replace("closedwon", "closedlost"));
    assert_eq!(tampered.send().await.unwrap().status(), 401);
    let (status, body) = post(&stack, "[{\"eventId\": 1,").await;
    assert_eq!(status, 400, "{body}");
    let huge = format!(
        "[{}]",
        vec![event(portal, 2, json!({})).to_string(); 12_000].join(",")
    );
    assert!(huge.len() > 1024 * 1024);
    let oversized = stack
        .signed(Method::POST, "/webhooks/hubspot", &huge)
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);

    // Acknowledged but ignored: this app's own write-back and portals that
    // never installed the app. Acknowledged, logged and counted as not
    // understood: what the app did not subscribe to, and unreadable events.
    let ignored = json!([
        event(
            portal,
            3,
            json!({"changeSource": "INTEGRATION", "sourceId": APP_ID.to_string()})
        ),
        event(portal, 4, json!({"propertyName": "amount"})),
        event(portal, 5, json!({"objectTypeId": "0-1"})),
        event(98_765, 6, json!({})),
        event(portal, 9, json!({"subscriptionType": "deal.somethingNew"})),
        event(portal, 10, json!({"subscriptionType": null})),
    ])
    .to_string();
    let (status, body) = post(&stack, &ignored).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["ignored"].clone(), body["unrecognised"].clone()),
        (json!(2), json!(4)),
        "{body}"
    );
    let metrics = crate::support::metrics(&stack.service.url).await;
    for (label, count) in [
        ("object.propertyChange", 2),
        ("other", 1),
        ("unreadable", 1),
    ] {
        let line = format!(
            "hh_webhook_unrecognised_events_total{{subscription_type=\"{label}\"}} {count}"
        );
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
    assert!(
        stack
            .service
            .logs()
            .contains("webhook event not understood"),
        "logged"
    );
    let store = stack.db.store().await;
    assert_eq!(
        webhook_event::Entity::find()
            .count(store.db())
            .await
            .unwrap(),
        0
    );

    // Another integration's change is a real change; the same event twice is stored once.
    let batch = json!([
        event(
            portal,
            7,
            json!({"changeSource": "INTEGRATION", "sourceId": "12345"})
        ),
        event(
            portal,
            8,
            json!({"subscriptionType": "deal.propertyChange", "objectTypeId": null, "objectId": 4243})
        ),
    ]);
    let (status, body) = post(&stack, &batch.to_string()).await;
    assert_eq!(
        (status, body["accepted"].clone()),
        (200, json!(2)),
        "{body}"
    );
    let (_, body) = post(&stack, &batch.to_string()).await;
    assert_eq!(body["duplicates"], 2, "{body} {}", stack.service.logs());
    assert_eq!(
        webhook_event::Entity::find()
            .count(store.db())
            .await
            .unwrap(),
        2
    );
}
