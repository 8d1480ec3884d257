//! The Holded API client: one trait ([`HoldedApi`]) for what the product
//! needs, two adapters ([`V1Client`], [`V2Client`]) that absorb each
//! generation's wire shapes, and [`HoldedClient`], which picks the adapter
//! from the key (`pat_…` ⇒ v2).
//!
//! Lists are streams of pages ([`Pages`]): memory stays bounded by one page.
//! Calls are rate limited per key, retried with backoff on 429/5xx/timeouts
//! (honouring `Retry-After`), and counted ([`HoldedApi::calls_made`]).

mod error;
mod paging;
mod transport;
mod types;
mod v1;
mod v2;
mod wire;

use std::{
    future::Future,
    sync::{Arc, atomic::AtomicU64},
};

use chrono::NaiveDate;
use reqwest::Url;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};

pub use error::HoldedError;
pub use paging::Pages;
pub use transport::{ClientOptions, RetryPolicy};
pub use types::*;
pub use v1::V1Client;
pub use v2::V2Client;

use transport::Transport;

/// What the product needs from Holded, whatever the API generation.
pub trait HoldedApi: Send + Sync {
    /// The generation this client speaks.
    fn generation(&self) -> Generation;

    /// HTTP requests sent so far (retries included): "Holded calls used".
    fn calls_made(&self) -> u64;

    /// Checks the key works; for v2, lists the read permissions it lacks.
    fn check_key(&self) -> impl Future<Output = Result<KeyCheck, HoldedError>> + Send;

    /// Every contact, page by page.
    fn contacts(&self) -> Pages<Contact>;

    /// Every product, page by page.
    fn products(&self) -> Pages<Product>;

    /// Every document of a type, page by page.
    fn documents(&self, doc_type: DocumentType) -> Pages<Document>;

    /// One contact.
    fn contact(&self, id: &str) -> impl Future<Output = Result<Contact, HoldedError>> + Send;

    /// One product.
    fn product(&self, id: &str) -> impl Future<Output = Result<Product, HoldedError>> + Send;

    /// One document.
    fn document(
        &self,
        doc_type: DocumentType,
        id: &str,
    ) -> impl Future<Output = Result<Document, HoldedError>> + Send;

    /// The documents of a type for one contact dated between `from` and `to`
    /// (both included; Holded filters on the document date).
    fn contact_documents(
        &self,
        doc_type: DocumentType,
        contact_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Document>, HoldedError>> + Send;

    /// Contacts whose NIF, email or phone/mobile equals the value.
    fn find_contacts(
        &self,
        lookup: ContactLookup<'_>,
    ) -> impl Future<Output = Result<Vec<Contact>, HoldedError>> + Send;

    /// Creates a contact; returns its id. Not retried after an unclear failure.
    fn create_contact(
        &self,
        changes: &ContactChanges,
    ) -> impl Future<Output = Result<String, HoldedError>> + Send;

    /// Changes the given fields of a contact, leaving the others as they are.
    fn update_contact(
        &self,
        id: &str,
        changes: &ContactChanges,
    ) -> impl Future<Output = Result<(), HoldedError>> + Send;

    /// Creates a document (a draft). An unclear failure after sending returns
    /// [`HoldedError::AmbiguousCreate`]: look for it before creating again.
    fn create_document(
        &self,
        doc: &NewDocument,
    ) -> impl Future<Output = Result<CreatedDocument, HoldedError>> + Send;

    /// The account's taxes.
    fn taxes(&self) -> impl Future<Output = Result<Vec<Tax>, HoldedError>> + Send;

    /// The numbering series of a document type.
    fn numbering_series(
        &self,
        doc_type: DocumentType,
    ) -> impl Future<Output = Result<Vec<NumberingSeries>, HoldedError>> + Send;
}

/// A Holded client for one key; cheap to clone (clones share the rate limiter
/// and the call counter).
#[derive(Debug, Clone)]
pub struct HoldedClient {
    inner: Adapter,
    calls: Arc<AtomicU64>,
}

#[derive(Debug, Clone)]
enum Adapter {
    V1(V1Client),
    V2(V2Client),
}

macro_rules! dispatch {
    ($self:ident, $client:ident => $call:expr) => {
        match &$self.inner {
            Adapter::V1($client) => $call,
            Adapter::V2($client) => $call,
        }
    };
}

impl HoldedClient {
    /// A client for `key` against `base` (config `HOLDED_API_BASE`); the
    /// generation follows from the key.
    pub fn new(base: &Url, key: SecretString, options: ClientOptions) -> Result<Self, HoldedError> {
        let generation = Generation::of_key(key.expose_secret());
        Self::with_generation(base, key, generation, options)
    }

    /// A client that speaks `generation` whatever the key looks like (a key of
    /// the other generation then fails with [`HoldedError::WrongKeyGeneration`]).
    pub fn with_generation(
        base: &Url,
        key: SecretString,
        generation: Generation,
        options: ClientOptions,
    ) -> Result<Self, HoldedError> {
        let transport = Arc::new(Transport::new(base, key, generation, &options)?);
        let calls = transport.calls().clone();
        let inner = match generation {
            Generation::V1 => Adapter::V1(V1Client::new(transport)),
            Generation::V2 => Adapter::V2(V2Client::new(transport, options.v2_page_size)),
        };
        Ok(Self { inner, calls })
    }

