//! CRM search within HubSpot's limits (5 groups × 6 filters, 18 in all, one
//! sort, 200 per page, 10,000 results per query), and an incremental walk by
//! last-modified date that restarts before the 10,000 cap.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    client::{ApiRequest, PortalClient},
    error::HubspotError,
    objects::{CrmObject, ObjectType},
};

/// Largest page.
pub const MAX_PAGE: u32 = 200;
/// Results reachable by paging one query.
pub const MAX_RESULTS: u64 = 10_000;
/// Longest search body HubSpot accepts: 3,000 characters, counted here in
/// bytes (never fewer than characters).
pub const MAX_BODY: usize = 3_000;
/// Filter groups in one search.
pub const MAX_GROUPS: usize = 5;
/// Filters in one group.
pub const MAX_GROUP_FILTERS: usize = 6;
/// Filters in one search, over all its groups.
pub const MAX_FILTERS: usize = 18;

/// Filter operators.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
    /// Less than.
    Lt,
    /// Less or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater or equal.
    Gte,
    /// Between `value` and `highValue`.
    Between,
    /// In `values`.
    In,
    /// Not in `values`.
    NotIn,
    /// Has a value.
    HasProperty,
    /// Has no value.
    NotHasProperty,
    /// Contains a token.
    ContainsToken,
    /// Does not contain a token.
    NotContainsToken,
}

/// One filter.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Property.
    pub property_name: String,
    /// Operator.
    pub operator: Operator,
    /// Value (string on the wire).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Upper bound for `BETWEEN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_value: Option<String>,
    /// Values for `IN`/`NOT_IN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl Filter {
    /// `property <op> value`.
    pub fn new(property: impl Into<String>, operator: Operator, value: impl Into<String>) -> Self {
        Self {
            property_name: property.into(),
            operator,
            value: Some(value.into()),
            high_value: None,
            values: None,
        }
    }

    /// Records without a value of `property`.
    pub fn absent(property: impl Into<String>) -> Self {
        Self::valueless(property, Operator::NotHasProperty)
    }

    /// Records with a value of `property`.
    pub fn present(property: impl Into<String>) -> Self {
        Self::valueless(property, Operator::HasProperty)
    }

    fn valueless(property: impl Into<String>, operator: Operator) -> Self {
        Self {
            property_name: property.into(),
            operator,
            value: None,
            high_value: None,
            values: None,
        }
    }
}

/// Filters joined by AND.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FilterGroup {
    /// The filters.
    pub filters: Vec<Filter>,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    /// Oldest/smallest first.
    Ascending,
    /// Newest/largest first.
    Descending,
}

/// The single sort rule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sort {
    /// Property.
    pub property_name: String,
    /// Direction.
    pub direction: Direction,
}

/// A search query (groups are ORed).
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// Filter groups.
    pub filter_groups: Vec<FilterGroup>,
    /// At most one sort.
    #[serde(
        rename = "sorts",
        skip_serializing_if = "Option::is_none",
        serialize_with = "one_sort"
    )]
    pub sort: Option<Sort>,
    /// Properties to return.
    pub properties: Vec<String>,
    /// Page size (≤200).
    pub limit: u32,
    /// Cursor from the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

fn one_sort<S: serde::Serializer>(sort: &Option<Sort>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(sort.iter())
}

impl SearchRequest {
    /// Checks HubSpot's limits before spending a request.
    pub fn validate(&self) -> Result<(), HubspotError> {
        let total: usize = self.filter_groups.iter().map(|g| g.filters.len()).sum();
        let invalid = |m: &str| Err(HubspotError::InvalidRequest(m.to_owned()));
        if self.filter_groups.len() > MAX_GROUPS
            || self
                .filter_groups
                .iter()
                .any(|g| g.filters.len() > MAX_GROUP_FILTERS)
            || total > MAX_FILTERS
        {
            return invalid("búsqueda con demasiados filtros (máx. 5 grupos × 6, 18 en total)");
        }
        if self.body_len() > MAX_BODY {
            return invalid("búsqueda de más de 3.000 caracteres");
        }
        if self.limit == 0 || self.limit > MAX_PAGE {
            return invalid("tamaño de página de búsqueda fuera de 1..=200");
        }
        let offset: u64 = self
            .after
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        if offset + u64::from(self.limit) > MAX_RESULTS {
            return invalid("la búsqueda no puede pasar de 10.000 resultados");
        }
        Ok(())
    }
}

impl SearchRequest {
    /// The length of its JSON body, in bytes.
    pub fn body_len(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |body| body.len())
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// Matches in total (capped by HubSpot at 10,000 reachable).
    pub total: u64,
    /// This page.
    pub results: Vec<CrmObject>,
    /// Cursor for the next page.
    pub next_after: Option<String>,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    results: Vec<CrmObject>,
    paging: Option<Value>,
}

