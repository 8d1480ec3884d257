//! Record writes shared by the API handlers and the control surface:
//! validation, unique values, system properties, calculated amounts and the
//! webhook event a deal-stage change produces.

use std::{collections::BTreeMap, time::Instant};

use rust_decimal::Decimal;
use serde_json::json;

use super::{
    errors::{ApiError, PropertyIssue, invalid_properties},
    indexes::ValueIndex,
    model::{ObjType, Record, iso},
    state::State,
    validate,
};

/// Who made a change (what webhooks report as `changeSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The registered app through OAuth (`INTEGRATION`, `sourceId` = app id).
    App,
    /// Another integration (direct tokens; `INTEGRATION`, no app id).
    OtherIntegration,
    /// A user in HubSpot (`CRM_UI`).
    User,
}

/// Why one input was refused.
#[derive(Debug, Clone)]
pub enum InputError {
    /// Invalid values.
    Invalid(Vec<PropertyIssue>),
    /// Another error (conflict, not found, …).
    Other(ApiError),
}

impl InputError {
    /// As a whole-request error.
    pub fn into_api(self) -> ApiError {
        match self {
            Self::Invalid(issues) => invalid_properties(&issues),
            Self::Other(e) => e,
        }
    }
}

/// A unique value claimed within one batch: (property, value).
pub type Claims = std::collections::HashSet<(String, String)>;

/// Names of the properties whose values must be unique on `t`.
pub fn unique_properties(state: &State, portal: u64, t: ObjType) -> Vec<String> {
    let mut names: Vec<String> = state.portals[&portal]
        .props(t)
        .values()
        .filter(|p| p.has_unique_value)
        .map(|p| p.name.clone())
        .collect();
    if t == ObjType::Contacts {
        names.push("email".into());
    }
    names
}

/// The live record of `t` whose `property` (one of [`unique_properties`],
/// indexed from their creation) equals `value`: the lowest id among the
/// index's candidates that still hold it.
pub fn find_by(state: &State, portal: u64, t: ObjType, property: &str, value: &str) -> Option<u64> {
    let p = &state.portals[&portal];
    let records = p.records.get(&t)?;
    let wanted = ValueIndex::key(property, value);
    p.values.candidates(t, property, value)?.find(|id| {
        records.get(id).is_some_and(|r| {
            !r.archived
                && r.props
                    .get(property)
                    .is_some_and(|v| ValueIndex::key(property, v) == wanted)
        })
    })
}