    /// The shared call counter (for reporting "Holded calls used").
    pub fn call_counter(&self) -> Arc<AtomicU64> {
        self.calls.clone()
    }
}

impl HoldedApi for HoldedClient {
    fn generation(&self) -> Generation {
        dispatch!(self, c => c.generation())
    }

    fn calls_made(&self) -> u64 {
        dispatch!(self, c => c.calls_made())
    }

    async fn check_key(&self) -> Result<KeyCheck, HoldedError> {
        dispatch!(self, c => c.check_key().await)
    }

    fn contacts(&self) -> Pages<Contact> {
        dispatch!(self, c => c.contacts())
    }

    fn products(&self) -> Pages<Product> {
        dispatch!(self, c => c.products())
    }

    fn documents(&self, doc_type: DocumentType) -> Pages<Document> {
        dispatch!(self, c => c.documents(doc_type))
    }

    async fn contact(&self, id: &str) -> Result<Contact, HoldedError> {
        dispatch!(self, c => c.contact(id).await)
    }

    async fn product(&self, id: &str) -> Result<Product, HoldedError> {
        dispatch!(self, c => c.product(id).await)
    }

    async fn document(&self, doc_type: DocumentType, id: &str) -> Result<Document, HoldedError> {
        dispatch!(self, c => c.document(doc_type, id).await)
    }

    async fn contact_documents(
        &self,
        doc_type: DocumentType,
        contact_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Document>, HoldedError> {
        dispatch!(self, c => c.contact_documents(doc_type, contact_id, from, to).await)
    }

    async fn find_contacts(&self, lookup: ContactLookup<'_>) -> Result<Vec<Contact>, HoldedError> {
        dispatch!(self, c => c.find_contacts(lookup).await)
    }

    async fn create_contact(&self, changes: &ContactChanges) -> Result<String, HoldedError> {
        dispatch!(self, c => c.create_contact(changes).await)
    }

    async fn update_contact(&self, id: &str, changes: &ContactChanges) -> Result<(), HoldedError> {
        dispatch!(self, c => c.update_contact(id, changes).await)
    }

    async fn create_document(&self, doc: &NewDocument) -> Result<CreatedDocument, HoldedError> {
        dispatch!(self, c => c.create_document(doc).await)
    }

    async fn taxes(&self) -> Result<Vec<Tax>, HoldedError> {
        dispatch!(self, c => c.taxes().await)
    }

    async fn numbering_series(
        &self,
        doc_type: DocumentType,
    ) -> Result<Vec<NumberingSeries>, HoldedError> {
        dispatch!(self, c => c.numbering_series(doc_type).await)
    }
}

/// Whether a contact matches a lookup (client-side filter, for v1 scans).
fn matches(contact: &Contact, lookup: ContactLookup<'_>) -> bool {
    let same = |field: &Option<String>, value: &str, norm: fn(&str) -> String| {
        field.as_deref().is_some_and(|f| norm(f) == norm(value))
    };
    match lookup {
        ContactLookup::Nif(nif) => same(&contact.nif, nif, normalise_nif),
        ContactLookup::Email(email) => same(&contact.email, email, |e| e.trim().to_lowercase()),
        ContactLookup::Phone(phone) => {
            same(&contact.phone, phone, |p| p.to_owned())
                || same(&contact.mobile, phone, |p| p.to_owned())
        }
    }
}

/// NIF/CIF without spaces, dots or dashes, upper case (how it is compared and sent).
pub fn normalise_nif(nif: &str) -> String {
    nif.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The IVA percentage named by tax keys (`s_iva_21` ⇒ 21).
fn vat_from_keys(keys: &[String]) -> Option<Decimal> {
    keys.iter()
        .find_map(|k| k.strip_prefix("s_iva_")?.parse::<Decimal>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_follows_the_key() {
        assert_eq!(Generation::of_key("pat_abc"), Generation::V2);
        assert_eq!(
            Generation::of_key("0123456789abcdef0123456789abcdef"),
            Generation::V1
        );
    }

    #[test]
    fn document_types_have_spanish_names() {
        let names: Vec<_> = DocumentType::ALL.iter().map(|t| t.spanish_name()).collect();
        assert_eq!(
            names,
            ["Presupuesto", "Proforma", "Albarán", "Factura", "Pedido"]
        );
        assert_eq!(
            DocumentType::from_spanish_name("Albarán"),
            Some(DocumentType::Waybill)
        );
        assert_eq!(
            DocumentType::from_v1_name("salesorder"),
            Some(DocumentType::SalesOrder)
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let base = Url::parse("https://api.holded.com").unwrap();
        let key = SecretString::from("pat_supersecret123".to_owned());
        let client = HoldedClient::new(&base, key, ClientOptions::default()).unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("supersecret"), "{debug}");
        assert_eq!(client.generation(), Generation::V2);
    }

    #[test]
    fn nif_lookup_ignores_formatting() {
        let contact = Contact {
            nif: Some("b-12345678".into()),
            ..Default::default()
        };
        assert!(matches(&contact, ContactLookup::Nif("B12345678")));
        assert!(!matches(&contact, ContactLookup::Nif("B12345679")));
    }
}
