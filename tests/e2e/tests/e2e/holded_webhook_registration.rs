//! «Registrar automáticamente en Holded» (issue 19): the settings page asks
//! the service to register the portal's webhook through Holded's API
//! (`POST /api/v2/webhooks`, reported by one source and unconfirmed). Under
//! the simulator's default reading Holded has no such API: the answer falls
//! back to the guided steps and nothing changes. Under the other reading the
//! webhook is registered, and deliveries arrive once the signing secret the
//! user copies from Holded is pasted. A v1 key gets the guided steps; a user
//! who may not change the settings gets a 403.

use holded_hubspot::store::entities::audit_log;
use holded_hubspot_sim::hubspot::model::Tier;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::{
    holded_webhooks::{MAPPED, a_person, set_phone, settings, within_a_minute},
    support::{Engine, settings_body},
    sync::{Scenario, scenario, small_seed},
};

const REGISTER: &str = "/api/settings/holded-webhook/register";

/// Presses «Registrar automáticamente en Holded» as the portal's super admin.
async fn register(s: &Scenario) -> (u16, Value) {
    let res = s
        .stack
        .fetch(s.portal, Method::POST, REGISTER, "")
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// Switches the simulated Holded to the reading under which the API
/// registers webhooks.
fn holded_accepts_registration(s: &Scenario) {
    let mut sim = s.stack.sims.holded.settings();
    sim.v2_webhooks_api = true;
    s.stack.sims.holded.set_settings(sim);
}

/// The v2 webhook requests Holded received.
fn webhook_calls(s: &Scenario) -> u64 {
    s.stack
        .sims
        .holded
        .stats()
        .requests
        .iter()
        .filter(|r| r.route.contains("webhooks"))
        .map(|r| r.count)
        .sum()
}

/// The audit entries of the portal with `action`, oldest first.
async fn audited(s: &Scenario, action: &str) -> Vec<audit_log::Model> {
    let store = s.stack.db.store().await;
    audit_log::Entity::find()
        .filter(audit_log::Column::PortalId.eq(s.portal))
        .filter(audit_log::Column::Action.eq(action))
        .order_by_asc(audit_log::Column::Id)
        .all(store.db())
        .await
        .unwrap()
}

/// What the settings page shows, without what moves on its own (runs, quota).
fn saved(view: &Value) -> Value {
    let mut view = view.clone();
    let object = view.as_object_mut().unwrap();
    object.remove("lastRuns");
    object.remove("holdedUsage");
    view
}

/// Holded was not asked to register anything and holds no webhook.
fn assert_nothing_registered(s: &Scenario) {
    assert_eq!(webhook_calls(s), 0);
    assert!(
        s.stack
            .sims
            .holded
            .webhooks(&s.account.account_id)
            .is_empty()
    );
}

#[tokio::test]
async fn when_holded_refuses_the_guided_steps_apply_and_nothing_changes() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(4), false, false).await;
    let before = settings(&s).await;
    let used_before = before["holdedUsage"]["used"].as_u64().unwrap();
    let (status, answer) = register(&s).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["registered"], false, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("no ha aceptado"), "{message}");
    assert!(message.contains("pasos guiados"), "{message}");
    assert_eq!(webhook_calls(&s), 1, "Holded was asked once");
    assert!(
        s.stack
            .sims
            .holded
            .webhooks(&s.account.account_id)
            .is_empty()
    );
    let after = settings(&s).await;
    assert_eq!(saved(&after), saved(&before));
    assert_eq!(after["holdedWebhook"]["holdedId"], Value::Null);
    assert_eq!(
        after["holdedUsage"]["used"].as_u64().unwrap(),
        used_before + 1,
        "the call counts against the monthly quota"
    );
    let entries = audited(&s, "holded_webhook.register").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].details.contains("rechazado"), "{entries:?}");
    assert!(!entries[0].details.contains(&s.account.v2_token));
}

#[tokio::test]
async fn when_holded_accepts_the_webhook_is_registered_and_deliveries_arrive_once_the_secret_is_pasted()
 {
    let s = scenario(Engine::Postgres, Tier::Pro, small_seed(12), false, false).await;
    let output = s.sync(&[]).await;
    assert!(output.contains("completed"), "{output}");
    holded_accepts_registration(&s);
    let (status, answer) = register(&s).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["registered"], true, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("Holded › Configuración › Desarrolladores › Webhooks"),
        "{message}"
    );
    assert!(message.contains("Secreto de firma"), "{message}");
    let hooks = s.stack.sims.holded.webhooks(&s.account.account_id);
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    let view = &answer["holdedWebhook"];
    assert_eq!(view["holdedId"], hook.id.as_str(), "{view}");
    assert_eq!(view["url"], hook.url.as_str());
    assert_eq!(view["secretConfigured"], false);
    let asked: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        hook.events.iter().map(String::as_str).collect::<Vec<_>>(),
        {
            let mut sorted = asked.clone();
            sorted.sort_unstable();
            sorted
        }
    );
    assert!(!answer.to_string().contains(&hook.secret));
    let entries = audited(&s, "holded_webhook.register").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].details.contains(&hook.id), "{entries:?}");
    // Pressing again registers nothing more.
    let (_, again) = register(&s).await;
    assert_eq!(again["registered"], true, "{again}");
    assert_eq!(webhook_calls(&s), 1);
    assert_eq!(s.stack.sims.holded.webhooks(&s.account.account_id).len(), 1);

    // The user copies the secret from Holded's screen and saves it.
    let mut body: Value =
        serde_json::from_str(&settings_body(None, &MAPPED, false, false)).unwrap();
    body["holdedWebhookSecret"] = json!(hook.secret);
    s.stack.save_settings(s.portal, &body.to_string()).await;
    let person = a_person(&s);
    set_phone(&s, &person, "+34 622 111 333").await;
    within_a_minute(&s, &person, |p| p["phone"] == "+34622111333").await;
    assert_eq!(settings(&s).await["holdedWebhook"]["connected"], true);
}

#[tokio::test]
async fn a_v1_key_gets_the_guided_steps() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(4), false, true).await;
    holded_accepts_registration(&s);
    let before = settings(&s).await;
    let (status, answer) = register(&s).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["registered"], false, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("token de la API v2"), "{message}");
    assert!(message.contains("pasos guiados"), "{message}");
    assert_nothing_registered(&s);
    assert_eq!(saved(&settings(&s).await), saved(&before));
}

#[tokio::test]
async fn a_user_who_may_not_change_the_settings_gets_a_403() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(4), false, false).await;
    holded_accepts_registration(&s);
    let rep = s
        .stack
        .sims
        .hubspot
        .add_user(s.portal as u64, "lucia.fernandez@talleres-norte.es", false)
        .unwrap();
    let res = s
        .stack
        .fetch_as(&rep, s.portal, Method::POST, REGISTER, "")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert!(body.to_string().contains("superadministradores"), "{body}");
    assert_nothing_registered(&s);
    assert_eq!(settings(&s).await["holdedWebhook"]["holdedId"], Value::Null);
}
