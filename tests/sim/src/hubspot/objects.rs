//! `/crm/v3/objects/…` and `/crm/objects/2026-09/…`: single and batch
//! reads and writes with HubSpot's validation, unique values and 207s.

use std::collections::{BTreeMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    HubspotSim,
    errors::{ApiError, ApiResult},
    gate::Caller,
    model::{ObjType, association_ids},
    state::State,
    store::{self, Claims, InputError, Source},
};

/// Largest batch.
const BATCH_LIMIT: usize = 100;

/// Registers the object routes under `prefix`.
pub fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.route(
        &format!("{prefix}/{{t}}/search"),
        web::post().to(super::search::search),
    )
    .route(
        &format!("{prefix}/{{t}}/batch/{{action}}"),
        web::post().to(batch),
    )
    .route(&format!("{prefix}/{{t}}"), web::get().to(list))
    .route(&format!("{prefix}/{{t}}"), web::post().to(create_one))
    .route(&format!("{prefix}/{{t}}/{{id}}"), web::get().to(get_one))
    .route(
        &format!("{prefix}/{{t}}/{{id}}"),
        web::patch().to(update_one),
    )
    .route(
        &format!("{prefix}/{{t}}/{{id}}"),
        web::delete().to(archive_one),
    );
}

/// Parses a JSON body the way HubSpot reports errors.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_json(&e))
}

/// Parses the object type segment.
pub fn object_type(segment: &str) -> Result<ObjType, ApiError> {
    ObjType::parse(segment)
        .ok_or_else(|| ApiError::validation(format!("Unable to infer object type from: {segment}")))
}

fn source(caller: &Caller) -> Source {
    if caller.app_token {
        Source::App
    } else {
        Source::OtherIntegration
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Object not found.  objectId are usually numeric. id: {id}"
    ))
}

/// Resolves `id` (record id, or the value of a unique `id_property`) to a live record.
fn resolve(
    state: &State,
    portal: u64,
    t: ObjType,
    id: &str,
    id_property: Option<&str>,
) -> Result<Option<u64>, ApiError> {
    match id_property.filter(|p| *p != "hs_object_id") {
        Some(prop) => {
            if !store::unique_properties(state, portal, t)
                .iter()
                .any(|u| u == prop)
            {
                return Err(non_unique(t, prop));
            }
            Ok(store::find_by(state, portal, t, prop, id))
        }
        None => Ok(id.parse::<u64>().ok().filter(|n| {
            state.portals[&portal]
                .records
                .get(&t)
                .and_then(|r| r.get(n))
                .is_some_and(|r| !r.archived)
        })),
    }
}

fn non_unique(t: ObjType, prop: &str) -> ApiError {
    ApiError::validation(format!(
        "Unable to perform update/upsert by non-unique {} property {prop}",
        t.type_id()
    ))
}

#[derive(Deserialize)]
struct AssocInput {
    to: IdRef,
    types: Vec<AssocSpec>,
}