/// Validates one write (of record `existing`, or a create) without applying it.
pub fn check_write(
    state: &State,
    portal: u64,
    t: ObjType,
    values: &BTreeMap<String, String>,
    existing: Option<u64>,
    claims: &mut Claims,
) -> Result<(), InputError> {
    let p = &state.portals[&portal];
    let current = existing
        .and_then(|id| p.records.get(&t).and_then(|r| r.get(&id)))
        .map(|r| &r.props);
    let issues = validate::check(p, t, values, current);
    if !issues.is_empty() {
        return Err(InputError::Invalid(issues));
    }
    for name in unique_properties(state, portal, t) {
        let Some(value) = values.get(&name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let key = (name.clone(), value.to_ascii_lowercase());
        let holder = find_by(state, portal, t, &name, value).filter(|id| Some(*id) != existing);
        if let Some(id) = holder {
            let message = if t == ObjType::Contacts && name == "email" {
                format!("Contact already exists. Existing ID: {id}")
            } else {
                format!(
                    "A {} with {name} \"{value}\" already exists. Existing ID: {id}",
                    t.singular()
                )
            };
            return Err(InputError::Other(ApiError::conflict(message)));
        }
        if !claims.insert(key) {
            return Err(InputError::Other(ApiError::conflict(format!(
                "Duplicate value \"{value}\" for unique property {name} in this batch"
            ))));
        }
    }
    Ok(())
}

/// The account's required properties missing from a create (`2026-09`
/// writes enforce admin-configured required fields).
pub fn check_required(
    state: &State,
    portal: u64,
    t: ObjType,
    values: &BTreeMap<String, String>,
) -> Result<(), InputError> {
    let missing: Vec<PropertyIssue> = state.portals[&portal]
        .required
        .get(&t)
        .into_iter()
        .flatten()
        .filter(|name| values.get(*name).is_none_or(|v| v.is_empty()))
        .map(|name| PropertyIssue {
            name: name.clone(),
            code: "REQUIRED_PROPERTY",
            message: format!("{name} is required"),
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(InputError::Invalid(missing))
    }
}

/// Creates a record (values already checked); returns its id.
pub fn create(
    state: &mut State,
    portal: u64,
    t: ObjType,
    mut values: BTreeMap<String, String>,
) -> u64 {
    let id = state.record_id();
    let now = state.now();
    let lag = state.index_lag();
    if t == ObjType::Deals && values.contains_key("dealstage") && !values.contains_key("pipeline") {
        values.insert("pipeline".into(), "default".into());
    }
    if t == ObjType::LineItems {
        inherit_from_product(state, portal, &mut values);
    }
    values.retain(|_, v| !v.is_empty());
    values.insert("createdate".into(), iso(now));
    values.insert(t.modified_property().into(), iso(now));
    values.insert("hs_object_id".into(), id.to_string());
    let mut record = Record {
        id,
        props: BTreeMap::new(),
        created_at: now,
        updated_at: now,
        archived: false,
        archived_at: None,
        indexed: None,
        pending: None,
        history: BTreeMap::new(),
    };
    record.remember(&values, now, "API");
    record.props = values;
    calculate(t, &mut record.props);
    record.reindex(Instant::now(), lag);
    let p = state.portals.get_mut(&portal).expect("portal exists");
    for (name, value) in &record.props {
        p.values.note(t, id, name, value);
    }
    p.records(t).insert(id, record);
    id
}

/// Updates a record (values already checked); emits a webhook event when a
/// deal's stage changes.
pub fn update(
    state: &mut State,
    portal: u64,
    t: ObjType,
    id: u64,
    values: &BTreeMap<String, String>,
    source: Source,
) {
    let now = state.now();
    let lag = state.index_lag();
    let Some(p) = state.portals.get_mut(&portal) else {
        return;
    };
    for (name, value) in values.iter().filter(|(_, v)| !v.is_empty()) {
        p.values.note(t, id, name, value);
    }
    let Some(record) = p.records(t).get_mut(&id) else {
        return;
    };
    let old_stage = record.props.get("dealstage").cloned();
    let source_type = match source {
        Source::App | Source::OtherIntegration => "INTEGRATION",
        Source::User => "CRM_UI",
    };
    record.remember(values, now, source_type);
    for (name, value) in values {
        if value.is_empty() {
            record.props.remove(name);
        } else {
            record.props.insert(name.clone(), value.clone());
        }
    }
    record.updated_at = now;
    record.props.insert(t.modified_property().into(), iso(now));
    calculate(t, &mut record.props);
    record.reindex(Instant::now(), lag);
    let new_stage = record.props.get("dealstage").cloned();
    if t == ObjType::Deals && new_stage != old_stage {
        let stage = new_stage.unwrap_or_default();
        super::webhooks::enqueue_stage_change(state, portal, id, &stage, source);
    }
}

/// Moves a record to the recycle bin.
pub fn archive(state: &mut State, portal: u64, t: ObjType, id: u64) {
    let now = state.now();
    let lag = state.index_lag();
    if let Some(record) = state
        .portals
        .get_mut(&portal)
        .and_then(|p| p.records(t).get_mut(&id))
        && !record.archived
    {
        record.archived = true;
        record.archived_at = Some(now);
        record.reindex(Instant::now(), lag);
    }
}

/// A line item created from a product inherits its name, price and SKU.
fn inherit_from_product(state: &State, portal: u64, values: &mut BTreeMap<String, String>) {
    let Some(product) = values
        .get("hs_product_id")
        .and_then(|id| id.parse::<u64>().ok())
        .and_then(|id| {
            state.portals[&portal]
                .records
                .get(&ObjType::Products)?
                .get(&id)
        })
    else {
        return;
    };
    for name in ["name", "price", "hs_sku", "description"] {
        if let Some(v) = product.props.get(name)
            && !values.contains_key(name)
        {
            values.insert(name.into(), v.clone());
        }
    }
}

/// Line items: `amount = quantity × price × (1 − discount% / 100) − discount × quantity`.
fn calculate(t: ObjType, props: &mut BTreeMap<String, String>) {
    if t != ObjType::LineItems {
        return;
    }
    let num = |k: &str| {
        props
            .get(k)
            .and_then(|v| v.parse::<Decimal>().ok())
            .unwrap_or_default()
    };
    let quantity = num("quantity");
    let gross = quantity * num("price");
    let amount = gross
        - gross * num("hs_discount_percentage") / Decimal::ONE_HUNDRED
        - num("discount") * quantity;
    props.insert("amount".into(), amount.normalize().to_string());
}

/// Property names requested in a query (`properties=a,b&properties=c`).
pub fn requested_properties(query: &str) -> Option<Vec<String>> {
    listed(query, "properties")
}

/// The properties named by `propertiesWithHistory` (comma-separated, or repeated).
pub fn history_properties(query: &str) -> Option<Vec<String>> {
    listed(query, "propertiesWithHistory")
}

/// The names a list parameter gives (comma-separated, or repeated).
fn listed(query: &str, parameter: &str) -> Option<Vec<String>> {
    let names: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == parameter)
        .flat_map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    (!names.is_empty()).then_some(names)
}

/// A query parameter.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The JSON of a written record with the written properties returned.
pub fn written_json(
    state: &State,
    portal: u64,
    t: ObjType,
    id: u64,
    written: &BTreeMap<String, String>,
) -> serde_json::Value {
    let names: Vec<String> = written.keys().cloned().collect();
    state.portals[&portal].records[&t][&id].to_json(t, Some(&names))
}

/// A timestamp for batch responses.
pub fn batch_times(state: &State) -> serde_json::Value {
    let now = iso(state.now());
    json!({"requestedAt": now, "startedAt": now, "completedAt": now})
}
