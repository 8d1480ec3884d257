//! The control surface `/_sim/hubspot/…` (JSON), a thin layer over the
//! in-process methods of [`HubspotSim`].

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{
    HubspotSim, NewPipeline, NewPortal, NewTaxRate, SeedDeal,
    model::ObjType,
    objects::parse,
    state::{AppConfig, Fault, Settings, WebhookFaults},
};

/// Registers the control routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_sim/hubspot")
            .route("/app", web::post().to(app))
            .route("/app-event-types", web::post().to(app_event_type))
            .route("/portals", web::post().to(create_portal))
            .route("/portals/{portal}/install", web::post().to(install))
            .route("/portals/{portal}/uninstall", web::post().to(uninstall))
            .route("/portals/{portal}/users", web::post().to(add_user))
            .route(
                "/portals/{portal}/withhold-scope",
                web::post().to(withhold_scope),
            )
            .route(
                "/portals/{portal}/contacts/{contact}/gdpr-delete",
                web::post().to(gdpr_delete_contact),
            )
            .route("/portals/{portal}/deals", web::post().to(seed_deal))
            .route(
                "/portals/{portal}/records/{object_type}",
                web::post().to(seed_records),
            )
            .route(
                "/portals/{portal}/deals/{deal}/move",
                web::post().to(move_deal),
            )
            .route("/portals/{portal}/pipelines", web::post().to(add_pipeline))
            .route(
                "/portals/{portal}/required-properties",
                web::post().to(required_properties),
            )
            .route("/portals/{portal}/tax-rates", web::post().to(add_tax_rate))
            .route("/portals/{portal}/dump", web::get().to(dump))
            .route("/faults", web::post().to(add_fault))
            .route("/faults", web::delete().to(clear_faults))
            .route("/webhooks/faults", web::post().to(webhook_faults))
            .route(
                "/webhooks/subscriptions",
                web::post().to(webhook_subscriptions),
            )
            .route("/webhooks/deliveries", web::get().to(deliveries))
            .route("/settings", web::post().to(settings))
            .route("/stats", web::get().to(stats))
            .route("/clock", web::get().to(clock))
            .route("/clock", web::post().to(advance_clock))
            .route("/reset", web::post().to(reset)),
    );
}

fn bad(message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": message.to_string()}))
}

macro_rules! body_or_400 {
    ($body:expr) => {
        match parse(&$body) {
            Ok(v) => v,
            Err(e) => return bad(e),
        }
    };
}

async fn app(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let config: AppConfig = body_or_400!(body);
    sim.register_app(config);
    HttpResponse::NoContent().finish()
}

/// `{"uid": "holded_deal_event"}` → `{"fullyQualifiedName": "…"}`.
async fn app_event_type(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    #[derive(serde::Deserialize)]
    struct EventType {
        uid: String,
    }
    let input: EventType = body_or_400!(body);
    let name = sim.register_app_event_type(&input.uid);
    HttpResponse::Created().json(json!({"fullyQualifiedName": name}))
}

async fn create_portal(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let input: NewPortal = if body.is_empty() {
        NewPortal::default()
    } else {
        body_or_400!(body)
    };
    HttpResponse::Created().json(sim.create_portal(input))
}

async fn install(sim: web::Data<HubspotSim>, path: web::Path<u64>) -> HttpResponse {
    match sim.set_install_portal(*path) {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => bad(e),
    }
}

async fn uninstall(sim: web::Data<HubspotSim>, path: web::Path<u64>) -> HttpResponse {
    sim.uninstall(*path);
    HttpResponse::NoContent().finish()
}

/// A user to add: `{"email": "…", "superAdmin": false}`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUser {
    email: String,
    #[serde(default)]
    super_admin: bool,
}

async fn add_user(
    sim: web::Data<HubspotSim>,
    path: web::Path<u64>,
    body: web::Bytes,
) -> HttpResponse {
    let input: NewUser = body_or_400!(body);
    match sim.add_user(*path, &input.email, input.super_admin) {
        Ok(user) => HttpResponse::Created().json(user.to_json()),
        Err(e) => bad(e),
    }
}

/// `{"scope": "settings.users.read"}`.
#[derive(serde::Deserialize)]
struct Scope {
    scope: String,
}

async fn withhold_scope(
    sim: web::Data<HubspotSim>,
    path: web::Path<u64>,
    body: web::Bytes,
) -> HttpResponse {
    let input: Scope = body_or_400!(body);
    sim.withhold_scope(*path, &input.scope);
    HttpResponse::NoContent().finish()
}

async fn gdpr_delete_contact(
    sim: web::Data<HubspotSim>,
    path: web::Path<(u64, u64)>,
) -> HttpResponse {
    let (portal, contact) = path.into_inner();
    match sim.gdpr_delete_contact(portal, contact) {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => bad(e),
    }
}

