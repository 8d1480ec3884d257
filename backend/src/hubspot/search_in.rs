//! Looking records up by lists of values (`IN` filters) of any length: the
//! values are spread over as many searches as HubSpot's limits need — a body
//! of at most 3,000 characters, 5 filter groups, 6 filters a group and 18 in
//! all — and every search is paged to its end.

use std::collections::HashSet;

use super::{
    client::PortalClient,
    error::HubspotError,
    objects::{CrmObject, ObjectType},
    search::{
        Filter, FilterGroup, MAX_BODY, MAX_FILTERS, MAX_GROUP_FILTERS, MAX_GROUPS, MAX_PAGE,
        Operator, SearchRequest,
    },
};

/// Room kept in every planned body for the paging cursor (`"after":"9800"`).
const CURSOR_ROOM: usize = 24;

/// Values one property may take: an `IN` filter (string values must be
/// lowercase, as HubSpot compares them lowercased).
#[derive(Debug, Clone)]
pub struct AnyOf {
    /// The property.
    pub property: String,
    /// Its values.
    pub values: Vec<String>,
}

impl AnyOf {
    fn filter(&self, values: Vec<String>) -> Filter {
        Filter {
            property_name: self.property.clone(),
            operator: Operator::In,
            value: None,
            high_value: None,
            values: Some(values),
        }
    }
}

/// The searches that find records whose property is one of the values of
/// any of `any_of`, each also matching every filter of `all_of`, within
/// HubSpot's limits. Fails only when one value alone does not fit.
pub fn plan(
    any_of: &[AnyOf],
    all_of: &[Filter],
    properties: &[&str],
) -> Result<Vec<SearchRequest>, HubspotError> {
    let per_group = all_of.len() + 1;
    if per_group > MAX_GROUP_FILTERS {
        return Err(HubspotError::InvalidRequest(
            "demasiados filtros comunes para una búsqueda".into(),
        ));
    }
    let empty = || SearchRequest {
        properties: properties.iter().map(|p| (*p).to_owned()).collect(),
        limit: MAX_PAGE,
        ..SearchRequest::default()
    };
    let fits = |request: &SearchRequest| {
        request.filter_groups.len() <= MAX_GROUPS
            && request.filter_groups.len() * per_group <= MAX_FILTERS
            && request.body_len() + CURSOR_ROOM <= MAX_BODY
    };
    let group = |criterion: &AnyOf, values: Vec<String>| FilterGroup {
        filters: all_of
            .iter()
            .cloned()
            .chain([criterion.filter(values)])
            .collect(),
    };
    let mut planned = Vec::new();
    let mut current = empty();
    for criterion in any_of {
        let mut open = false;
        for value in &criterion.values {
            if open {
                let mut tried = current.clone();
                let last = tried.filter_groups.last_mut().expect("an open group");
                if let Some(values) = last.filters.last_mut().and_then(|f| f.values.as_mut()) {
                    values.push(value.clone());
                }
                if fits(&tried) {
                    current = tried;
                    continue;
                }
            }
            let mut tried = current.clone();
            tried
                .filter_groups
                .push(group(criterion, vec![value.clone()]));
            if !fits(&tried) {
                if !current.filter_groups.is_empty() {
                    planned.push(std::mem::replace(&mut current, empty()));
                }
                tried = empty();
                tried
                    .filter_groups
                    .push(group(criterion, vec![value.clone()]));
                if !fits(&tried) {
                    return Err(HubspotError::InvalidRequest(format!(
                        "el valor «{value}» no cabe en una búsqueda de HubSpot"
                    )));
                }
            }
            current = tried;
            open = true;
        }
    }
    if !current.filter_groups.is_empty() {
        planned.push(current);
    }
    Ok(planned)
}

