//! Holded's webhook deliveries (v2 era): the headers
//! `x-holded-webhook-event`, `-id`, `-account-id`, `-date`, `-version`, and
//! `x-holded-webhook-signature: sha256=<hex>`, the hex being HMAC-SHA256 of
//! the raw body keyed with the whole signing secret (`whsec_…`). The body is
//! the record that changed (a deleted one may carry only its id); its shape
//! is not published, so only the record's id is taken from it and the record
//! itself is read from the API.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::DocumentType;

/// How far a delivery's date may be from now (either way) to be taken.
pub const FRESHNESS: chrono::Duration = chrono::Duration::minutes(5);

/// Why a delivery is refused (Spanish, shown in the console and the
/// settings page; never the secret or the signature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A header Holded always sends is missing or unreadable.
    #[error("falta la cabecera {0} o no se puede leer")]
    MissingHeader(&'static str),
    /// The signature does not match the body and the secret.
    #[error("la firma no corresponde al contenido con el secreto de firma guardado")]
    BadSignature,
    /// The delivery's date is too far from now (a replay or a wrong clock).
    #[error("la fecha del envío ({0}) está a más de 5 minutos de la hora actual")]
    Stale(String),
    /// It comes from a Holded account other than the portal's.
    #[error("llega de otra cuenta de Holded ({0}), no de la conectada a este portal")]
    ForeignAccount(String),
    /// The body is larger than any record Holded sends.
    #[error("el contenido supera {0} bytes")]
    TooLarge(usize),
    /// No signing secret is saved yet.
    #[error("todavía no se ha guardado el secreto de firma de este webhook")]
    NoSecret,
}

/// The headers of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `contact.update`, `invoice.approve`, …
    pub event: String,
    /// Holded's id of this delivery (the dedupe key).
    pub id: String,
    /// The Holded account it comes from.
    pub account_id: String,
    /// When Holded sent it.
    pub date: DateTime<Utc>,
}

/// What a delivery is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A contact (person or company) was created, changed or deleted.
    Contact(String),
    /// A product.
    Product(String),
    /// A sales document of a type the product syncs.
    Document(DocumentType, String),
    /// Anything else (purchases, stock, warehouses…): acknowledged, unused.
    Other,
}

impl Change {
    /// The change `event` names for the record of `body`; `None` when the
    /// body names no record.
    pub fn of(event: &str, body: &serde_json::Value) -> Option<Self> {
        let (object, _action) = event.split_once('.')?;
        let text = |key: &str| body.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let id = || text("id");
        Some(match object {
            "contact" => Self::Contact(id()?),
            "product" => Self::Product(id()?),
            "payment" => match (
                text("document_type").or_else(|| text("documentType")),
                text("document_id").or_else(|| text("documentId")),
            ) {
                (Some(kind), Some(document)) => match DocumentType::from_v1_name(&kind) {
                    Some(doc_type) => Self::Document(doc_type, document),
                    None => Self::Other,
                },
                _ => Self::Other,
            },
            other => match DocumentType::from_v1_name(other) {
                Some(doc_type) => Self::Document(doc_type, id()?),
                None => Self::Other,
            },
        })
    }
}

impl Change {
    /// The change as one stored text (`contact:<id>`, `product:<id>`,
    /// `invoice:<id>`…); `None` for [`Change::Other`].
    pub fn key(&self) -> Option<String> {
        match self {
            Self::Contact(id) => Some(format!("contact:{id}")),
            Self::Product(id) => Some(format!("product:{id}")),
            Self::Document(doc_type, id) => Some(format!("{}:{id}", doc_type.v1_name())),
            Self::Other => None,
        }
    }

    /// The change of a stored [`Change::key`].
    pub fn from_key(key: &str) -> Option<Self> {
        let (object, id) = key.split_once(':')?;
        let id = id.to_owned();
        Some(match object {
            "contact" => Self::Contact(id),
            "product" => Self::Product(id),
            other => Self::Document(DocumentType::from_v1_name(other)?, id),
        })
    }
}

/// Reads the delivery headers (`header` looks one up by name).
pub fn delivery<'h>(header: impl Fn(&str) -> Option<&'h str>) -> Result<Delivery, Refusal> {
    let required = |name: &'static str| {
        header(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or(Refusal::MissingHeader(name))
    };
    let date_text = required("x-holded-webhook-date")?;
    Ok(Delivery {
        event: required("x-holded-webhook-event")?,
        id: required("x-holded-webhook-id")?,
        account_id: required("x-holded-webhook-account-id")?,
        date: parse_date(&date_text).ok_or(Refusal::MissingHeader("x-holded-webhook-date"))?,
    })
}

/// A delivery date: RFC 3339, or Unix seconds or milliseconds (the format
/// is not published).
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let number: i64 = text.parse().ok()?;
    if number > 100_000_000_000 {
        DateTime::from_timestamp_millis(number)
    } else {
        DateTime::from_timestamp(number, 0)
    }
}