async fn seed_deal(
    sim: web::Data<HubspotSim>,
    path: web::Path<u64>,
    body: web::Bytes,
) -> HttpResponse {
    let seed: SeedDeal = body_or_400!(body);
    match sim.seed_deal(*path, seed) {
        Ok(seeded) => HttpResponse::Created().json(seeded),
        Err(e) => bad(e),
    }
}

async fn seed_records(
    sim: web::Data<HubspotSim>,
    path: web::Path<(u64, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let records: Vec<BTreeMap<String, String>> = body_or_400!(body);
    let (portal, object_type) = path.into_inner();
    let Some(t) = ObjType::parse(&object_type) else {
        return bad(format!("unknown object type {object_type}"));
    };
    match sim.seed_records(portal, t, records) {
        Ok(ids) => HttpResponse::Created().json(json!({"ids": ids})),
        Err(e) => bad(e),
    }
}

async fn move_deal(
    sim: web::Data<HubspotSim>,
    path: web::Path<(u64, u64)>,
    body: web::Bytes,
) -> HttpResponse {
    let input: Value = body_or_400!(body);
    let Some(stage) = input.get("stage").and_then(Value::as_str) else {
        return bad("body must be {\"stage\": \"…\"}");
    };
    let (portal, deal) = path.into_inner();
    match sim.move_deal(portal, deal, stage) {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => bad(e),
    }
}

async fn add_pipeline(
    sim: web::Data<HubspotSim>,
    path: web::Path<u64>,
    body: web::Bytes,
) -> HttpResponse {
    let input: NewPipeline = body_or_400!(body);
    match sim.add_pipeline(*path, input) {
        Ok(p) => HttpResponse::Created().json(p),
        Err(e) => bad(e),
    }
}

async fn required_properties(
    sim: web::Data<HubspotSim>,
    path: web::Path<u64>,
    body: web::Bytes,
) -> HttpResponse {
    #[derive(serde::Deserialize)]
    struct Required {
        object_type: String,
        properties: Vec<String>,
    }
    let input: Required = body_or_400!(body);
    let Some(t) = ObjType::parse(&input.object_type) else {
        return bad(format!("unknown object type {}", input.object_type));
    };
    match sim.set_required_properties(*path, t, input.properties) {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => bad(e),
    }
}

async fn add_tax_rate(
    sim: web::Data<HubspotSim>,
    path: web::Path<u64>,
    body: web::Bytes,
) -> HttpResponse {
    let input: NewTaxRate = body_or_400!(body);
    match sim.add_tax_rate(*path, input) {
        Ok(id) => HttpResponse::Created().json(json!({"id": id})),
        Err(e) => bad(e),
    }
}

async fn dump(sim: web::Data<HubspotSim>, path: web::Path<u64>) -> HttpResponse {
    match sim.dump(*path) {
        Some(d) => HttpResponse::Ok().json(d),
        None => HttpResponse::NotFound().json(json!({"error": "no such portal"})),
    }
}

async fn add_fault(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let fault: Fault = body_or_400!(body);
    sim.add_fault(fault);
    HttpResponse::NoContent().finish()
}

async fn clear_faults(sim: web::Data<HubspotSim>) -> HttpResponse {
    sim.clear_faults();
    HttpResponse::NoContent().finish()
}

async fn webhook_faults(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let faults: WebhookFaults = body_or_400!(body);
    sim.set_webhook_faults(faults);
    HttpResponse::NoContent().finish()
}

/// A webhooks `*-hsmeta.json` component: what the app subscribes to.
async fn webhook_subscriptions(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let component: Value = body_or_400!(body);
    match sim.set_webhook_subscriptions(&component) {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => bad(e),
    }
}

async fn deliveries(sim: web::Data<HubspotSim>) -> HttpResponse {
    HttpResponse::Ok().json(sim.deliveries())
}

async fn settings(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let settings: Settings = body_or_400!(body);
    sim.set_settings(settings);
    HttpResponse::NoContent().finish()
}

async fn stats(sim: web::Data<HubspotSim>) -> HttpResponse {
    HttpResponse::Ok().json(sim.stats())
}

async fn clock(sim: web::Data<HubspotSim>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"now": sim.now()}))
}

async fn advance_clock(sim: web::Data<HubspotSim>, body: web::Bytes) -> HttpResponse {
    let input: Value = body_or_400!(body);
    let Some(seconds) = input.get("advance_seconds").and_then(Value::as_i64) else {
        return bad("body must be {\"advance_seconds\": n}");
    };
    sim.advance_clock(chrono::Duration::seconds(seconds));
    HttpResponse::Ok().json(json!({"now": sim.now()}))
}

async fn reset(sim: web::Data<HubspotSim>) -> HttpResponse {
    sim.reset();
    HttpResponse::NoContent().finish()
}