impl PortalClient {
    /// Every record of `object` whose property is one of the values of any
    /// of `any_of` and that matches every filter of `all_of`, each once:
    /// as many searches as HubSpot's limits need, each paged to its end.
    pub async fn search_any_of(
        &self,
        object: ObjectType,
        any_of: &[AnyOf],
        all_of: &[Filter],
        properties: &[&str],
    ) -> Result<Vec<CrmObject>, HubspotError> {
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for mut request in plan(any_of, all_of, properties)? {
            loop {
                let page = self.search(object, &request).await?;
                for record in page.results {
                    if seen.insert(record.id.clone()) {
                        found.push(record);
                    }
                }
                match page.next_after {
                    Some(after) => request.after = Some(after),
                    None => break,
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 Spanish company domains and CIFs, as a batch of the sync brings.
    fn batch() -> (AnyOf, AnyOf) {
        const TOWNS: [&str; 10] = [
            "bilbao",
            "valladolid",
            "alcala-de-henares",
            "sanlucar",
            "ourense",
            "castellon",
            "torrelavega",
            "ponferrada",
            "villanueva",
            "fuenlabrada",
        ];
        const TRADES: [&str; 10] = [
            "reformas",
            "asesoria-fiscal",
            "clinica-dental",
            "talleres",
            "distribuciones",
            "construcciones",
            "fisioterapia",
            "carpinteria",
            "hosteleria",
            "transportes",
        ];
        let domains: Vec<String> = TOWNS
            .iter()
            .flat_map(|town| TRADES.iter().map(move |trade| format!("{trade}-{town}.es")))
            .collect();
        let cifs = (0..100u32)
            .zip("ABCDEFGHJNPQRSUVW".chars().cycle())
            .map(|(n, letter)| format!("{letter}{:08}", 48_000_000 + n * 7_919).to_lowercase())
            .collect();
        (
            AnyOf {
                property: "domain".into(),
                values: domains,
            },
            AnyOf {
                property: "holded_nif".into(),
                values: cifs,
            },
        )
    }

    fn unlinked() -> Filter {
        Filter::absent("holded_id")
    }

    #[test]
    fn a_batch_of_100_domains_and_nifs_is_spread_within_every_limit() {
        let (domains, nifs) = batch();
        let one_request = SearchRequest {
            filter_groups: vec![
                FilterGroup {
                    filters: vec![unlinked(), domains.filter(domains.values.clone())],
                },
                FilterGroup {
                    filters: vec![unlinked(), nifs.filter(nifs.values.clone())],
                },
            ],
            limit: MAX_PAGE,
            ..SearchRequest::default()
        };
        assert!(
            one_request.body_len() > MAX_BODY,
            "the test's batch is too big for one search"
        );
        let planned = plan(
            &[domains.clone(), nifs.clone()],
            &[unlinked()],
            &["domain", "holded_nif", "holded_id"],
        )
        .expect("plan");
        assert!(planned.len() >= 2, "{} searches", planned.len());
        for request in &planned {
            assert!(request.validate().is_ok(), "{request:?}");
            assert!(request.body_len() + CURSOR_ROOM <= MAX_BODY);
        }
        // Every value is searched exactly once, under its own property.
        let mut searched: Vec<(String, String)> = planned
            .iter()
            .flat_map(|r| &r.filter_groups)
            .flat_map(|g| &g.filters)
            .filter(|f| f.operator == Operator::In)
            .flat_map(|f| {
                f.values
                    .iter()
                    .flatten()
                    .map(|v| (f.property_name.clone(), v.clone()))
            })
            .collect();
        searched.sort();
        let mut expected: Vec<(String, String)> = [domains, nifs]
            .iter()
            .flat_map(|a| a.values.iter().map(|v| (a.property.clone(), v.clone())))
            .collect();
        expected.sort();
        assert_eq!(searched, expected);
        // Every group keeps the common filter.
        assert!(
            planned
                .iter()
                .flat_map(|r| &r.filter_groups)
                .all(|g| g.filters[0].operator == Operator::NotHasProperty)
        );
    }

    #[test]
    fn many_short_lists_respect_the_group_and_filter_counts() {
        let lists: Vec<AnyOf> = (0..12)
            .map(|i| AnyOf {
                property: format!("p{i}"),
                values: vec![format!("v{i}")],
            })
            .collect();
        let common = vec![unlinked(); 3];
        let planned = plan(&lists, &common, &[]).expect("plan");
        for request in &planned {
            assert!(request.validate().is_ok());
        }
        assert_eq!(
            planned.iter().map(|r| r.filter_groups.len()).sum::<usize>(),
            12
        );
        assert_eq!(planned.len(), 3, "four groups of four filters a search");
    }

    #[test]
    fn a_value_too_long_for_any_search_is_refused() {
        let long = AnyOf {
            property: "domain".into(),
            values: vec!["a".repeat(MAX_BODY)],
        };
        assert!(plan(&[long], &[], &[]).is_err());
        assert!(plan(&[], &[], &[]).expect("nothing to search").is_empty());
    }
}
