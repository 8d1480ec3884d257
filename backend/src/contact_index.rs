//! The last contact scan's index of a portal's Holded contacts by NIF/CIF and
//! email. Every scan of Holded's contacts records what it reads (NIF/CIF only
//! while sensitive data may travel); the deal flow asks the index which
//! contacts carry a value instead of scanning every contact for each deal
//! (v1 has no NIF or email filter, and v2's may be ignored), and reads each
//! candidate to confirm it. Values are kept as keyed hashes, never in clear.

use chrono::{DateTime, Utc};
use sea_orm::DbErr;

use crate::{
    crypto::Cipher,
    holded::{Contact, ContactLookup},
    store::{Store, contact_index::IndexEntry},
};

/// A scan older than this is not the last night's: the index is stale.
pub const MAX_AGE: chrono::Duration = chrono::Duration::hours(26);

/// A portal's index.
pub struct ContactIndex<'a> {
    store: &'a Store,
    cipher: &'a Cipher,
    portal_id: i64,
    /// Whether NIF/CIF may be indexed (sensitive data may travel).
    sensitive: bool,
}

impl<'a> ContactIndex<'a> {
    /// The index of `portal_id`, hashing with `cipher`'s key.
    pub fn new(store: &'a Store, cipher: &'a Cipher, portal_id: i64, sensitive: bool) -> Self {
        Self {
            store,
            cipher,
            portal_id,
            sensitive,
        }
    }

    /// The entry of `lookup`'s value, if it is indexed at all.
    fn entry(&self, lookup: ContactLookup<'_>, holded_id: &str) -> Option<IndexEntry> {
        let field = match lookup {
            ContactLookup::Nif(_) if self.sensitive => "nif",
            ContactLookup::Email(_) => "email",
            _ => return None,
        };
        let key = lookup.key();
        (!key.is_empty()).then(|| IndexEntry {
            field,
            key_hash: self.cipher.fingerprint(field, &key),
            holded_id: holded_id.to_owned(),
        })
    }

    /// Records that a scan read `contacts` now.
    pub async fn record(&self, contacts: &[Contact]) -> Result<(), DbErr> {
        let entries: Vec<IndexEntry> = contacts
            .iter()
            .flat_map(|c| {
                let nif = c.nif.as_deref().map(ContactLookup::Nif);
                let email = c.email.as_deref().map(ContactLookup::Email);
                [nif, email]
                    .into_iter()
                    .flatten()
                    .filter_map(|lookup| self.entry(lookup, &c.id))
            })
            .collect();
        self.store.index_contacts(self.portal_id, &entries).await
    }

    /// A scan that started at `started` read every contact and ended cleanly.
    pub async fn complete(&self, started: DateTime<Utc>) -> Result<(), DbErr> {
        self.store
            .complete_contact_index(self.portal_id, started)
            .await
    }

    /// Whether a clean scan completed the index within [`MAX_AGE`].
    pub async fn fresh(&self) -> Result<bool, DbErr> {
        Ok(self
            .store
            .contact_index_completed_at(self.portal_id)
            .await?
            .is_some_and(|at| at > Utc::now() - MAX_AGE))
    }

    /// The Holded ids the index has for `lookup`'s value (to be confirmed by
    /// reading them: the index is as old as its scan).
    pub async fn candidates(&self, lookup: ContactLookup<'_>) -> Result<Vec<String>, DbErr> {
        match self.entry(lookup, "") {
            Some(entry) => {
                self.store
                    .indexed_contacts(self.portal_id, entry.field, &entry.key_hash)
                    .await
            }
            None => Ok(Vec::new()),
        }
    }
}
