//! HubSpot records a Holded record is linked to instead of duplicated:
//! records without a Holded id whose email (contacts), or domain or NIF
//! (companies), match one of the batch's unlinked records.
//!
//! HubSpot allows 5 searches a second per portal, and a batch of 100 needs
//! one or two (3,000 characters of values a search). So the first batch
//! that needs a lookup asks HubSpot how many records could match at all: if
//! they fit one page (most portals once their first sync is done, and empty
//! ones before it), or the run is the kind's first sync and they fit
//! search's 10,000 results, they are read once and every batch of the run is
//! matched against that snapshot; otherwise each batch searches for its own
//! values. A record made in HubSpot after the snapshot is not seen by this
//! run (a contact's email still conflicts on the create, which links it; a
//! company may be made twice, as it may when HubSpot's search lags).

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use tokio::sync::OnceCell;

use super::{
    SyncError,
    context::RunContext,
    mapping::domain_of,
    targets::Scope,
    write::{BATCH, Pending},
};
use crate::{
    hubspot::{
        ObjectType, PortalClient,
        objects::CrmObject,
        search::{Direction, Filter, FilterGroup, MAX_PAGE, MAX_RESULTS, SearchRequest, Sort},
        search_in::AnyOf,
    },
    store::Store,
};

/// The unlinked HubSpot records of one kind a run may link to, and the ones
/// its batches took.
pub struct Unlinked {
    object: ObjectType,
    kind: &'static str,
    keys: &'static [&'static str],
    /// A whole scan of a kind nothing is linked of yet: every Holded record
    /// will be looked up.
    first_sync: bool,
    snapshot: OnceCell<Option<Snapshot>>,
    /// HubSpot ids this run's batches took to link a Holded record to: a
    /// batch written alongside must not take them too (the links are saved
    /// only once each write ends).
    taken: Mutex<HashSet<String>>,
    /// Records matched to a HubSpot record and not written yet: a batch
    /// usually has one or two, so they are written together, a batch at a
    /// time, rather than in a call of their own each.
    deferred: Mutex<Vec<(Pending, String)>>,
}

/// Every unlinked record, with an index by matched value.
struct Snapshot {
    records: Vec<CrmObject>,
    by_value: HashMap<(&'static str, String), Vec<usize>>,
}

impl Unlinked {
    /// The lookup of `kind` for a run: contacts by email, companies by
    /// domain and, when the portal lets NIFs travel, NIF.
    pub async fn open(
        ctx: &RunContext<'_>,
        kind: &'static str,
        object: ObjectType,
    ) -> Result<Self, SyncError> {
        let keys: &'static [&'static str] = match (kind, ctx.sensitive.0) {
            ("companies", true) => &["domain", "holded_nif"],
            ("companies", false) => &["domain"],
            _ => &["email"],
        };
        Ok(Self {
            object,
            kind,
            keys,
            first_sync: ctx.contacts_scope() == Scope::Everything
                && !ctx.store.has_links(ctx.portal_id, kind).await?,
            snapshot: OnceCell::new(),
            taken: Mutex::new(HashSet::new()),
            deferred: Mutex::new(Vec::new()),
        })
    }

    /// Keeps `matched` (records and the HubSpot ids they were matched to)
    /// for a later write; returns what is due now: a full batch, and any
    /// record whose HubSpot record another kept one is already matched to
    /// (HubSpot refuses a batch naming a record twice).
    pub fn defer(&self, matched: Vec<(Pending, String)>) -> Vec<(Pending, String)> {
        let mut deferred = self.deferred.lock().unwrap_or_else(|p| p.into_inner());
        let mut due = Vec::new();
        for (pending, id) in matched {
            if deferred.iter().any(|(_, kept)| *kept == id) {
                due.push((pending, id));
            } else {
                deferred.push((pending, id));
            }
        }
        if deferred.len() >= BATCH {
            due.extend(deferred.drain(..BATCH));
        }
        due
    }