impl PortalClient {
    /// Runs one search page (own 5/s budget).
    pub async fn search(
        &self,
        object: ObjectType,
        request: &SearchRequest,
    ) -> Result<SearchPage, HubspotError> {
        request.validate()?;
        let body = serde_json::to_value(request)
            .map_err(|e| HubspotError::InvalidRequest(e.to_string()))?;
        let api = ApiRequest::post(format!("{}/search", object.path()), body).search();
        let (_, page): (_, RawPage) = self.call(api).await?;
        let next_after = page
            .paging
            .as_ref()
            .and_then(|p| p.pointer("/next/after"))
            .and_then(|a| {
                a.as_str()
                    .map(str::to_owned)
                    .or_else(|| a.as_u64().map(|n| n.to_string()))
            });
        Ok(SearchPage {
            total: page.total,
            results: page.results,
            next_after,
        })
    }

    /// Every record modified at or after `since` that also matches `filters`,
    /// oldest change first. Restarts from the last seen modification time
    /// before reaching the 10,000-result cap; records are returned once.
    pub async fn search_modified_since(
        &self,
        object: ObjectType,
        since: DateTime<Utc>,
        filters: &[Filter],
        properties: &[&str],
    ) -> Result<Vec<CrmObject>, HubspotError> {
        let modified = object.last_modified_property();
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        let mut cursor = since.timestamp_millis();
        loop {
            let mut group = FilterGroup {
                filters: filters.to_vec(),
            };
            group
                .filters
                .push(Filter::new(modified, Operator::Gte, cursor.to_string()));
            let mut request = SearchRequest {
                filter_groups: vec![group],
                sort: Some(Sort {
                    property_name: modified.into(),
                    direction: Direction::Ascending,
                }),
                properties: properties
                    .iter()
                    .map(|p| (*p).to_owned())
                    .chain([modified.to_owned()])
                    .collect(),
                limit: MAX_PAGE,
                after: None,
            };
            let mut last_seen = cursor;
            let restart = loop {
                let page = self.search(object, &request).await?;
                for record in page.results {
                    if let Some(ms) = record.get(modified).and_then(parse_millis) {
                        last_seen = last_seen.max(ms);
                    }
                    if seen.insert(record.id.clone()) {
                        found.push(record);
                    }
                }
                match page.next_after {
                    None => break false,
                    Some(after) => {
                        let offset: u64 = after.parse().unwrap_or(MAX_RESULTS);
                        if offset + u64::from(MAX_PAGE) > MAX_RESULTS {
                            break true;
                        }
                        request.after = Some(after);
                    }
                }
            };
            if !restart {
                return Ok(found);
            }
            if last_seen == cursor {
                return Err(HubspotError::InvalidRequest(
                    "más de 10.000 registros con la misma fecha de modificación".into(),
                ));
            }
            cursor = last_seen;
        }
    }
}

/// Reads a HubSpot date value: epoch milliseconds or ISO-8601.
pub fn parse_millis(value: &str) -> Option<i64> {
    value.parse::<i64>().ok().or_else(|| {
        DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|d| d.timestamp_millis())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_locally() {
        let filter = Filter::new("a", Operator::Eq, "1");
        let mut req = SearchRequest {
            filter_groups: vec![
                FilterGroup {
                    filters: vec![filter.clone(); 6]
                };
                3
            ],
            limit: 200,
            ..Default::default()
        };
        assert!(req.validate().is_ok());
        req.filter_groups.push(FilterGroup {
            filters: vec![filter.clone()],
        });
        assert!(req.validate().is_err(), "19 filters");
        req.filter_groups = vec![FilterGroup {
            filters: vec![filter; 7],
        }];
        assert!(req.validate().is_err(), "7 in a group");
        req.filter_groups.clear();
        req.limit = 201;
        assert!(req.validate().is_err());
        req.limit = 200;
        req.after = Some("9900".into());
        assert!(req.validate().is_err(), "beyond 10,000");
    }

    #[test]
    fn sort_serialises_as_one_element_array() {
        let req = SearchRequest {
            sort: Some(Sort {
                property_name: "hs_lastmodifieddate".into(),
                direction: Direction::Ascending,
            }),
            limit: 10,
            ..Default::default()
        };
        let v = serde_json::to_value(&req).expect("json");
        assert_eq!(
            v["sorts"],
            serde_json::json!([{"propertyName":"hs_lastmodifieddate","direction":"ASCENDING"}])
        );
        assert!(v.get("sort").is_none());
    }

    #[test]
    fn dates_parse_both_forms() {
        assert_eq!(parse_millis("1572480000000"), Some(1_572_480_000_000));
        assert_eq!(
            parse_millis("2019-10-31T00:00:00Z"),
            Some(1_572_480_000_000)
        );
        assert_eq!(parse_millis("soon"), None);
    }
}
