//! Content hashes of what is written to HubSpot (change detection).

use sha2::{Digest, Sha256};

use crate::{crypto::to_hex, hubspot::Properties};

/// A short, stable hash of `properties` plus `extra` parts (associations,
/// lines): equal content gives an equal hash, whatever the order of insertion.
pub fn content_hash(properties: &Properties, extra: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in properties {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([1]);
    }
    for part in extra {
        hasher.update(part.as_bytes());
        hasher.update([2]);
    }
    to_hex(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_follows_content_only() {
        let mut a = Properties::new();
        a.insert("name".into(), "Acme".into());
        a.insert("city".into(), "Bilbao".into());
        let mut b = Properties::new();
        b.insert("city".into(), "Bilbao".into());
        b.insert("name".into(), "Acme".into());
        assert_eq!(content_hash(&a, &[]), content_hash(&b, &[]));
        b.insert("city".into(), "Vigo".into());
        assert_ne!(content_hash(&a, &[]), content_hash(&b, &[]));
        assert_ne!(content_hash(&a, &["x"]), content_hash(&a, &[]));
        // Field boundaries matter: ("ab","c") differs from ("a","bc").
        let mut c = Properties::new();
        c.insert("ab".into(), "c".into());
        let mut d = Properties::new();
        d.insert("a".into(), "bc".into());
        assert_ne!(content_hash(&c, &[]), content_hash(&d, &[]));
    }
}
