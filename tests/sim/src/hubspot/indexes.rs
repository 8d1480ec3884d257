//! The simulated portal's lookups that must not scan every record: the
//! association edges, ordered so that one record's edges are a range, and
//! an index of property values for unique-value checks and `idProperty`
//! lookups. HubSpot answers these from indexes too; scanning made a 100,000-
//! record portal answer in seconds and time out its own requests.

use std::collections::{BTreeSet, HashMap};

use serde::{Serialize, Serializer};

use super::model::{Assoc, ObjType};

/// Association edges (each direction stored), ordered by
/// `(from_type, from_id, to_type, to_id, type_id)`.
#[derive(Debug, Clone, Default)]
pub struct Associations(BTreeSet<Assoc>);

impl Associations {
    /// Adds an edge (idempotent).
    pub fn insert(&mut self, edge: Assoc) {
        self.0.insert(edge);
    }

    /// The edges from one record to records of `to`, by target id.
    pub fn of_record(
        &self,
        from: ObjType,
        from_id: u64,
        to: ObjType,
    ) -> impl Iterator<Item = &Assoc> {
        let low = Assoc {
            from_type: from,
            from_id,
            to_type: to,
            to_id: 0,
            type_id: 0,
        };
        let high = Assoc {
            to_id: u64::MAX,
            type_id: u32::MAX,
            ..low.clone()
        };
        self.0.range(low..=high)
    }

    /// Every edge.
    pub fn iter(&self) -> impl Iterator<Item = &Assoc> {
        self.0.iter()
    }

    /// Keeps only the edges `keep` accepts.
    pub fn retain(&mut self, keep: impl FnMut(&Assoc) -> bool) {
        self.0.retain(keep);
    }

    /// Removes an edge; whether it was there.
    pub fn remove(&mut self, edge: &Assoc) -> bool {
        self.0.remove(edge)
    }
}

impl Serialize for Associations {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

/// Which records ever held a value of an indexed property. Entries are never
/// removed when a value changes or a record goes: a lookup checks each
/// candidate against the record itself, so the index only has to be complete
/// (every value written while the property is indexed is noted).
#[derive(Debug, Clone, Default)]
pub struct ValueIndex {
    /// Per (type, property) indexed so far: value key → record ids.
    by_property: HashMap<(ObjType, String), HashMap<String, BTreeSet<u64>>>,
}

impl ValueIndex {
    /// How values of `property` compare: emails without regard to case, as
    /// HubSpot keys contacts; everything else exactly.
    pub fn key(property: &str, value: &str) -> String {
        if property == "email" {
            value.to_ascii_lowercase()
        } else {
            value.to_owned()
        }
    }

    /// Starts indexing `property` of `t` from every record's current value.
    pub fn build<'a>(
        &mut self,
        t: ObjType,
        property: &str,
        values: impl Iterator<Item = (u64, &'a str)>,
    ) {
        let mut index: HashMap<String, BTreeSet<u64>> = HashMap::new();
        for (id, value) in values {
            index
                .entry(Self::key(property, value))
                .or_default()
                .insert(id);
        }
        self.by_property.insert((t, property.to_owned()), index);
    }

    /// Notes that record `id` of `t` now holds `value` in `property` (a no-op
    /// for properties not indexed).
    pub fn note(&mut self, t: ObjType, id: u64, property: &str, value: &str) {
        if let Some(index) = self.by_property.get_mut(&(t, property.to_owned())) {
            index
                .entry(Self::key(property, value))
                .or_default()
                .insert(id);
        }
    }

    /// The records that may hold `value` in `property`, lowest id first
    /// (`None` when the property is not indexed).
    pub fn candidates(
        &self,
        t: ObjType,
        property: &str,
        value: &str,
    ) -> Option<impl Iterator<Item = u64> + '_> {
        let index = self.by_property.get(&(t, property.to_owned()))?;
        Some(
            index
                .get(&Self::key(property, value))
                .into_iter()
                .flatten()
                .copied(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from_id: u64, to: ObjType, to_id: u64, type_id: u32) -> Assoc {
        Assoc {
            from_type: ObjType::Contacts,
            from_id,
            to_type: to,
            to_id,
            type_id,
        }
    }

    #[test]
    fn one_records_edges_to_a_type_are_a_range() {
        let mut set = Associations::default();
        set.insert(edge(7, ObjType::Companies, 30, 279));
        set.insert(edge(7, ObjType::Companies, 20, 1));
        set.insert(edge(7, ObjType::Companies, 20, 279));
        set.insert(edge(7, ObjType::Deals, 5, 4));
        set.insert(edge(8, ObjType::Companies, 1, 279));
        set.insert(edge(7, ObjType::Companies, 20, 279));
        let of: Vec<(u64, u32)> = set
            .of_record(ObjType::Contacts, 7, ObjType::Companies)
            .map(|a| (a.to_id, a.type_id))
            .collect();
        assert_eq!(of, [(20, 1), (20, 279), (30, 279)]);
        assert_eq!(set.iter().count(), 5, "the repeated edge is stored once");
    }

    #[test]
    fn emails_are_keyed_without_case_and_other_values_exactly() {
        let mut index = ValueIndex::default();
        index.build(
            ObjType::Contacts,
            "email",
            [(1, "Ana.Lopez@Example.es")].into_iter(),
        );
        index.build(ObjType::Companies, "cif", [(2, "B12345678")].into_iter());
        index.note(ObjType::Contacts, 3, "email", "ana.lopez@example.es");
        index.note(ObjType::Contacts, 4, "phone", "+34 600 000 000");
        let found = |t, p, v| -> Vec<u64> { index.candidates(t, p, v).unwrap().collect() };
        assert_eq!(
            found(ObjType::Contacts, "email", "ANA.LOPEZ@EXAMPLE.ES"),
            [1, 3]
        );
        assert_eq!(
            found(ObjType::Companies, "cif", "b12345678"),
            [] as [u64; 0]
        );
        assert!(index.candidates(ObjType::Contacts, "phone", "x").is_none());
    }
}