#[derive(Deserialize)]
struct IdRef {
    id: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssocSpec {
    association_category: String,
    association_type_id: u32,
}

/// Resolves create-time associations to `(to type, to id, type id)`.
fn check_associations(
    state: &State,
    portal: u64,
    t: ObjType,
    inputs: &[AssocInput],
) -> Result<Vec<(ObjType, u64, u32)>, ApiError> {
    let mut out = Vec::new();
    for input in inputs {
        let to_id = match &input.to.id {
            Value::String(s) => s.parse::<u64>().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        for spec in &input.types {
            let to_type = ObjType::ALL.into_iter().find(|to| {
                association_ids(t, *to).is_some_and(|(u, p)| {
                    u == spec.association_type_id || p == Some(spec.association_type_id)
                })
            });
            let (Some(to_type), Some(to_id), "HUBSPOT_DEFINED") =
                (to_type, to_id, spec.association_category.as_str())
            else {
                return Err(ApiError::validation(format!(
                    "invalid association type {} ({}) from {}",
                    spec.association_type_id,
                    spec.association_category,
                    t.name()
                )));
            };
            if state.portals[&portal]
                .records
                .get(&to_type)
                .and_then(|r| r.get(&to_id))
                .is_none_or(|r| r.archived)
            {
                return Err(ApiError::validation(format!(
                    "{} {to_id} does not exist for association",
                    to_type.singular()
                )));
            }
            out.push((to_type, to_id, spec.association_type_id));
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct CreateBody {
    #[serde(default)]
    properties: BTreeMap<String, Value>,
    #[serde(default)]
    associations: Vec<AssocInput>,
}

/// HubSpot wants strings; numbers and booleans are coerced as it does, others refused.
fn string_values(values: BTreeMap<String, Value>) -> Result<BTreeMap<String, String>, ApiError> {
    values
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, b.to_string())),
            Value::Null => Ok((k, String::new())),
            other => Err(ApiError::validation(format!(
                "Invalid input JSON: property {k} must be a string, not {other}"
            ))),
        })
        .collect()
}

async fn create_one(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult {
    let t = object_type(&path)?;
    caller.require(&t.scopes(true))?;
    let input: CreateBody = parse(&body)?;
    let values = string_values(input.properties)?;
    let mut state = sim.lock();
    let portal = caller.portal_id;
    caller.require_sensitive(
        t,
        state.portals[&portal].props(t),
        values.keys().map(String::as_str),
        true,
    )?;
    let assocs = check_associations(&state, portal, t, &input.associations)?;
    if caller.enforces_required {
        store::check_required(&state, portal, t, &values).map_err(InputError::into_api)?;
    }
    store::check_write(&state, portal, t, &values, None, &mut Claims::new())
        .map_err(InputError::into_api)?;
    let id = store::create(&mut state, portal, t, values.clone());
    let p = state.portals.get_mut(&portal).expect("portal");
    for (to_type, to_id, type_id) in assocs {
        p.associate(t, id, to_type, to_id, type_id);
    }
    Ok(HttpResponse::Created().json(store::written_json(&state, portal, t, id, &values)))
}

async fn get_one(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> ApiResult {
    let (t, id) = path.into_inner();
    let t = object_type(&t)?;
    caller.require(&t.scopes(false))?;
    let state = sim.lock();
    let id_property = store::query_param(req.query_string(), "idProperty");
    let archived = store::query_param(req.query_string(), "archived").as_deref() == Some("true");
    let props = store::requested_properties(req.query_string());
    caller.require_sensitive(
        t,
        state.portals[&caller.portal_id].props(t),
        props
            .iter()
            .flatten()
            .chain(&id_property)
            .map(String::as_str),
        false,
    )?;
    let records = state.portals[&caller.portal_id].records.get(&t);
    let found = if archived {
        id.parse::<u64>()
            .ok()
            .and_then(|n| records?.get(&n))
            .filter(|r| r.archived)
            .map(|r| r.id)
    } else {
        resolve(&state, caller.portal_id, t, &id, id_property.as_deref())?
    };
    let record = found
        .and_then(|n| records?.get(&n))
        .ok_or_else(|| not_found(&id))?;
    let mut v = record.to_json(t, props.as_deref());
    if let Some(to) = store::query_param(req.query_string(), "associations") {
        v["associations"] = associations_of(&state, caller.portal_id, t, record.id, &to);
    }
    if let Some(names) = store::history_properties(req.query_string()) {
        v["propertiesWithHistory"] = record.history_json(&names);
    }
    Ok(HttpResponse::Ok().json(v))
}

fn associations_of(state: &State, portal: u64, t: ObjType, id: u64, to: &str) -> Value {
    let mut out = serde_json::Map::new();
    for to_type in to.split(',').filter_map(ObjType::parse) {
        let results: Vec<Value> = state.portals[&portal]
            .associations
            .of_record(t, id, to_type)
            .map(|a| json!({"id": a.to_id.to_string(), "type": format!("{}_to_{}", t.singular(), to_type.singular())}))
            .collect();
        out.insert(to_type.name().into(), json!({"results": results}));
    }
    Value::Object(out)
}

async fn list(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult {
    let t = object_type(&path)?;
    caller.require(&t.scopes(false))?;
    let q = req.query_string();
    let limit: usize = store::query_param(q, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10)
        .clamp(1, 100);
    let after: u64 = store::query_param(q, "after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let archived = store::query_param(q, "archived").as_deref() == Some("true");
    let props = store::requested_properties(q);
    let state = sim.lock();
    caller.require_sensitive(
        t,
        state.portals[&caller.portal_id].props(t),
        props.iter().flatten().map(String::as_str),
        false,
    )?;
    let records: Vec<_> = state.portals[&caller.portal_id]
        .records
        .get(&t)
        .map(|r| {
            r.range(after..)
                .filter(|(_, r)| r.archived == archived)
                .take(limit + 1)
                .map(|(_, r)| r)
                .collect()
        })
        .unwrap_or_default();
    let mut body = json!({"results": records.iter().take(limit).map(|r| r.to_json(t, props.as_deref())).collect::<Vec<_>>()});
    if let Some(next) = records.get(limit) {
        body["paging"] = json!({"next": {"after": next.id.to_string()}});
    }
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
struct PatchBody {
    properties: BTreeMap<String, Value>,
}

async fn update_one(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult {
    let (t, id) = path.into_inner();
    let t = object_type(&t)?;
    caller.require(&t.scopes(true))?;
    let values = string_values(parse::<PatchBody>(&body)?.properties)?;
    let mut state = sim.lock();
    let portal = caller.portal_id;
    let id_property = store::query_param(req.query_string(), "idProperty");
    caller.require_sensitive(
        t,
        state.portals[&portal].props(t),
        values.keys().chain(&id_property).map(String::as_str),
        true,
    )?;
    let found =
        resolve(&state, portal, t, &id, id_property.as_deref())?.ok_or_else(|| not_found(&id))?;
    store::check_write(&state, portal, t, &values, Some(found), &mut Claims::new())
        .map_err(InputError::into_api)?;
    store::update(&mut state, portal, t, found, &values, source(&caller));
    Ok(HttpResponse::Ok().json(store::written_json(&state, portal, t, found, &values)))
}

async fn archive_one(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (t, id) = path.into_inner();
    let t = object_type(&t)?;
    caller.require(&t.scopes(true))?;
    let mut state = sim.lock();
    if let Some(found) = resolve(&state, caller.portal_id, t, &id, None)? {
        store::archive(&mut state, caller.portal_id, t, found);
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct BatchBody {
    inputs: Vec<Value>,
    #[serde(default)]
    properties: Vec<String>,
    #[serde(rename = "idProperty")]
    id_property: Option<String>,
}

/// One input of a batch write, parsed.
struct WriteInput {
    id: Option<String>,
    id_property: Option<String>,
    values: BTreeMap<String, String>,
    associations: Vec<AssocInput>,
    trace: Option<String>,
}

/// Parses one batch write input; only creates take `associations` (the
/// update and upsert inputs have no such field, so HubSpot ignores it).
fn write_input(mut v: Value, create: bool) -> Result<WriteInput, ApiError> {
    if !create && let Some(fields) = v.as_object_mut() {
        fields.remove("associations");
    }
    #[derive(Deserialize)]
    struct Raw {
        id: Option<Value>,
        #[serde(rename = "idProperty")]
        id_property: Option<String>,
        #[serde(default)]
        properties: BTreeMap<String, Value>,
        #[serde(default)]
        associations: Vec<AssocInput>,
        #[serde(rename = "objectWriteTraceId")]
        trace: Option<String>,
    }
    let raw: Raw = serde_json::from_value(v).map_err(|e| ApiError::bad_json(&e))?;
    let id = raw.id.map(|id| match id {
        Value::String(s) => s,
        other => other.to_string(),
    });
    Ok(WriteInput {
        id,
        id_property: raw.id_property,
        values: string_values(raw.properties)?,
        associations: raw.associations,
        trace: raw.trace.filter(|t| !t.is_empty()),
    })
}

async fn batch(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult {
    let (t, action) = path.into_inner();
    let t = object_type(&t)?;
    let write = action != "read";
    caller.require(&t.scopes(write))?;
    let body: BatchBody = parse(&body)?;
    if body.inputs.len() > BATCH_LIMIT {
        return Err(ApiError::validation(format!(
            "Batch input of {} inputs exceeds the limit of {BATCH_LIMIT}",
            body.inputs.len()
        )));
    }
    let mut state = sim.lock();
    match action.as_str() {
        "read" => {
            caller.require_sensitive(
                t,
                state.portals[&caller.portal_id].props(t),
                body.properties
                    .iter()
                    .chain(&body.id_property)
                    .map(String::as_str),
                false,
            )?;
            batch_read(&state, caller.portal_id, t, body, req.query_string())
        }
        "archive" => {
            for input in &body.inputs {
                let id = input
                    .get("id")
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .unwrap_or_default();
                if let Some(found) = resolve(&state, caller.portal_id, t, &id, None)? {
                    store::archive(&mut state, caller.portal_id, t, found);
                }
            }
            Ok(HttpResponse::NoContent().finish())
        }
        "create" | "update" | "upsert" => {
            let inputs = body
                .inputs
                .into_iter()
                .map(|v| write_input(v, action == "create"))
                .collect::<Result<Vec<_>, _>>()?;
            caller.require_sensitive(
                t,
                state.portals[&caller.portal_id].props(t),
                inputs
                    .iter()
                    .flat_map(|i| i.values.keys().chain(&i.id_property))
                    .map(String::as_str),
                true,
            )?;
            batch_write(&mut state, &caller, t, &action, inputs)
        }
        _ => Err(ApiError::not_found(format!(
            "Unknown batch action {action}"
        ))),
    }
}

fn batch_read(state: &State, portal: u64, t: ObjType, body: BatchBody, query: &str) -> ApiResult {
    let archived = store::query_param(query, "archived").as_deref() == Some("true");
    let props = (!body.properties.is_empty()).then_some(body.properties);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for input in &body.inputs {
        let id = input
            .get("id")
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default();
        let found = if archived {
            id.parse::<u64>().ok().filter(|n| {
                state.portals[&portal]
                    .records
                    .get(&t)
                    .and_then(|r| r.get(n))
                    .is_some_and(|r| r.archived)
            })
        } else {
            resolve(state, portal, t, &id, body.id_property.as_deref())?
        };
        match found {
            Some(n) => {
                results.push(state.portals[&portal].records[&t][&n].to_json(t, props.as_deref()))
            }
            None => missing.push(id),
        }
    }
    let mut response = json!({"status": "COMPLETE", "results": results});
    merge(&mut response, store::batch_times(state));
    if missing.is_empty() {
        return Ok(HttpResponse::Ok().json(response));
    }
    response["numErrors"] = json!(1);
    response["errors"] = json!([{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some records, they may be deleted or not exist.",
                                 "context": {"ids": missing}, "errors": [], "links": {}}]);
    Ok(HttpResponse::build(actix_web::http::StatusCode::MULTI_STATUS).json(response))
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
}

/// What one input will do once the batch is accepted.
enum Plan {
    Create {
        values: BTreeMap<String, String>,
        assocs: Vec<(ObjType, u64, u32)>,
    },
    Update {
        id: u64,
        values: BTreeMap<String, String>,
    },
}

fn batch_write(
    state: &mut State,
    caller: &Caller,
    t: ObjType,
    action: &str,
    inputs: Vec<WriteInput>,
) -> ApiResult {
    let portal = caller.portal_id;
    // Structural checks fail the whole batch.
    if action != "create" {
        let mut seen = HashSet::new();
        let duplicates: Vec<String> = inputs
            .iter()
            .filter_map(|i| i.id.clone())
            .filter(|id| !seen.insert(id.clone()))
            .collect();
        if !duplicates.is_empty() {
            return Err(ApiError::validation(format!(
                "Duplicate IDs found in batch input: {duplicates:?}. IDs must be unique"
            )));
        }
        let uniques = store::unique_properties(state, portal, t);
        for input in &inputs {
            match (action, input.id_property.as_deref()) {
                ("upsert", None) => {
                    return Err(ApiError::validation("idProperty is required for upsert"));
                }
                (_, Some(p))
                    if p != "hs_object_id"
                        && (!uniques.iter().any(|u| u == p)
                            || (action == "update" && p == "email")) =>
                {
                    return Err(non_unique(t, p));
                }
                _ => {}
            }
            if input.id.as_deref().is_none_or(str::is_empty) {
                return Err(ApiError::validation("Each input must have an id"));
            }
        }
    }
    // Per-input errors (207) only when every input has its own trace id, and
    // (by default) only for creates: one bad upsert or update input refuses
    // the whole request.
    let mut traces = HashSet::new();
    let traced = (action == "create" || state.settings.multi_status_upserts)
        && !inputs.is_empty()
        && inputs
            .iter()
            .all(|i| i.trace.as_ref().is_some_and(|t| traces.insert(t)));
    let mut claims = Claims::new();
    let mut plans: Vec<(Option<String>, Result<Plan, InputError>)> = Vec::new();
    for input in inputs {
        let trace = input.trace.clone();
        plans.push((
            trace,
            plan_input(state, caller, t, action, input, &mut claims),
        ));
    }
    if !traced && let Some(index) = plans.iter().position(|(_, p)| p.is_err()) {
        let (_, plan) = plans.swap_remove(index);
        return Err(plan.err().expect("an error").into_api());
    }
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (trace, plan) in plans {
        match plan {
            Ok(plan) => results.push(apply(state, caller, t, plan, action == "upsert", trace)),
            Err(e) => {
                let mut body = e.into_api().body;
                body["context"] = json!({"objectWriteTraceId": [trace]});
                body["links"] = json!({});
                if body.get("errors").is_none() {
                    body["errors"] = json!([]);
                }
                errors.push(body);
            }
        }
    }
    let mut response = json!({"status": "COMPLETE", "results": results});
    merge(&mut response, store::batch_times(state));
    if !errors.is_empty() {
        response["numErrors"] = json!(errors.len());
        response["errors"] = Value::Array(errors);
        return Ok(HttpResponse::build(actix_web::http::StatusCode::MULTI_STATUS).json(response));
    }
    Ok(if action == "create" {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(response))
}

/// Checks one input of a batch write and decides what it will do.
fn plan_input(
    state: &State,
    caller: &Caller,
    t: ObjType,
    action: &str,
    input: WriteInput,
    claims: &mut Claims,
) -> Result<Plan, InputError> {
    let WriteInput {
        id,
        id_property,
        mut values,
        associations,
        ..
    } = input;
    let (id, id_property) = (id.as_deref(), id_property.as_deref());
    let portal = caller.portal_id;
    let existing = match (action, id) {
        ("create", _) | (_, None) => None,
        (_, Some(id)) => resolve(state, portal, t, id, id_property).map_err(InputError::Other)?,
    };
    match (action, existing) {
        ("update", None) => Err(InputError::Other(not_found(id.unwrap_or_default()))),
        (_, Some(found)) => {
            store::check_write(state, portal, t, &values, Some(found), claims)?;
            Ok(Plan::Update { id: found, values })
        }
        (_, None) => {
            if action == "upsert"
                && let (Some(prop), Some(id)) = (id_property, id)
            {
                values.insert(prop.to_owned(), id.to_owned());
            }
            let assocs =
                check_associations(state, portal, t, &associations).map_err(InputError::Other)?;
            if caller.enforces_required {
                store::check_required(state, portal, t, &values)?;
            }
            store::check_write(state, portal, t, &values, None, claims)?;
            Ok(Plan::Create { values, assocs })
        }
    }
}

fn apply(
    state: &mut State,
    caller: &Caller,
    t: ObjType,
    plan: Plan,
    upsert: bool,
    trace: Option<String>,
) -> Value {
    let portal = caller.portal_id;
    let (id, values, new) = match plan {
        Plan::Create { values, assocs } => {
            let id = store::create(state, portal, t, values.clone());
            let p = state.portals.get_mut(&portal).expect("portal");
            for (to_type, to_id, type_id) in assocs {
                p.associate(t, id, to_type, to_id, type_id);
            }
            (id, values, true)
        }
        Plan::Update { id, values } => {
            store::update(state, portal, t, id, &values, source(caller));
            (id, values, false)
        }
    };
    let mut v = store::written_json(state, portal, t, id, &values);
    if upsert {
        v["new"] = json!(new);
    }
    if let Some(trace) = trace {
        v["objectWriteTraceId"] = json!(trace);
    }
    v
}
