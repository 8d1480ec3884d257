//! A targeted run: only the Holded records that webhooks named, read one by
//! one and written through the same mapping, change detection, identity
//! ladder and per-record failures as the nightly run. A record Holded no
//! longer has is marked deleted as the nightly run marks it. A kind with more
//! records named than [`MAX_TARGETED`] is scanned whole instead (a list page
//! costs one Holded call for up to a hundred records).

use std::collections::{BTreeSet, HashMap};

use crate::holded::{DocumentType, webhook::Change};

/// Records of one kind read one by one at most; beyond, the kind is scanned.
pub const MAX_TARGETED: usize = 100;

/// The records a targeted run syncs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    contacts: BTreeSet<String>,
    products: BTreeSet<String>,
    documents: HashMap<DocumentType, BTreeSet<String>>,
}

/// What a part of a targeted run reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every record of the kind (a nightly run, or too many named).
    Everything,
    /// These records only.
    Records(&'a BTreeSet<String>),
    /// None: no webhook named one.
    Nothing,
}

impl Scope<'_> {
    /// The ids to read one by one, `None` for a scan.
    pub fn ids(self) -> Option<Vec<String>> {
        match self {
            Self::Records(ids) => Some(ids.iter().cloned().collect()),
            Self::Everything | Self::Nothing => None,
        }
    }
}

fn scope(ids: Option<&BTreeSet<String>>) -> Scope<'_> {
    match ids {
        None => Scope::Nothing,
        Some(ids) if ids.is_empty() => Scope::Nothing,
        Some(ids) if ids.len() > MAX_TARGETED => Scope::Everything,
        Some(ids) => Scope::Records(ids),
    }
}

impl Targets {
    /// Adds the record a change names.
    pub fn add(&mut self, change: Change) {
        match change {
            Change::Contact(id) => {
                self.contacts.insert(id);
            }
            Change::Product(id) => {
                self.products.insert(id);
            }
            Change::Document(doc_type, id) => {
                self.documents.entry(doc_type).or_default().insert(id);
            }
            Change::Other => {}
        }
    }

    /// Whether no record is named.
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty() && self.products.is_empty() && self.documents.is_empty()
    }

    /// Contacts and companies to read.
    pub fn contacts(&self) -> Scope<'_> {
        scope(Some(&self.contacts))
    }

    /// Products to read.
    pub fn products(&self) -> Scope<'_> {
        scope(Some(&self.products))
    }

    /// Documents of `doc_type` to read.
    pub fn documents(&self, doc_type: DocumentType) -> Scope<'_> {
        scope(self.documents.get(&doc_type))
    }

    /// Whether any document is named.
    pub fn any_documents(&self) -> bool {
        DocumentType::ALL
            .into_iter()
            .any(|t| self.documents(t) != Scope::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_records_are_read_one_by_one_and_a_storm_is_scanned() {
        let mut targets = Targets::default();
        assert!(targets.is_empty());
        targets.add(Change::Contact("c1".into()));
        targets.add(Change::Contact("c1".into()));
        targets.add(Change::Document(DocumentType::Invoice, "f1".into()));
        targets.add(Change::Other);
        assert_eq!(targets.contacts().ids(), Some(vec!["c1".to_owned()]));
        assert_eq!(targets.products(), Scope::Nothing);
        assert_eq!(targets.documents(DocumentType::Estimate), Scope::Nothing);
        assert!(targets.any_documents());
        for i in 0..=MAX_TARGETED {
            targets.add(Change::Product(format!("p{i}")));
        }
        assert_eq!(targets.products(), Scope::Everything);
    }
}