    /// The records still kept, once the run's batches are written.
    pub fn take_deferred(&self) -> Vec<(Pending, String)> {
        std::mem::take(&mut *self.deferred.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// HubSpot records without a `holded_id` that match unlinked records of
    /// `batch` by one of the keys: Holded id → HubSpot id. A record already
    /// linked to another Holded record is never taken (search lags behind
    /// writes: a record linked minutes ago may still show no Holded id).
    pub async fn matches(
        &self,
        client: &PortalClient,
        store: &Store,
        portal_id: i64,
        batch: &[Pending],
    ) -> Result<HashMap<String, String>, SyncError> {
        let mut wanted: HashMap<(&'static str, String), String> = HashMap::new();
        for pending in batch.iter().filter(|p| p.hubspot_id.is_none()) {
            for key in self.keys {
                if let Some(value) = pending.props.get(*key).and_then(|v| match_key(key, v)) {
                    wanted
                        .entry((*key, value))
                        .or_insert_with(|| pending.holded_id.clone());
                }
            }
        }
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let snapshot = self
            .snapshot
            .get_or_try_init(|| self.read_snapshot(client))
            .await?;
        let records = match snapshot {
            Some(snapshot) => snapshot.matching(wanted.keys()),
            None => self.search(client, &wanted).await?,
        };
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let linked = store.linked_hubspot_ids(portal_id, self.kind, &ids).await?;
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        let mut found = HashMap::new();
        for record in records
            .iter()
            .filter(|r| !linked.contains(&r.id) && !taken.contains(&r.id))
        {
            for key in self.keys {
                if let Some(value) = record.get(key).and_then(|v| match_key(key, v))
                    && let Some(holded_id) = wanted.get(&(*key, value))
                {
                    found
                        .entry(holded_id.clone())
                        .or_insert_with(|| record.id.clone());
                }
            }
        }
        taken.extend(found.values().cloned());
        Ok(found)
    }

    /// The records `wanted` names, searched for (as many searches as
    /// HubSpot's limits need).
    async fn search(
        &self,
        client: &PortalClient,
        wanted: &HashMap<(&'static str, String), String>,
    ) -> Result<Vec<CrmObject>, SyncError> {
        let any_of: Vec<AnyOf> = self
            .keys
            .iter()
            .map(|key| AnyOf {
                property: (*key).to_owned(),
                values: wanted
                    .keys()
                    .filter(|(k, _)| k == key)
                    .flat_map(|(_, v)| searched_forms(key, v))
                    .collect(),
            })
            .filter(|a| !a.values.is_empty())
            .collect();
        let unlinked = [Filter::absent("holded_id")];
        Ok(client
            .search_any_of(self.object, &any_of, &unlinked, &self.properties())
            .await?)
    }

    /// Every record that could be linked, when a snapshot pays: all of them
    /// fit one page, or this is the kind's first sync (every Holded record
    /// is written) and they fit search's reach. `None` otherwise.
    async fn read_snapshot(&self, client: &PortalClient) -> Result<Option<Snapshot>, SyncError> {
        let mut request = SearchRequest {
            filter_groups: self
                .keys
                .iter()
                .map(|key| FilterGroup {
                    filters: vec![Filter::absent("holded_id"), Filter::present(*key)],
                })
                .collect(),
            sort: Some(Sort {
                property_name: "hs_object_id".into(),
                direction: Direction::Ascending,
            }),
            properties: self.properties().iter().map(|p| (*p).to_owned()).collect(),
            limit: MAX_PAGE,
            after: None,
        };
        let mut page = client.search(self.object, &request).await?;
        if page.next_after.is_some() && (!self.first_sync || page.total > MAX_RESULTS) {
            return Ok(None);
        }
        let mut records = std::mem::take(&mut page.results);
        while let Some(after) = page.next_after.take() {
            request.after = Some(after);
            page = client.search(self.object, &request).await?;
            records.append(&mut page.results);
        }
        tracing::debug!(
            kind = self.kind,
            records = records.len(),
            "unlinked HubSpot records read once for the run"
        );
        Ok(Some(Snapshot::new(records, self.keys)))
    }

    /// The properties a lookup reads.
    fn properties(&self) -> Vec<&'static str> {
        self.keys.iter().copied().chain(["holded_id"]).collect()
    }
}

impl Snapshot {
    fn new(records: Vec<CrmObject>, keys: &'static [&'static str]) -> Self {
        let mut by_value: HashMap<(&'static str, String), Vec<usize>> = HashMap::new();
        for (i, record) in records.iter().enumerate() {
            for key in keys {
                if let Some(value) = record.get(key).and_then(|v| match_key(key, v)) {
                    by_value.entry((*key, value)).or_default().push(i);
                }
            }
        }
        Self { records, by_value }
    }

    /// The records holding any of `values`, each once, in HubSpot's order.
    fn matching<'a>(
        &self,
        values: impl Iterator<Item = &'a (&'static str, String)>,
    ) -> Vec<CrmObject> {
        let mut hits: Vec<usize> = values
            .filter_map(|value| self.by_value.get(value))
            .flatten()
            .copied()
            .collect();
        hits.sort_unstable();
        hits.dedup();
        hits.into_iter().map(|i| self.records[i].clone()).collect()
    }
}

/// A value as records are matched by: a domain as HubSpot's company key
/// (no scheme, no `www.`, no path, lower case), anything else lower case.
fn match_key(key: &str, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match key {
        "domain" => domain_of(value),
        _ => Some(value.to_lowercase()),
    }
}

/// The forms of a matched value to search HubSpot for: a domain as HubSpot
/// usually keeps it and with the `www.` people often type.
fn searched_forms(key: &str, value: &str) -> Vec<String> {
    match key {
        "domain" => vec![value.to_owned(), format!("www.{value}")],
        _ => vec![value.to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup() -> Unlinked {
        Unlinked {
            object: ObjectType::Contacts,
            kind: "contacts",
            keys: &["email"],
            first_sync: true,
            snapshot: OnceCell::new(),
            taken: Mutex::new(HashSet::new()),
            deferred: Mutex::new(Vec::new()),
        }
    }

    fn matched(holded: usize, hubspot: usize) -> (Pending, String) {
        let pending = Pending {
            holded_id: format!("h{holded}"),
            props: Default::default(),
            hash: String::new(),
            updated_at: None,
            hubspot_id: None,
        };
        (pending, format!("{hubspot}"))
    }

    fn holded_ids(records: &[(Pending, String)]) -> Vec<String> {
        records.iter().map(|(p, _)| p.holded_id.clone()).collect()
    }

    #[test]
    fn matched_records_are_written_a_batch_at_a_time_and_one_hubspot_record_once_a_batch() {
        let unlinked = lookup();
        assert!(
            unlinked
                .defer(vec![matched(1, 501), matched(2, 502)])
                .is_empty()
        );
        // A second Holded record matched to HubSpot's 501 (a shared email) goes on its own.
        assert_eq!(holded_ids(&unlinked.defer(vec![matched(3, 501)])), ["h3"]);
        let due = unlinked.defer((4..104).map(|i| matched(i, 500 + i)).collect());
        assert_eq!(due.len(), BATCH, "a full batch is due");
        assert_eq!(due[0].0.holded_id, "h1");
        let rest = unlinked.take_deferred();
        assert_eq!(holded_ids(&rest), ["h102", "h103"]);
        assert!(unlinked.take_deferred().is_empty());
    }
}
