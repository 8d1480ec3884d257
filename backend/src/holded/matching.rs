//! Whether a Holded contact really has the NIF/CIF, email or phone a lookup
//! asks for. Holded's list filters are never trusted — a filter it does not
//! know is ignored and every contact comes back, and those it knows compare
//! exactly — so every lookup compares normalised values itself:
//!
//! - **NIF/CIF/NIE**: letters and digits only, upper case (`b-12.345.678` →
//!   `B12345678`); the EU VAT form of a Spanish number loses its `ES` prefix
//!   (`ESB12345678` → `B12345678`); a DNI written without its leading zeros
//!   gets them back (`1234567L` → `01234567L`).
//! - **email**: trimmed, lower case (the whole address: Holded and HubSpot
//!   treat addresses case-insensitively).
//! - **phone** (or mobile): E.164 — separators dropped, `00` → `+`, a
//!   nine-digit Spanish number gets `+34` (`612 34 56 78`, `0034612345678`
//!   and `+34 612 345 678` are one number).

use futures::TryStreamExt;

use super::{
    error::HoldedError,
    paging::Pages,
    types::{Contact, ContactLookup, FoundContacts},
};

/// NIF/CIF without spaces, dots or dashes, upper case (how it is sent).
pub fn normalise_nif(nif: &str) -> String {
    nif.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A NIF/CIF/NIE as compared (see the module docs).
pub fn nif_key(nif: &str) -> String {
    let mut key = normalise_nif(nif);
    if key.len() == 11 && key.starts_with("ES") {
        key.drain(..2);
    }
    let (digits, letter) = key.split_at(key.len().saturating_sub(1));
    let dni_without_zeros = (1..8).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && letter.chars().all(|c| c.is_ascii_alphabetic());
    if dni_without_zeros {
        key = format!("{digits:0>8}{letter}");
    }
    key
}

/// Trims and lower-cases an email (an invalid one is kept for HubSpot to refuse).
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Spanish numbers to E.164: separators removed, `00` → `+`, and a nine-digit
/// national number (6, 7, 8 or 9 first) gets `+34`. Anything else is kept,
/// without separators.
pub fn normalise_phone(phone: &str) -> String {
    let trimmed = phone.trim();
    let digits: String = trimmed
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    if digits.is_empty() {
        return trimmed.to_owned();
    }
    if let Some(rest) = digits.strip_prefix("00") {
        return format!("+{rest}");
    }
    if digits.len() == 9 && digits.starts_with(['6', '7', '8', '9']) {
        return format!("+34{digits}");
    }
    digits
}

impl ContactLookup<'_> {
    /// The value as compared.
    pub fn key(&self) -> String {
        match self {
            Self::Nif(nif) => nif_key(nif),
            Self::Email(email) => normalise_email(email),
            Self::Phone(phone) => normalise_phone(phone),
            Self::CustomId(reference) => reference.trim().to_owned(),
        }
    }

    /// The value sent to Holded's exact-match filter: the NIF and email as
    /// Holded most likely stores them, a phone as given.
    pub fn filter_value(&self) -> String {
        match self {
            Self::Nif(nif) => normalise_nif(nif),
            Self::Email(email) => normalise_email(email),
            Self::Phone(phone) => phone.trim().to_owned(),
            Self::CustomId(reference) => reference.trim().to_owned(),
        }
    }

    /// The field in Spanish, for messages.
    pub fn field_name(&self) -> &'static str {
        match self {
            Self::Nif(_) => "NIF/CIF",
            Self::Email(_) => "email",
            Self::Phone(_) => "teléfono",
            Self::CustomId(_) => "referencia",
        }
    }

    /// Whether `contact` has this value (a phone lookup: its phone or mobile).
    pub fn matches(&self, contact: &Contact) -> bool {
        let key = self.key();
        let same = |field: &Option<String>, norm: fn(&str) -> String| {
            field
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .is_some_and(|v| norm(v) == key)
        };
        !key.is_empty()
            && match self {
                Self::Nif(_) => same(&contact.nif, nif_key),
                Self::Email(_) => same(&contact.email, normalise_email),
                Self::Phone(_) => {
                    same(&contact.phone, normalise_phone) || same(&contact.mobile, normalise_phone)
                }
                Self::CustomId(_) => same(&contact.custom_id, |v| v.trim().to_owned()),
            }
    }
}