/// Checks `delivery` was sent within [`FRESHNESS`] of `now`.
pub fn check_fresh(delivery: &Delivery, now: DateTime<Utc>) -> Result<(), Refusal> {
    if (now - delivery.date).abs() > FRESHNESS {
        Err(Refusal::Stale(delivery.date.to_rfc3339()))
    } else {
        Ok(())
    }
}

/// Checks `signature` (`sha256=<hex>`) is HMAC-SHA256 of `body` keyed with
/// the whole `secret`, in constant time.
pub fn verify(secret: &SecretString, body: &[u8], signature: Option<&str>) -> Result<(), Refusal> {
    let hex = signature
        .map(str::trim)
        .and_then(|s| s.strip_prefix("sha256="))
        .ok_or(Refusal::MissingHeader("x-holded-webhook-signature"))?;
    let given = from_hex(hex).ok_or(Refusal::BadSignature)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| Refusal::BadSignature)
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `secret` looks like a Holded signing secret (`whsec_` and at
/// least 16 more characters, no spaces).
pub fn is_signing_secret(secret: &str) -> bool {
    secret
        .strip_prefix("whsec_")
        .is_some_and(|rest| rest.len() >= 16 && rest.chars().all(|c| c.is_ascii_graphic()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret() -> SecretString {
        SecretString::from("whsec_0123456789abcdef0123".to_owned())
    }

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256={hex}")
    }

    #[test]
    fn a_signature_over_the_raw_body_with_the_whole_secret_verifies() {
        let body = br#"{"id":"6a00000000000000000000a1","phone":"+34 600 000 001"}"#;
        let good = sign("whsec_0123456789abcdef0123", body);
        assert_eq!(verify(&secret(), body, Some(&good)), Ok(()));
        let tampered = br#"{"id":"6a00000000000000000000a1","phone":"+34 600 000 002"}"#;
        assert_eq!(
            verify(&secret(), tampered, Some(&good)),
            Err(Refusal::BadSignature)
        );
        let without_prefix = sign("0123456789abcdef0123", body);
        assert_eq!(
            verify(&secret(), body, Some(&without_prefix)),
            Err(Refusal::BadSignature)
        );
        assert!(verify(&secret(), body, None).is_err());
        assert!(verify(&secret(), body, Some("sha256=zz")).is_err());
    }

    #[test]
    fn dates_are_read_in_every_plausible_format_and_stale_ones_refused() {
        let now = Utc::now();
        for text in [
            now.to_rfc3339(),
            now.timestamp().to_string(),
            now.timestamp_millis().to_string(),
        ] {
            let at = parse_date(&text).unwrap();
            assert!((at - now).abs() < chrono::Duration::seconds(1), "{text}");
        }
        let delivery = |date| Delivery {
            event: "contact.update".into(),
            id: "d1".into(),
            account_id: "a1".into(),
            date,
        };
        assert!(check_fresh(&delivery(now - chrono::Duration::minutes(4)), now).is_ok());
        assert!(check_fresh(&delivery(now - chrono::Duration::minutes(6)), now).is_err());
        assert!(check_fresh(&delivery(now + chrono::Duration::minutes(6)), now).is_err());
    }

    #[test]
    fn changes_name_the_record_to_read() {
        assert_eq!(
            Change::of("contact.update", &json!({"id": "c1"})),
            Some(Change::Contact("c1".into()))
        );
        assert_eq!(
            Change::of("invoice.approve", &json!({"id": "f1", "contact_id": "c1"})),
            Some(Change::Document(DocumentType::Invoice, "f1".into()))
        );
        assert_eq!(
            Change::of(
                "payment.create",
                &json!({"id": "p1", "document_id": "f1", "document_type": "invoice"})
            ),
            Some(Change::Document(DocumentType::Invoice, "f1".into()))
        );
        assert_eq!(
            Change::of("stock.update", &json!({"productId": "p1"})),
            Some(Change::Other)
        );
        assert_eq!(Change::of("product.delete", &json!({})), None);
        for change in [
            Change::Contact("c1".into()),
            Change::Product("p1".into()),
            Change::Document(DocumentType::SalesOrder, "s1".into()),
        ] {
            assert_eq!(Change::from_key(&change.key().unwrap()), Some(change));
        }
        assert_eq!(Change::Other.key(), None);
    }

    #[test]
    fn signing_secrets_are_recognised() {
        assert!(is_signing_secret("whsec_0123456789abcdef0123"));
        assert!(!is_signing_secret("whsec_short"));
        assert!(!is_signing_secret("pat_0123456789abcdef0123"));
        assert!(!is_signing_secret("whsec_0123456789 abcdef0123"));
    }
}
