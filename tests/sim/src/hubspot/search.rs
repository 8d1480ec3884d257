//! `POST …/{objectType}/search` with HubSpot's limits, operators and
//! eventual consistency (only indexed versions are visible).

use std::{cmp::Ordering, time::Instant};

use actix_web::{HttpResponse, web};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    HubspotSim,
    errors::{ApiError, ApiResult},
    gate::Caller,
    model::{ObjType, Portal},
    objects::{object_type, parse},
    search_filter::{Filter, matches},
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    #[serde(default)]
    filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    sorts: Vec<Value>,
    query: Option<String>,
    #[serde(default)]
    properties: Vec<String>,
    limit: Option<u32>,
    after: Option<Value>,
}

#[derive(Deserialize)]
struct FilterGroup {
    #[serde(default)]
    filters: Vec<Filter>,
}

/// The single sort rule: `{propertyName, direction}` or `"-prop"`/`"prop"`.
fn sort_rule(sorts: &[Value]) -> Result<Option<(String, bool)>, ApiError> {
    if sorts.len() > 1 {
        return Err(ApiError::validation("Only one sort is allowed"));
    }
    Ok(sorts.first().and_then(|s| match s {
        Value::String(p) => Some(
            p.strip_prefix('-')
                .map_or((p.clone(), true), |p| (p.to_owned(), false)),
        ),
        Value::Object(o) => Some((
            o.get("propertyName")?.as_str()?.to_owned(),
            o.get("direction").and_then(Value::as_str) != Some("DESCENDING"),
        )),
        _ => None,
    }))
}

/// Compares two property values (numbers and dates numerically).
fn compare(a: Option<&String>, b: Option<&String>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.to_lowercase().cmp(&b.to_lowercase()),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A value as a number: decimals, epoch milliseconds or ISO dates (as ms).
pub fn number(v: &str) -> Option<Decimal> {
    v.parse::<Decimal>().ok().or_else(|| {
        chrono::DateTime::parse_from_rfc3339(v)
            .ok()
            .map(|d| Decimal::from(d.timestamp_millis()))
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| Decimal::from(d.and_utc().timestamp_millis()))
            })
    })
}

/// The search handler.
pub async fn search(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult {
    let t = object_type(&path)?;
    caller.require(&t.scopes(false))?;
    if body.len() > 3_000 {
        return Err(ApiError::validation(
            "The request body is too large: a search request may be at most 3000 characters",
        ));
    }
    let request: SearchBody = if body.is_empty() {
        SearchBody::default()
    } else {
        parse(&body)?
    };
    let (per_group, in_all) = if sim.lock().settings.wide_search_filters {
        (10, 25)
    } else {
        (6, 18)
    };
    let total_filters: usize = request.filter_groups.iter().map(|g| g.filters.len()).sum();
    if request.filter_groups.len() > 5
        || request
            .filter_groups
            .iter()
            .any(|g| g.filters.len() > per_group)
        || total_filters > in_all
    {
        return Err(ApiError::validation(format!(
            "Too many filters: a search may have up to 5 filterGroups with up to {per_group} filters each, and {in_all} filters in total"
        )));
    }
    let limit = request.limit.unwrap_or(10);
    if limit > 200 {
        return Err(ApiError::validation(format!(
            "limit {limit} is greater than the maximum of 200"
        )));
    }
    let after: u64 = match &request.after {
        None => 0,
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| ApiError::validation(format!("after must be an integer: {s}")))?,
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(other) => {
            return Err(ApiError::validation(format!(
                "after must be an integer: {other}"
            )));
        }
    };
    if after + u64::from(limit) > 10_000 {
        return Err(ApiError::validation(
            "Search results are limited to 10,000; page past them with a narrower query",
        ));
    }
    let sort = sort_rule(&request.sorts)?;
    let mut state = sim.lock();
    let portal = state
        .portals
        .get_mut(&caller.portal_id)
        .expect("caller's portal exists");
    let filtered = request
        .filter_groups
        .iter()
        .flat_map(|g| &g.filters)
        .map(|f| f.property_name.as_str());
    caller.require_sensitive(
        t,
        portal.props(t),
        request
            .properties
            .iter()
            .map(String::as_str)
            .chain(filtered),
        false,
    )?;
    let hits = run(portal, t, &request, sort)?;
    let total = hits.len() as u64;
    let names: Vec<String> = if request.properties.is_empty() {
        t.default_properties()
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        request.properties.clone()
    };
    let page: Vec<Value> = hits
        .iter()
        .skip(after as usize)
        .take(limit as usize)
        .map(|(id, props)| {
            let mut shown = serde_json::Map::new();
            for n in names.iter().map(String::as_str).chain(["createdate", t.modified_property(), "hs_object_id"]) {
                shown.insert(n.to_owned(), props.get(n).map_or(Value::Null, |v| json!(v)));
            }
            let record = &portal.records[&t][id];
            json!({"id": id.to_string(), "properties": shown, "createdAt": super::model::iso(record.created_at),
                   "updatedAt": super::model::iso(record.updated_at), "archived": false})
        })
        .collect();
    let mut response = json!({"total": total, "results": page});
    let next = after + u64::from(limit);
    if next < total && limit > 0 {
        response["paging"] = json!({"next": {"after": next.to_string(), "link": ""}});
    }
    Ok(HttpResponse::Ok().json(response))
}

/// A matching record: its id and the values search sees.
type Hit = (u64, std::collections::BTreeMap<String, String>);

fn run(
    portal: &mut Portal,
    t: ObjType,
    request: &SearchBody,
    sort: Option<(String, bool)>,
) -> Result<Vec<Hit>, ApiError> {
    let now = Instant::now();
    let defs = portal.props(t).clone();
    for group in &request.filter_groups {
        for f in &group.filters {
            if !defs.contains_key(&f.property_name) && !f.property_name.starts_with("associations.")
            {
                return Err(ApiError::validation(format!(
                    "There was a problem with the request. Property {} does not exist",
                    f.property_name
                )));
            }
        }
    }
    let Portal {
        records,
        associations,
        ..
    } = portal;
    let records = records.entry(t).or_default();
    let mut hits = Vec::new();
    for record in records.values_mut() {
        record.promote(now);
        let Some(snapshot) = &record.indexed else {
            continue;
        };
        if snapshot.archived {
            continue;
        }
        let associated = |to: &str, value: &str| {
            let to = ObjType::parse(to);
            to.is_some_and(|to| {
                associations
                    .of_record(t, record.id, to)
                    .any(|a| a.to_id.to_string() == value)
            })
        };
        let group_ok = |g: &FilterGroup| {
            g.filters
                .iter()
                .all(|f| matches(f, &snapshot.props, &defs, &associated))
        };
        if !request.filter_groups.is_empty() && !request.filter_groups.iter().any(group_ok) {
            continue;
        }
        if let Some(q) = request.query.as_deref().filter(|q| !q.is_empty()) {
            let q = q.to_lowercase();
            if !snapshot
                .props
                .values()
                .any(|v| v.to_lowercase().contains(&q))
            {
                continue;
            }
        }
        hits.push((record.id, snapshot.props.clone()));
    }
    match sort {
        Some((property, ascending)) => hits.sort_by(|a, b| {
            let o = compare(a.1.get(&property), b.1.get(&property)).then(a.0.cmp(&b.0));
            if ascending { o } else { o.reverse() }
        }),
        None => hits.sort_by_key(|(id, _)| *id),
    }
    Ok(hits)
}