/// The contacts of a list filtered by Holded for `lookup` that really match
/// it. A page with a contact that does not match means Holded ignored the
/// filter: the lookup stops there (the rest would be every contact) and is
/// not complete; nor is one whose list did not end cleanly.
pub(crate) async fn through_filter(
    mut pages: Pages<Contact>,
    lookup: ContactLookup<'_>,
) -> Result<FoundContacts, HoldedError> {
    let mut found = FoundContacts {
        contacts: Vec::new(),
        complete: true,
    };
    while let Some(page) = pages.try_next().await? {
        let (listed, before) = (page.len(), found.contacts.len());
        found
            .contacts
            .extend(page.into_iter().filter(|c| lookup.matches(c)));
        if found.contacts.len() - before < listed {
            tracing::info!(
                field = lookup.field_name(),
                "Holded ignored a contact filter"
            );
            found.complete = false;
            return Ok(found);
        }
    }
    found.complete = pages.doubt().is_none();
    Ok(found)
}

impl FoundContacts {
    /// Both lookups' contacts (each once); complete when both are.
    pub(crate) fn merge(mut self, other: FoundContacts) -> Self {
        for contact in other.contacts {
            if !self.contacts.iter().any(|c| c.id == contact.id) {
                self.contacts.push(contact);
            }
        }
        self.complete &= other.complete;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(nif: &str, email: &str, phone: &str) -> Contact {
        Contact {
            nif: Some(nif.into()),
            email: Some(email.into()),
            mobile: Some(phone.into()),
            ..Default::default()
        }
    }

    #[test]
    fn nifs_match_whatever_their_formatting_prefix_or_missing_zeros() {
        let talleres = contact("b-12.345.678", "", "");
        for asked in ["B12345678", "ESB12345678", " es b 12345678 "] {
            assert!(ContactLookup::Nif(asked).matches(&talleres), "{asked}");
        }
        assert!(!ContactLookup::Nif("B12345679").matches(&talleres));
        let dni = contact("1234567-L", "", "");
        assert!(ContactLookup::Nif("01234567L").matches(&dni));
        assert_eq!(nif_key("X1234567L"), "X1234567L", "an NIE keeps its letter");
        assert_eq!(nif_key("ESX1234567L"), "X1234567L");
    }

    #[test]
    fn emails_and_phones_match_normalised_and_empty_never_matches() {
        let laura = contact("", " Laura@Gómez.ES", "+34 612 34 56 78");
        assert!(ContactLookup::Email("laura@gómez.es").matches(&laura));
        assert!(!ContactLookup::Email("laura.gomez@gomez.es").matches(&laura));
        for asked in ["612345678", "0034 612 345 678", "+34612345678"] {
            assert!(ContactLookup::Phone(asked).matches(&laura), "{asked}");
        }
        assert!(!ContactLookup::Phone("+33612345678").matches(&laura));
        assert!(!ContactLookup::Email("  ").matches(&contact("", "", "")));
        assert!(!ContactLookup::Nif("").matches(&contact("", "", "")));
    }

    #[test]
    fn phones_and_emails_are_normalised() {
        assert_eq!(normalise_phone("612 34 56 78"), "+34612345678");
        assert_eq!(normalise_phone("0034 912-345-678"), "+34912345678");
        assert_eq!(normalise_phone("+44 20 7946 0958"), "+442079460958");
        assert_eq!(
            normalise_email("  Ana.Perez@Ejemplo.ES "),
            "ana.perez@ejemplo.es"
        );
        assert_eq!(normalise_email("no-es-un-email"), "no-es-un-email");
    }
}
