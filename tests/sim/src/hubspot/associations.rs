//! `/crm/v4/associations/…` and `/crm/associations/2026-09/…` batch create and read.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    HubspotSim,
    errors::{ApiError, ApiResult},
    gate::Caller,
    model::{ObjType, association_ids},
    objects::{object_type, parse},
    store::batch_times,
};

/// Ids per batch read.
const READ_LIMIT: usize = 1_000;
/// Associations per record per page.
const PAGE: usize = 500;

/// Registers association routes under `prefix`.
pub fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.route(
        &format!("{prefix}/{{from}}/{{to}}/batch/create"),
        web::post().to(create),
    )
    .route(
        &format!("{prefix}/{{from}}/{{to}}/batch/read"),
        web::post().to(read),
    );
}

#[derive(Deserialize)]
struct Inputs<T> {
    inputs: Vec<T>,
}

#[derive(Deserialize)]
struct CreateInput {
    from: IdRef,
    to: IdRef,
    types: Vec<Spec>,
}

#[derive(Deserialize)]
struct IdRef {
    id: Value,
}

fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    association_category: String,
    association_type_id: u32,
}

async fn create(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult {
    let (from, to) = path.into_inner();
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    caller.require(&from.scopes(true))?;
    let inputs: Inputs<CreateInput> = parse(&body)?;
    let mut state = sim.lock();
    let times = batch_times(&state);
    let portal = state.portals.get_mut(&caller.portal_id).expect("portal");
    let (unlabeled, primary) = association_ids(from, to).ok_or_else(|| {
        ApiError::validation(format!(
            "{} cannot be associated to {}",
            from.name(),
            to.name()
        ))
    })?;
    let exists = |t: ObjType, id: Option<u64>, p: &super::model::Portal| {
        id.and_then(|id| p.records.get(&t)?.get(&id))
            .is_some_and(|r| !r.archived)
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for input in inputs.inputs {
        let (from_id, to_id) = (id_of(&input.from.id), id_of(&input.to.id));
        let bad_type = input.types.iter().find(|s| {
            s.association_category != "HUBSPOT_DEFINED"
                || (s.association_type_id != unlabeled && Some(s.association_type_id) != primary)
        });
        if let Some(spec) = bad_type {
            errors.push(json!({"status": "error", "category": "VALIDATION_ERROR", "message": format!("invalid association type {} ({})", spec.association_type_id, spec.association_category), "context": {}}));
            continue;
        }
        if !exists(from, from_id, portal) || !exists(to, to_id, portal) {
            errors.push(json!({"status": "error", "category": "VALIDATION_ERROR", "message": format!("No {} with id {:?} or {} with id {:?} exists", from.singular(), from_id, to.singular(), to_id), "context": {}}));
            continue;
        }
        let (from_id, to_id) = (from_id.unwrap_or_default(), to_id.unwrap_or_default());
        for spec in &input.types {
            portal.associate(from, from_id, to, to_id, spec.association_type_id);
        }
        let labels: Vec<Value> = input
            .types
            .iter()
            .filter(|s| Some(s.association_type_id) == primary)
            .map(|_| json!("Primary"))
            .collect();
        results.push(json!({"fromObjectTypeId": from.type_id(), "fromObjectId": from_id.to_string(), "toObjectTypeId": to.type_id(), "toObjectId": to_id.to_string(), "labels": labels}));
    }
    let mut response = json!({"status": "COMPLETE", "results": results});
    if let (Some(r), Value::Object(t)) = (response.as_object_mut(), times) {
        r.extend(t);
    }
    if errors.is_empty() {
        return Ok(HttpResponse::Ok().json(response));
    }
    response["numErrors"] = json!(errors.len());
    response["errors"] = Value::Array(errors);
    Ok(HttpResponse::build(actix_web::http::StatusCode::MULTI_STATUS).json(response))
}

#[derive(Deserialize)]
struct ReadInput {
    id: Value,
    after: Option<String>,
}

async fn read(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult {
    let (from, to) = path.into_inner();
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    caller.require(&from.scopes(false))?;
    let inputs: Inputs<ReadInput> = parse(&body)?;
    if inputs.inputs.len() > READ_LIMIT {
        return Err(ApiError::validation(format!(
            "Batch read is limited to {READ_LIMIT} inputs"
        )));
    }
    let state = sim.lock();
    let portal = &state.portals[&caller.portal_id];
    let mut results = Vec::new();
    for input in inputs.inputs {
        let Some(id) = id_of(&input.id) else { continue };
        let mut grouped: std::collections::BTreeMap<u64, Vec<u32>> =
            std::collections::BTreeMap::new();
        for a in portal.associations.of_record(from, id, to) {
            grouped.entry(a.to_id).or_default().push(a.type_id);
        }
        if grouped.is_empty() {
            continue;
        }
        let start: usize = input
            .after
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        let primary = association_ids(from, to).and_then(|(_, p)| p);
        let page: Vec<Value> = grouped
            .iter()
            .skip(start)
            .take(PAGE)
            .map(|(to_id, types)| {
                let types: Vec<Value> = types
                    .iter()
                    .map(|t| json!({"category": "HUBSPOT_DEFINED", "typeId": t, "label": if Some(*t) == primary { json!("Primary") } else { Value::Null }}))
                    .collect();
                json!({"toObjectId": to_id.to_string(), "associationTypes": types})
            })
            .collect();
        let mut result = json!({"from": {"id": id.to_string()}, "to": page});
        if start + PAGE < grouped.len() {
            result["paging"] = json!({"next": {"after": (start + PAGE).to_string()}});
        }
        results.push(result);
    }
    let mut response = json!({"status": "COMPLETE", "results": results});
    if let (Some(r), Value::Object(t)) = (response.as_object_mut(), batch_times(&state)) {
        r.extend(t);
    }
    Ok(HttpResponse::Ok().json(response))
}
