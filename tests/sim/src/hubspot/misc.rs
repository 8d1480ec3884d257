//! App events (timeline), tax rates and account details.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    HubspotSim,
    errors::{ApiError, ApiResult},
    gate::Caller,
    model::ObjType,
    objects::parse,
    state::State,
    store::{batch_times, query_param},
};

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/integrators/timeline/2026-03/events",
        web::post().to(event),
    )
    .route(
        "/integrators/timeline/2026-03/events/batch",
        web::post().to(events_batch),
    );
    for version in ["v1", "2026-09"] {
        cfg.route(
            &format!("/tax-rates/{version}/tax-rates"),
            web::get().to(tax_rates),
        )
        .route(
            &format!("/tax-rates/{version}/tax-rates/{{id}}"),
            web::get().to(tax_rate),
        );
    }
    for version in ["v3", "2026-03"] {
        cfg.route(
            &format!("/account-info/{version}/details"),
            web::get().to(account),
        );
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Occurrence {
    event_type_name: String,
    id: String,
    properties: serde_json::Map<String, Value>,
    object_id: Option<String>,
}

/// Checks one occurrence the way HubSpot does (the batch endpoint stores
/// none when one is refused).
fn check_event(state: &State, caller: &Caller, raw: &Value) -> Result<(), ApiError> {
    caller.require(&["timeline".to_owned()])?;
    let occurrence: Occurrence =
        serde_json::from_value(raw.clone()).map_err(|e| ApiError::bad_json(&e))?;
    let portal = &state.portals[&caller.portal_id];
    if !portal.app_events_approved {
        return Err(ApiError::new(
            403,
            "FORBIDDEN",
            "This app is not approved to send app events. App events are available only to approved technology partners.",
        ));
    }
    if occurrence.event_type_name.is_empty() {
        return Err(ApiError::validation("eventTypeName is required"));
    }
    let known = state
        .app_event_types
        .contains_key(&occurrence.event_type_name)
        || (state.settings.app_event_uids
            && state
                .app_event_types
                .values()
                .any(|uid| *uid == occurrence.event_type_name));
    if !known {
        return Err(ApiError::validation(format!(
            "Event type {} does not exist for this app: eventTypeName must be the fullyQualifiedName HubSpot assigned to one of the app's event types",
            occurrence.event_type_name
        )));
    }
    let on_a_deal = occurrence
        .object_id
        .as_deref()
        .and_then(|id| id.parse::<u64>().ok())
        .is_some_and(|id| {
            portal
                .records
                .get(&ObjType::Deals)
                .is_some_and(|r| r.contains_key(&id))
        });
    if !on_a_deal {
        return Err(ApiError::validation(format!(
            "Object {:?} does not exist",
            occurrence.object_id
        )));
    }
    if portal.app_events.iter().any(|e| {
        e["id"] == json!(occurrence.id) && e["eventTypeName"] == json!(occurrence.event_type_name)
    }) {
        return Err(ApiError::conflict(format!(
            "An event with id {} already exists",
            occurrence.id
        )));
    }
    if occurrence
        .properties
        .values()
        .any(|v| v.is_object() || v.is_array())
    {
        return Err(ApiError::validation(
            "App event property values must be strings, numbers or booleans",
        ));
    }
    Ok(())
}

/// Checks every occurrence, then stores them all (or none).
fn store_events(
    sim: &HubspotSim,
    caller: &Caller,
    events: Vec<Value>,
) -> Result<Vec<Value>, ApiError> {
    let mut state = sim.lock();
    for event in &events {
        check_event(&state, caller, event)?;
    }
    let portal = state.portals.get_mut(&caller.portal_id).expect("portal");
    portal.app_events.extend(events.iter().cloned());
    Ok(events)
}

async fn event(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    body: web::Bytes,
) -> ApiResult {
    let raw: Value = parse(&body)?;
    let stored = store_events(&sim, &caller, vec![raw])?;
    Ok(HttpResponse::Created().json(&stored[0]))
}

async fn events_batch(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    body: web::Bytes,
) -> ApiResult {
    #[derive(Deserialize)]
    struct Batch {
        inputs: Vec<Value>,
    }
    let batch: Batch = parse(&body)?;
    let results = store_events(&sim, &caller, batch.inputs)?;
    let mut response = json!({"status": "COMPLETE", "results": results});
    if let (Some(r), Value::Object(t)) = (response.as_object_mut(), batch_times(&sim.lock())) {
        r.extend(t);
    }
    Ok(HttpResponse::Ok().json(response))
}

async fn tax_rates(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    req: HttpRequest,
) -> ApiResult {
    caller.require(&["tax_rates.read".to_owned()])?;
    let q = req.query_string();
    let limit: usize = query_param(q, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let after: usize = query_param(q, "after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let state = sim.lock();
    let rates = &state.portals[&caller.portal_id].tax_rates;
    let mut body = json!({"results": rates.iter().skip(after).take(limit).collect::<Vec<_>>()});
    if after + limit < rates.len() {
        body["paging"] = json!({"next": {"after": (after + limit).to_string()}});
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn tax_rate(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> ApiResult {
    caller.require(&["tax_rates.read".to_owned()])?;
    let state = sim.lock();
    let rate = state.portals[&caller.portal_id]
        .tax_rates
        .iter()
        .find(|r| r.id == *path)
        .ok_or_else(|| ApiError::not_found(format!("Tax rate {} not found", path.as_str())))?;
    Ok(HttpResponse::Ok().json(rate))
}

async fn account(sim: web::Data<HubspotSim>, caller: web::ReqData<Caller>) -> ApiResult {
    let state = sim.lock();
    let p = &state.portals[&caller.portal_id];
    Ok(HttpResponse::Ok().json(json!({
        "portalId": p.id, "timeZone": p.time_zone, "companyCurrency": p.currency, "additionalCurrencies": [],
        "utcOffset": "", "utcOffsetMilliseconds": 0, "uiDomain": "app-eu1.hubspot.com", "dataHostingLocation": "eu1",
        "accountType": "STANDARD",
    })))
}
