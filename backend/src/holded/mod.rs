//! The Holded API client: one trait ([`HoldedApi`]) for what the product
//! needs, two adapters ([`V1Client`], [`V2Client`]) that absorb each
//! generation's wire shapes, and [`HoldedClient`], which picks the adapter
//! from the key (`pat_…` ⇒ v2).
//!
//! Lists are streams of pages ([`Pages`]): memory stays bounded by one page.
//! Calls are rate limited per key, retried with backoff on 429/5xx/timeouts
//! (honouring `Retry-After`), and counted ([`HoldedApi::calls_made`]).

mod error;
mod matching;
mod paging;
mod transport;
mod types;
mod v1;
mod v2;
pub mod webhook;
mod wire;

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::NaiveDate;
use reqwest::Url;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};

pub use error::HoldedError;
pub use matching::{nif_key, normalise_email, normalise_nif, normalise_phone};
pub use paging::Pages;
pub use transport::{ClientOptions, DEFAULT_V1_REQUESTS_PER_MINUTE, RetryPolicy};
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

    /// Contacts whose NIF, email or phone/mobile is the value (compared
    /// normalised), through the list filter Holded has for it, never trusted:
    /// see [`FoundContacts::complete`].
    fn find_contacts(
        &self,
        lookup: ContactLookup<'_>,
    ) -> impl Future<Output = Result<FoundContacts, HoldedError>> + Send;

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

    /// The account's monthly request count and limit as Holded reports them
    /// (v2, permission `developers:usage.read`); `None` where there is no way
    /// to ask (v1).
    fn usage(&self) -> impl Future<Output = Result<Option<Usage>, HoldedError>> + Send;
}

/// A Holded client for one key; cheap to clone (clones share the rate limiter
/// and the call counters).
#[derive(Debug, Clone)]
pub struct HoldedClient {
    inner: Adapter,
    calls: Arc<AtomicU64>,
    /// Calls already handed to [`Self::take_unrecorded_calls`].
    recorded: Arc<AtomicU64>,
    account: String,
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
        let account = account_of(key.expose_secret());
        let transport = Arc::new(Transport::new(base, key, generation, &options)?);
        let calls = transport.calls().clone();
        let inner = match generation {
            Generation::V1 => Adapter::V1(V1Client::new(transport)),
            Generation::V2 => Adapter::V2(V2Client::new(transport, options.v2_page_size)),
        };
        Ok(Self {
            inner,
            calls,
            recorded: Arc::new(AtomicU64::new(0)),
            account,
        })
    }

    /// The shared call counter (for reporting "Holded calls used").
    pub fn call_counter(&self) -> Arc<AtomicU64> {
        self.calls.clone()
    }

    /// The calls made since this was last asked (each counted once against
    /// the account's monthly quota).
    pub fn take_unrecorded_calls(&self) -> u64 {
        let made = self.calls.load(Ordering::Relaxed);
        made.saturating_sub(self.recorded.swap(made, Ordering::Relaxed))
    }

    /// The contacts `ids`, read one by one (see [`Pages::by_id`]).
    pub fn contacts_by_id(&self, ids: Vec<String>) -> Pages<Contact> {
        let client = self.clone();
        Pages::by_id(ids, move |id| {
            let client = client.clone();
            async move { client.contact(&id).await }
        })
    }

    /// The products `ids`, read one by one.
    pub fn products_by_id(&self, ids: Vec<String>) -> Pages<Product> {
        let client = self.clone();
        Pages::by_id(ids, move |id| {
            let client = client.clone();
            async move { client.product(&id).await }
        })
    }

    /// The documents `ids` of `doc_type`, read one by one (whole, with their lines).
    pub fn documents_by_id(&self, doc_type: DocumentType, ids: Vec<String>) -> Pages<Document> {
        let client = self.clone();
        Pages::by_id(ids, move |id| {
            let client = client.clone();
            async move { client.document(doc_type, &id).await }
        })
    }

    /// Registers a webhook in Holded sending `events` to `url` (v2 only, see
    /// [`V2Client::register_webhook`]); returns Holded's id for it. A v1 key
    /// fails with [`HoldedError::WrongKeyGeneration`] without a call.
    pub async fn register_webhook(
        &self,
        url: &str,
        events: &[&str],
        description: &str,
    ) -> Result<String, HoldedError> {
        match &self.inner {
            Adapter::V1(_) => Err(HoldedError::WrongKeyGeneration { expected: "v2" }),
            Adapter::V2(client) => client.register_webhook(url, events, description).await,
        }
    }

    /// A stable id of the Holded account this key opens, safe to store and
    /// show (a SHA-256 of the key, which the key cannot be recovered from).
    pub fn account_id(&self) -> &str {
        &self.account
    }
}

/// The account id of a key: the first 16 bytes of SHA-256 over a
/// domain-separated key, in hex. Keys are long random strings, so the hash
/// reveals nothing; two portals with the same key share one quota.
fn account_of(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("holded-hubspot/holded-account/v1\0{key}"));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
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

    async fn find_contacts(&self, lookup: ContactLookup<'_>) -> Result<FoundContacts, HoldedError> {
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

    async fn usage(&self) -> Result<Option<Usage>, HoldedError> {
        dispatch!(self, c => c.usage().await)
    }
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
    fn an_account_id_is_stable_and_never_the_key() {
        let base = Url::parse("https://api.holded.com").unwrap();
        let client = |key: &str| {
            HoldedClient::new(
                &base,
                SecretString::from(key.to_owned()),
                ClientOptions::default(),
            )
            .unwrap()
        };
        let a = client("pat_supersecret123");
        assert_eq!(a.account_id(), client("pat_supersecret123").account_id());
        assert_ne!(a.account_id(), client("pat_other").account_id());
        assert!(!a.account_id().contains("supersecret"));
        assert_eq!(a.account_id().len(), 32);
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
}
