//! `/crm/v3/properties/…` and `/crm/properties/2026-09/…`: properties and groups.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{
    HubspotSim,
    errors::{ApiError, ApiResult},
    gate::Caller,
    model::{Group, ObjType, PropDef, PropOption, Tier},
    objects::{object_type, parse},
    store::query_param,
};

/// Registers property routes under `prefix`.
pub fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.route(
        &format!("{prefix}/{{t}}/groups"),
        web::get().to(list_groups),
    )
    .route(
        &format!("{prefix}/{{t}}/groups"),
        web::post().to(create_group),
    )
    .route(
        &format!("{prefix}/{{t}}/groups/{{name}}"),
        web::get().to(get_group),
    )
    .route(&format!("{prefix}/{{t}}"), web::get().to(list))
    .route(&format!("{prefix}/{{t}}"), web::post().to(create))
    .route(&format!("{prefix}/{{t}}/{{name}}"), web::get().to(get_one));
}

fn schema_write_scopes(t: ObjType) -> Vec<String> {
    match t {
        ObjType::Products | ObjType::LineItems => vec!["e-commerce".into()],
        _ => vec![format!("crm.schemas.{}.write", t.name())],
    }
}

async fn list_groups(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> ApiResult {
    let t = object_type(&path)?;
    let state = sim.lock();
    let groups: Vec<&Group> = state.portals[&caller.portal_id].groups[&t]
        .values()
        .collect();
    Ok(HttpResponse::Ok().json(json!({"results": groups})))
}

async fn get_group(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (t, name) = path.into_inner();
    let t = object_type(&t)?;
    let state = sim.lock();
    let group = state.portals[&caller.portal_id].groups[&t]
        .get(&name)
        .ok_or_else(|| ApiError::not_found(format!("Unable to find property group {name}")))?;
    Ok(HttpResponse::Ok().json(group))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupCreate {
    name: String,
    label: String,
    #[serde(default)]
    display_order: i64,
}

async fn create_group(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult {
    let t = object_type(&path)?;
    caller.require(&schema_write_scopes(t))?;
    let input: GroupCreate = parse(&body)?;
    let mut state = sim.lock();
    let groups = state
        .portals
        .get_mut(&caller.portal_id)
        .expect("portal")
        .groups
        .get_mut(&t)
        .expect("groups");
    if groups.contains_key(&input.name) {
        return Err(ApiError::conflict(format!(
            "A property group named '{}' already exists.",
            input.name
        )));
    }
    let group = Group {
        name: input.name.clone(),
        label: input.label,
        display_order: input.display_order,
        archived: false,
    };
    groups.insert(input.name, group.clone());
    Ok(HttpResponse::Created().json(group))
}

async fn list(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult {
    let t = object_type(&path)?;
    let wanted = wanted_sensitivity(&req);
    let state = sim.lock();
    let results: Vec<_> = state.portals[&caller.portal_id]
        .props(t)
        .values()
        .filter(|p| p.data_sensitivity == wanted)
        .map(PropDef::to_json)
        .collect();
    Ok(HttpResponse::Ok().json(json!({"results": results})))
}

/// The sensitivity a read asks for (`dataSensitivity`, `non_sensitive` by
/// default, as the spec declares for both the list and the single read).
fn wanted_sensitivity(req: &HttpRequest) -> String {
    query_param(req.query_string(), "dataSensitivity").unwrap_or_else(|| "non_sensitive".into())
}

async fn get_one(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> ApiResult {
    let (t, name) = path.into_inner();
    let t = object_type(&t)?;
    let wanted = wanted_sensitivity(&req);
    let state = sim.lock();
    let def = state.portals[&caller.portal_id]
        .props(t)
        .get(&name)
        .filter(|def| def.data_sensitivity == wanted)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Unable to find property {name} for object type {}",
                t.type_id()
            ))
        })?;
    Ok(HttpResponse::Ok().json(def.to_json()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyCreate {
    name: String,
    label: String,
    #[serde(rename = "type")]
    kind: String,
    field_type: String,
    group_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    has_unique_value: bool,
    #[serde(default)]
    options: Vec<PropOption>,
    data_sensitivity: Option<String>,
}

const FIELD_TYPES: [(&str, &[&str]); 6] = [
    (
        "string",
        &[
            "text",
            "textarea",
            "html",
            "phonenumber",
            "file",
            "calculation_equation",
        ],
    ),
    ("number", &["number", "calculation_equation"]),
    ("bool", &["booleancheckbox", "calculation_equation"]),
    (
        "enumeration",
        &[
            "select",
            "radio",
            "checkbox",
            "booleancheckbox",
            "calculation_equation",
        ],
    ),
    ("date", &["date", "calculation_equation"]),
    ("datetime", &["date", "calculation_equation"]),
];

async fn create(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult {
    let t = object_type(&path)?;
    caller.require(&schema_write_scopes(t))?;
    let input: PropertyCreate = parse(&body)?;
    let mut state = sim.lock();
    let now = state.now();
    let portal = state.portals.get_mut(&caller.portal_id).expect("portal");
    if portal.props(t).contains_key(&input.name) {
        return Err(ApiError::conflict(format!(
            "Property named '{}' already exists.",
            input.name
        )));
    }
    match FIELD_TYPES.iter().find(|(k, _)| *k == input.kind) {
        None => {
            return Err(ApiError::validation(format!(
                "Invalid property type: {}",
                input.kind
            )));
        }
        Some((_, allowed)) if !allowed.contains(&input.field_type.as_str()) => {
            return Err(ApiError::validation(format!(
                "fieldType {} is not valid for a property of type {}",
                input.field_type, input.kind
            )));
        }
        _ => {}
    }
    if !portal.groups[&t].contains_key(&input.group_name) {
        return Err(ApiError::validation(format!(
            "Property group {} does not exist",
            input.group_name
        )));
    }
    if input.kind == "enumeration"
        && input.options.is_empty()
        && input.field_type != "booleancheckbox"
    {
        return Err(ApiError::validation(
            "Enumeration properties must have options",
        ));
    }
    let sensitivity = input
        .data_sensitivity
        .unwrap_or_else(|| "non_sensitive".into());
    if sensitivity != "non_sensitive" && portal.tier != Tier::Enterprise {
        return Err(ApiError::new(
            403,
            "MISSING_SCOPES",
            "Sensitive data properties require a HubSpot Enterprise account",
        ));
    }
    if let Some(scope) = t.sensitive_scope(&sensitivity, true) {
        caller.require(&[scope])?;
    }
    if input.has_unique_value {
        if !t.supports_unique_properties() {
            return Err(ApiError::validation(format!(
                "Unique value properties are not supported on {}",
                t.name()
            )));
        }
        if portal
            .props(t)
            .values()
            .filter(|p| p.has_unique_value)
            .count()
            >= 10
        {
            return Err(ApiError::validation(
                "An object may have at most 10 unique value properties",
            ));
        }
    }
    let def = PropDef {
        name: input.name.clone(),
        label: input.label,
        kind: input.kind,
        field_type: input.field_type,
        group_name: input.group_name,
        description: input.description,
        has_unique_value: input.has_unique_value,
        options: input.options,
        data_sensitivity: sensitivity,
        hubspot_defined: false,
        read_only: false,
        created_at: now,
    };
    let json = def.to_json();
    if def.has_unique_value {
        portal.index_values(t, &def.name);
    }
    portal
        .properties
        .get_mut(&t)
        .expect("props")
        .insert(input.name, def);
    Ok(HttpResponse::Created().json(json))
}
