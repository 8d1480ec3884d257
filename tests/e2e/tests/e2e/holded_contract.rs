//! Holded client against the Holded simulator, both API generations: every
//! client operation, each wire asymmetry and error kind, the simulator's
//! shapes against fixtures from the published specs, faults, and streaming.

use std::{collections::HashSet, num::NonZeroU32, time::Duration};

use futures::TryStreamExt;
use holded_hubspot::holded::{
    Address, ClientOptions, ContactChanges, ContactLookup, DocumentContact, DocumentLine,
    DocumentType, Generation, HoldedApi, HoldedClient, HoldedError, NewDocument, RetryPolicy,
};
use holded_hubspot_sim::{
    RunningSims,
    holded::{
        SimAccount,
        faults::{Fault, FaultKind},
        seed::SeedSpec,
        state::SimSettings,
    },
};
use reqwest::Url;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{http, sims};

const GENERATIONS: [Generation; 2] = [Generation::V1, Generation::V2];

/// Simulators plus one account.
struct Env {
    sims: RunningSims,
    account: SimAccount,
}

impl Env {
    async fn new() -> Self {
        let sims = sims().await;
        let account = sims.holded.create_account(None);
        Self { sims, account }
    }

    fn key(&self, generation: Generation) -> &str {
        match generation {
            Generation::V1 => &self.account.v1_key,
            Generation::V2 => &self.account.v2_token,
        }
    }

    fn base(&self) -> Url {
        Url::parse(&self.sims.holded_url).expect("sim url")
    }

    /// A client with short waits for tests.
    fn client(&self, generation: Generation) -> HoldedClient {
        self.client_with(self.key(generation), fast_options())
    }

    fn client_with(&self, key: &str, options: ClientOptions) -> HoldedClient {
        HoldedClient::new(&self.base(), SecretString::from(key.to_owned()), options)
            .expect("client")
    }

    fn seed(&self, contacts: usize, products: usize, documents_per_type: usize) {
        self.sims
            .holded
            .seed(&SeedSpec {
                account_id: self.account.account_id.clone(),
                seed: 7,
                contacts,
                products,
                documents_per_type,
            })
            .expect("seed");
    }

    /// A raw API call (path after the host), returning status, content type and body.
    async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> (u16, String, String) {
        let mut request = http().request(method, format!("{}{path}", self.sims.holded_url));
        request = match auth {
            Auth::None => request,
            Auth::Key(key) => request.header("key", key),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, content_type, response.text().await.expect("body"))
    }

    async fn raw_json(&self, path: &str, generation: Generation) -> Value {
        let auth = match generation {
            Generation::V1 => Auth::Key(&self.account.v1_key),
            Generation::V2 => Auth::Bearer(&self.account.v2_token),
        };
        let (status, _, body) = self.raw(reqwest::Method::GET, path, auth, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).expect("json")
    }
}

#[tokio::test]
async fn documents_of_one_contact_are_found_by_contact_and_date() {
    let env = Env::new().await;
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    for generation in GENERATIONS {
        let client = env.client(generation);
        let ours = client.create_contact(&full_contact()).await.unwrap();
        let other = client
            .create_contact(&ContactChanges {
                name: Some("Otra Empresa SL".into()),
                is_person: Some(false),
                ..Default::default()
            })
            .await
            .unwrap();
        for (contact, date, notes) in [
            (&ours, day(10), "ref hh-1-10"),
            (&ours, day(20), "ref hh-1-20"),
            (&other, day(10), "ref hh-2-10"),
        ] {
            client
                .create_document(&NewDocument {
                    doc_type: DocumentType::Estimate,
                    contact: DocumentContact::Id(contact.clone()),
                    date,
                    description: None,
                    notes: Some(notes.into()),
                    currency: None,
                    numbering_series_id: None,
                    lines: invoice_lines(),
                })
                .await
                .unwrap();
        }
        let found = client
            .contact_documents(DocumentType::Estimate, &ours, day(9), day(11))
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{generation:?}");
        let notes = match generation {
            Generation::V1 => found[0].notes.clone(),
            // A v2 list carries no notes: the document read whole does.
            Generation::V2 => {
                assert_eq!((&found[0].notes, &found[0].lines), (&None, &None));
                client
                    .document(DocumentType::Estimate, &found[0].id)
                    .await
                    .unwrap()
                    .notes
            }
        };
        assert_eq!(notes.as_deref(), Some("ref hh-1-10"), "{generation:?}");
        // Both ends of the window are included.
        let found = client
            .contact_documents(DocumentType::Estimate, &ours, day(10), day(20))
            .await
            .unwrap();
        assert_eq!(found.len(), 2, "{generation:?}");
        assert!(
            client
                .contact_documents(DocumentType::Invoice, &ours, day(1), day(31))
                .await
                .unwrap()
                .is_empty()
        );
    }
    // Holded refuses half a date window (v1) and a malformed date (v2).
    let (status, _, body) = env
        .raw(
            reqwest::Method::GET,
            &v1_path("/documents/estimate?starttmp=1772319600"),
            Auth::Key(&env.account.v1_key),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("starttmp & endtmp"), "{body}");
    let (status, _, body) = env
        .raw(
            reqwest::Method::GET,
            &v2_path("/estimates?start_date=ayer"),
            Auth::Bearer(&env.account.v2_token),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = env
        .raw(
            reqwest::Method::GET,
            &v2_path("/estimates?contact_id=no-es-un-id"),
            Auth::Bearer(&env.account.v2_token),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("ObjectId"), "{body}");
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Key(&'a str),
    Bearer(&'a str),
}

fn fast_options() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        requests_per_minute: NonZeroU32::new(60_000),
        retry: RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(2),
        },
        v2_page_size: 100,
        ..ClientOptions::default()
    }
}

fn v1_path(rest: &str) -> String {
    format!("/api/invoicing/v1{rest}")
}

fn v2_path(rest: &str) -> String {
    format!("/api/v2{rest}")
}

// ---------------------------------------------------------------- fixtures

fn fixture(name: &str) -> Value {
    let text = match name {
        "v1-contact" => include_str!("../../fixtures/holded/v1-contact.json"),
        "v1-product" => include_str!("../../fixtures/holded/v1-product.json"),
        "v1-document" => include_str!("../../fixtures/holded/v1-document.json"),
        "v1-tax" => include_str!("../../fixtures/holded/v1-tax.json"),
        "v1-numbering-series" => include_str!("../../fixtures/holded/v1-numbering-series.json"),
        "v2-page" => include_str!("../../fixtures/holded/v2-page.json"),
        "v2-problem" => include_str!("../../fixtures/holded/v2-problem.json"),
        "v2-contact" => include_str!("../../fixtures/holded/v2-contact.json"),
        "v2-product" => include_str!("../../fixtures/holded/v2-product.json"),
        "v2-document" => include_str!("../../fixtures/holded/v2-document.json"),
        "v2-document-list-item" => {
            include_str!("../../fixtures/holded/v2-document-list-item.json")
        }
        "v2-tax" => include_str!("../../fixtures/holded/v2-tax.json"),
        "v2-numbering-series" => include_str!("../../fixtures/holded/v2-numbering-series.json"),
        "v2-usage" => include_str!("../../fixtures/holded/v2-usage.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).expect("fixture json")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Values at a fixture path (`a.b`, `a[].b`); `None` where a field is missing.
fn values_at<'a>(value: &'a Value, path: &str) -> Vec<Option<&'a Value>> {
    let Some((head, rest)) = path.split_once('.') else {
        return vec![value.get(path)];
    };
    match head.strip_suffix("[]") {
        Some(array) => match value.get(array).and_then(Value::as_array) {
            Some(items) => items
                .iter()
                .flat_map(|item| values_at(item, rest))
                .collect(),
            None => vec![None],
        },
        None => match value.get(head) {
            Some(inner) => values_at(inner, rest),
            None => vec![None],
        },
    }
}

/// Asserts `value` has every field of the fixture with an allowed type, and
/// none of its `absent` ones.
fn assert_shape(value: &Value, fixture_name: &str) {
    let spec = fixture(fixture_name);
    for field in spec["absent"].as_array().into_iter().flatten() {
        let field = field.as_str().expect("field name");
        assert!(
            value.get(field).is_none(),
            "{fixture_name}: {field} must be absent from {value}"
        );
    }
    let fields = spec["fields"].as_object().expect("fields");
    for (path, allowed) in fields {
        let allowed: Vec<&str> = allowed.as_str().expect("types").split('|').collect();
        for found in values_at(value, path) {
            let found =
                found.unwrap_or_else(|| panic!("{fixture_name}: {path} missing in {value}"));
            assert!(
                allowed.contains(&json_type(found)),
                "{fixture_name}: {path} is {} ({found}), spec allows {allowed:?}",
                json_type(found)
            );
        }
    }
}

#[tokio::test]
async fn simulator_responses_match_the_published_shapes() {
    let env = Env::new().await;
    env.seed(3, 3, 1);
    let v1_contacts = env.raw_json(&v1_path("/contacts"), Generation::V1).await;
    assert_shape(&v1_contacts[0], "v1-contact");
    let v1_products = env.raw_json(&v1_path("/products"), Generation::V1).await;
    assert_shape(&v1_products[0], "v1-product");
    for t in DocumentType::ALL {
        let docs = env
            .raw_json(
                &v1_path(&format!("/documents/{}", t.v1_name())),
                Generation::V1,
            )
            .await;
        assert_shape(&docs[0], "v1-document");
    }
    let v1_taxes = env.raw_json(&v1_path("/taxes"), Generation::V1).await;
    assert_shape(&v1_taxes[0], "v1-tax");
    let v1_series = env
        .raw_json(&v1_path("/numberingseries/invoice"), Generation::V1)
        .await;
    assert_shape(&v1_series[0], "v1-numbering-series");

    for (path, item_fixture) in [
        ("/contacts", "v2-contact"),
        ("/products", "v2-product"),
        ("/invoices", "v2-document-list-item"),
        ("/estimates", "v2-document-list-item"),
        ("/proformas", "v2-document-list-item"),
        ("/waybills", "v2-document-list-item"),
        ("/sales-orders", "v2-document-list-item"),
        ("/taxes", "v2-tax"),
        ("/numbering-series/invoice", "v2-numbering-series"),
    ] {
        let page = env.raw_json(&v2_path(path), Generation::V2).await;
        assert_shape(&page, "v2-page");
        assert_shape(&page["items"][0], item_fixture);
        if item_fixture == "v2-document-list-item" {
            let id = page["items"][0]["id"].as_str().expect("id");
            let one = env
                .raw_json(&v2_path(&format!("{path}/{id}")), Generation::V2)
                .await;
            assert_shape(&one, "v2-document");
        }
    }
    let usage = env.raw_json(&v2_path("/usage"), Generation::V2).await;
    assert_shape(&usage, "v2-usage");
    let (status, content_type, body) = env
        .raw(
            reqwest::Method::GET,
            &v2_path("/contacts"),
            Auth::Bearer("pat_nope"),
            None,
        )
        .await;
    assert_eq!(
        (status, content_type.as_str()),
        (403, "application/problem+json")
    );
    assert_shape(&serde_json::from_str(&body).expect("json"), "v2-problem");
    env.sims.stop().await;
}

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn each_generation_rejects_bad_keys_with_its_own_bodies() {
    let env = Env::new().await;
    let get = reqwest::Method::GET;
    let v1 = v1_path("/contacts");
    let v2 = v2_path("/contacts");
    let (s, _, b) = env.raw(get.clone(), &v1, Auth::None, None).await;
    assert_eq!((s, b.as_str()), (401, r#"{"status":401}"#));
    let (s, _, b) = env
        .raw(
            get.clone(),
            &v1,
            Auth::Key("0123456789abcdef0123456789abcdef"),
            None,
        )
        .await;
    assert_eq!((s, b.as_str()), (401, r#"{"status":401}"#));
    let (s, _, b) = env
        .raw(get.clone(), &v1, Auth::Key(&env.account.v2_token), None)
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap(),
        json!({"status": 0, "info": "Invalid key"})
    );
    let (s, ct, b) = env.raw(get.clone(), &v2, Auth::None, None).await;
    assert_eq!((s, ct.as_str()), (401, "application/problem+json"));
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["type"],
        "https://api.holded.com/problems/unauthorized"
    );
    let (s, _, b) = env
        .raw(get.clone(), &v2, Auth::Bearer("pat_revoked"), None)
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        serde_json::from_str::<Value>(&b).unwrap()["detail"],
        "Access denied."
    );
    // v1 answers unknown routes with its HTML page and HTTP 200.
    let (s, ct, b) = env
        .raw(
            reqwest::Method::POST,
            &v1_path("/contacts/abc/attachments"),
            Auth::Key(&env.account.v1_key),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/html") && b.starts_with("<!DOCTYPE html>"));

    // The client turns each into a typed error.
    let base = env.base();
    let fake_v1 = HoldedClient::new(
        &base,
        "0123456789abcdef0123456789abcdef".to_owned().into(),
        fast_options(),
    )
    .unwrap();
    assert!(matches!(
        fake_v1.check_key().await,
        Err(HoldedError::Unauthorized { generation: "v1" })
    ));
    let fake_v2 =
        HoldedClient::new(&base, "pat_revoked".to_owned().into(), fast_options()).unwrap();
    assert!(matches!(
        fake_v2.check_key().await,
        Err(HoldedError::Unauthorized { generation: "v2" })
    ));
    let token_on_v1 = HoldedClient::with_generation(
        &base,
        env.account.v2_token.clone().into(),
        Generation::V1,
        fast_options(),
    )
    .unwrap();
    assert!(matches!(
        token_on_v1.check_key().await,
        Err(HoldedError::WrongKeyGeneration { expected: "v1" })
    ));
    let key_on_v2 = HoldedClient::with_generation(
        &base,
        env.account.v1_key.clone().into(),
        Generation::V2,
        fast_options(),
    )
    .unwrap();
    assert!(matches!(
        key_on_v2.check_key().await,
        Err(HoldedError::WrongKeyGeneration { expected: "v2" })
    ));
    let message = token_on_v1.check_key().await.unwrap_err().to_string();
    assert!(
        !message.contains(&env.account.v2_token),
        "errors never show the key"
    );
    env.sims.stop().await;
}

#[tokio::test]
async fn key_check_names_the_generation_and_missing_permissions() {
    let env = Env::new().await;
    for generation in GENERATIONS {
        let check = env.client(generation).check_key().await.expect("valid key");
        assert_eq!(check.generation, generation);
        assert!(check.missing_permissions.is_empty());
    }
    let limited: Vec<String> = [
        "contacts:contacts.read",
        "sales:invoices.read",
        "inventory:products.read",
    ]
    .map(str::to_owned)
    .to_vec();
    let token = env
        .sims
        .holded
        .create_token(&env.account.account_id, Some(&limited))
        .expect("token");
    let client = env.client_with(&token, fast_options());
    let check = client.check_key().await.expect("token works");
    assert_eq!(
        check.missing_permissions,
        [
            "sales:estimates.read",
            "sales:proforms.read",
            "inventory:shipments.read",
            "inventory:sales-orders.read",
            "accounting:taxes.read",
            "sales:invoicing-settings.read",
        ]
    );
    match client.taxes().await {
        Err(HoldedError::MissingPermission { permission }) => {
            assert_eq!(permission, "accounting:taxes.read")
        }
        other => panic!("expected a missing permission, got {other:?}"),
    }
    let (status, _, body) = env
        .raw(
            reqwest::Method::GET,
            &v2_path("/taxes"),
            Auth::Bearer(&token),
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["detail"],
        "Insufficient permissions: accounting:taxes.read required."
    );
    env.sims.stop().await;
}

// ---------------------------------------------------------------- contacts

fn full_contact() -> ContactChanges {
    ContactChanges {
        name: Some("Núria Puig Castro".into()),
        trade_name: Some("Puig Disseny".into()),
        nif: Some("12345678Z".into()),
        vat_number: Some("ES12345678Z".into()),
        email: Some("nuria@puig.es".into()),
        phone: Some("+34931234567".into()),
        mobile: Some("+34612345678".into()),
        is_person: Some(true),
        kind: Some("client".into()),
        iban: Some("ES9121000418450200051332".into()),
        swift: Some("CAIXESBBXXX".into()),
        website: Some("https://puig.es".into()),
        bill_address: Some(Address {
            address: Some("Carrer Major 1".into()),
            city: Some("Barcelona".into()),
            postal_code: Some("08001".into()),
            province: Some("Barcelona".into()),
            country: Some("España".into()),
            country_code: Some("ES".into()),
        }),
        custom_id: Some("CRM-42".into()),
        tags: Some(vec!["vip".into()]),
    }
}

#[tokio::test]
async fn contacts_round_trip_in_both_generations() {
    let env = Env::new().await;
    env.seed(20, 0, 0);
    for generation in GENERATIONS {
        let client = env.client(generation);
        let id = client
            .create_contact(&full_contact())
            .await
            .expect("create");
        let contact = client.contact(&id).await.expect("get");
        assert_eq!(contact.name, "Núria Puig Castro");
        assert_eq!(contact.nif.as_deref(), Some("12345678Z"));
        assert_eq!(contact.vat_number.as_deref(), Some("ES12345678Z"));
        assert!(contact.is_person);
        assert_eq!(
            contact.bill_address.postal_code.as_deref(),
            Some("08001"),
            "{generation:?} keeps the leading zero"
        );
        assert_eq!(contact.bill_address.city.as_deref(), Some("Barcelona"));
        assert_eq!(contact.email.as_deref(), Some("nuria@puig.es"));
        assert!(contact.updated_at.is_some());
        match generation {
            Generation::V1 => {
                // Written as `CustomId`, read as `customId`; IBAN/SWIFT and tags writable.
                assert_eq!(contact.custom_id.as_deref(), Some("CRM-42"));
                assert_eq!(contact.iban.as_deref(), Some("ES9121000418450200051332"));
                assert_eq!(contact.tags, ["vip"]);
                // On the wire the postal code is an integer.
                let raw = env
                    .raw_json(&v1_path(&format!("/contacts/{id}")), generation)
                    .await;
                assert_eq!(raw["billAddress"]["postalCode"], json!(8001));
                assert_eq!(raw["customId"], "CRM-42");
            }
            Generation::V2 => {
                let raw = env
                    .raw_json(&v2_path(&format!("/contacts/{id}")), generation)
                    .await;
                assert_eq!(raw["bill_address"]["postal_code"], "08001");
            }
        }

        // Every lookup keeps only real matches (normalised) and says whether
        // Holded's filter can be trusted to have found them all: v1 has no
        // NIF or email filter; v2's `code` is ignored (default reading).
        for (lookup, found_here, complete) in [
            (
                ContactLookup::Nif("12345678-Z"),
                generation == Generation::V2,
                false,
            ),
            (
                ContactLookup::Email(" Nuria@Puig.ES"),
                generation == Generation::V2,
                generation == Generation::V2,
            ),
            (ContactLookup::Phone("+34612345678"), true, true),
        ] {
            let found = client.find_contacts(lookup).await.expect("find");
            assert_eq!(
                found.contacts.iter().any(|c| c.id == id),
                found_here,
                "{generation:?} {lookup:?}"
            );
            // Only real matches (the v1 round made a contact with the same values).
            assert!(found.contacts.iter().all(|c| lookup.matches(c)));
            assert_eq!(found.complete, complete, "{generation:?} {lookup:?}");
        }
        let nobody = client
            .find_contacts(ContactLookup::Email("nadie@ejemplo.es"))
            .await
            .unwrap();
        assert!(nobody.contacts.is_empty());

        // Update one field; everything else stays (v1 partial PUT, v2 get–merge–put).
        let before = contact.updated_at;
        env.sims
            .holded
            .advance_clock(chrono::Duration::seconds(120));
        let change = ContactChanges {
            email: Some("facturas@puig.es".into()),
            ..Default::default()
        };
        client.update_contact(&id, &change).await.expect("update");
        let after = client.contact(&id).await.expect("get");
        assert_eq!(after.email.as_deref(), Some("facturas@puig.es"));
        assert_eq!(after.name, contact.name);
        assert_eq!(after.nif, contact.nif);
        assert_eq!(after.bill_address, contact.bill_address);
        assert_eq!(after.mobile, contact.mobile);
        assert!(after.updated_at > before, "{generation:?} updatedAt moves");
    }
    env.sims.stop().await;
}

#[tokio::test]
async fn put_is_partial_in_v1_and_full_replacement_in_v2() {
    let env = Env::new().await;
    let v1 = env.client(Generation::V1);
    let id = v1.create_contact(&full_contact()).await.expect("create");
    let (status, _, body) = env
        .raw(
            reqwest::Method::PUT,
            &v1_path(&format!("/contacts/{id}")),
            Auth::Key(&env.account.v1_key),
            Some(json!({"name": "Solo Nombre"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["info"],
        "Updated"
    );
    let kept = v1.contact(&id).await.unwrap();
    assert_eq!(
        (kept.name.as_str(), kept.email.as_deref()),
        ("Solo Nombre", Some("nuria@puig.es"))
    );

    let (status, _, _) = env
        .raw(
            reqwest::Method::PUT,
            &v2_path(&format!("/contacts/{id}")),
            Auth::Bearer(&env.account.v2_token),
            Some(json!({"name": "Otro Nombre"})),
        )
        .await;
    assert_eq!(status, 200);
    let replaced = v1.contact(&id).await.unwrap();
    assert_eq!(replaced.name, "Otro Nombre");
    assert_eq!(replaced.email, None, "v2 PUT resets omitted fields");
    assert_eq!(replaced.bill_address, Address::default());
    let (status, _, body) = env
        .raw(
            reqwest::Method::PUT,
            &v2_path(&format!("/contacts/{id}")),
            Auth::Bearer(&env.account.v2_token),
            Some(json!({"email": "x@y.es"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    env.sims.stop().await;
}

// ---------------------------------------------------------------- paging

#[tokio::test]
async fn lists_are_streams_of_pages_in_both_generations() {
    let env = Env::new().await;
    env.seed(120, 12, 2);
    let expected: HashSet<String> = env
        .sims
        .holded
        .contacts(&env.account.account_id)
        .into_iter()
        .map(|c| c.id)
        .collect();
    for (generation, pages, calls) in [(Generation::V1, 3, 4), (Generation::V2, 2, 2)] {
        let client = env.client(generation);
        let listed: Vec<Vec<_>> = client.contacts().try_collect().await.expect("list");
        assert_eq!(listed.len(), pages, "{generation:?} pages");
        let ids: HashSet<String> = listed.into_iter().flatten().map(|c| c.id).collect();
        assert_eq!(ids, expected);
        assert_eq!(
            client.calls_made(),
            calls,
            "{generation:?}: v1 stops on the empty page, v2 on has_more=false"
        );
        let products: Vec<_> = client
            .products()
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .concat();
        assert_eq!(products.len(), 12);
        assert!(products.iter().all(|p| p.sku.as_deref().is_some_and(|s| s.starts_with("SKU-")) && p.vat.is_some()));
        for doc_type in DocumentType::ALL {
            let docs = client
                .documents(doc_type)
                .try_collect::<Vec<_>>()
                .await
                .unwrap()
                .concat();
            assert_eq!(docs.len(), 2, "{doc_type:?}");
            // v1 lists carry the lines; v2 lists carry none (never an empty list).
            assert!(docs.iter().all(|d| d.doc_type == doc_type
                && match generation {
                    Generation::V1 => d.lines.as_ref().is_some_and(|l| !l.is_empty()),
                    Generation::V2 => d.lines.is_none(),
                }
                && d.total > Decimal::ZERO));
        }
    }
    let stats = env.sims.holded.stats();
    assert_eq!(stats.count("GET", "/api/invoicing/v1/contacts"), 4);
    assert_eq!(stats.count("GET", "/api/v2/contacts"), 2);

    // v1: past the end is an empty page; v2: limit default 25, max 100, `page` ignored, bad cursor 400.
    let past = env
        .raw_json(&v1_path("/contacts?page=9"), Generation::V1)
        .await;
    assert_eq!(past, json!([]));
    let first = env.raw_json(&v2_path("/contacts"), Generation::V2).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 25);
    assert_eq!(first["has_more"], true);
    let paged = env
        .raw_json(&v2_path("/contacts?page=3"), Generation::V2)
        .await;
    assert_eq!(
        paged["items"][0]["id"], first["items"][0]["id"],
        "v2 ignores page"
    );
    let big = env
        .raw_json(&v2_path("/contacts?limit=500"), Generation::V2)
        .await;
    assert_eq!(big["items"].as_array().unwrap().len(), 100);
    let empty = env
        .raw_json(&v2_path("/contacts?cursor="), Generation::V2)
        .await;
    assert_eq!(
        empty,
        json!({"items": [], "cursor": null, "has_more": false})
    );
    let (status, _, body) = env
        .raw(
            reqwest::Method::GET,
            &v2_path("/contacts?cursor=abc"),
            Auth::Bearer(&env.account.v2_token),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["detail"],
        "Error parsing ObjectId string: abc"
    );
    env.sims.stop().await;
}

#[tokio::test]
async fn a_scan_reads_the_next_page_while_the_caller_works_on_the_last() {
    let env = Env::new().await;
    env.seed(250, 0, 0);
    for (generation, route, pages) in [
        (Generation::V1, "/api/invoicing/v1/contacts", 6),
        (Generation::V2, "/api/v2/contacts", 3),
    ] {
        let before = env.sims.holded.stats().count("GET", route);
        let mut scan = env.client(generation).contacts().read_ahead();
        let first = scan.try_next().await.expect("page").expect("a page");
        // The caller holds the first page; the second is read meanwhile.
        let mut asked = 0;
        for _ in 0..200 {
            asked = env.sims.holded.stats().count("GET", route) - before;
            if asked >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(asked >= 2, "{generation:?}: the next page was asked for");
        let mut ids: HashSet<String> = first.into_iter().map(|c| c.id).collect();
        while let Some(page) = scan.try_next().await.expect("page") {
            ids.extend(page.into_iter().map(|c| c.id));
        }
        assert_eq!(ids.len(), 250, "{generation:?}: every record, once");
        assert!(scan.doubt().is_none());
        assert_eq!(
            env.sims.holded.stats().count("GET", route) - before,
            pages,
            "{generation:?}: no page read twice"
        );
    }
    env.sims.stop().await;
}

#[tokio::test]
async fn v1_lists_ask_for_the_largest_page_and_take_what_comes() {
    let env = Env::new().await;
    env.seed(1_200, 0, 0);
    let client = env.client(Generation::V1);
    // A v1 that honours `limit` (as some clients assume) answers 500 a page.
    let mut settings = env.sims.holded.settings();
    settings.v1_honours_limit = true;
    env.sims.holded.set_settings(settings.clone());
    let pages: Vec<Vec<_>> = client.contacts().try_collect().await.expect("list");
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [500, 500, 200], "pages of the size asked for");
    assert_eq!(client.calls_made(), 4, "three pages and the empty one");
    // A v1 that ignores it answers its own size: every record still comes.
    settings.v1_honours_limit = false;
    env.sims.holded.set_settings(settings);
    let pages: Vec<Vec<_>> = client.contacts().try_collect().await.expect("list");
    assert_eq!(pages.len(), 24, "50 a page");
    assert_eq!(pages.concat().len(), 1_200);
    env.sims.stop().await;
}

#[tokio::test]
async fn products_taxes_and_numbering_series_in_both_generations() {
    let env = Env::new().await;
    // v1 sends a missing cost as "" and amounts as numbers; v2 sends decimal strings.
    let (status, _, body) = env
        .raw(
            reqwest::Method::POST,
            &v1_path("/products"),
            Auth::Key(&env.account.v1_key),
            Some(json!({"name": "Tornillo", "price": 0.35, "tax": 21, "sku": "T-1"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let v1_id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, body) = env
        .raw(reqwest::Method::POST, &v2_path("/products"), Auth::Bearer(&env.account.v2_token), Some(json!({"name": "Tuerca", "price": "1.20", "cost": "0.40", "taxes": ["s_iva_10"], "sku": "T-2"})))
        .await;
    assert_eq!(status, 201, "{body}");
    let v2_id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for generation in GENERATIONS {
        let client = env.client(generation);
        let screw = client.product(&v1_id).await.expect("product");
        assert_eq!(
            (screw.price, screw.vat, screw.cost),
            (dec!(0.35), Some(dec!(21)), None),
            "{generation:?}"
        );
        let nut = client.product(&v2_id).await.expect("product");
        assert_eq!(
            (nut.price, nut.vat, nut.cost),
            (dec!(1.20), Some(dec!(10)), Some(dec!(0.40))),
            "{generation:?}"
        );
        assert_eq!(nut.sku.as_deref(), Some("T-2"));
        let taxes = client.taxes().await.expect("taxes");
        let iva = taxes.iter().find(|t| t.key == "s_iva_21").expect("IVA 21");
        assert_eq!(iva.rate, dec!(21));
        let recargo = taxes.iter().find(|t| t.key == "s_rec_52").expect("recargo");
        assert_eq!(recargo.rate, dec!(5.2));
        assert!(
            taxes
                .iter()
                .any(|t| t.key == "s_ret_15" && t.group.as_deref() == Some("retencion"))
        );
        for doc_type in DocumentType::ALL {
            let series = client.numbering_series(doc_type).await.expect("series");
            assert_eq!(series.len(), 1, "{generation:?} {doc_type:?}");
            assert!(series[0].format.is_some());
        }
    }
    env.sims.stop().await;
}

// ---------------------------------------------------------------- documents

fn invoice_lines() -> Vec<DocumentLine> {
    vec![
        DocumentLine {
            name: "Consultoría (hora)".into(),
            description: Some("Marzo".into()),
            units: dec!(2),
            unit_price: dec!(100.00),
            discount: dec!(0),
            taxes: vec!["s_iva_21".into(), "s_ret_15".into()],
            product_id: None,
            sku: Some("SKU-00001".into()),
        },
        DocumentLine {
            name: "Aceite de oliva 5 L".into(),
            description: None,
            units: dec!(3),
            unit_price: dec!(10.33),
            discount: dec!(10),
            taxes: vec!["s_iva_10".into(), "s_rec_14".into()],
            product_id: None,
            sku: None,
        },
    ]
}

#[tokio::test]
async fn documents_read_back_with_the_same_lines_taxes_and_totals() {
    let env = Env::new().await;
    let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    for generation in GENERATIONS {
        let client = env.client(generation);
        let contact_id = client.create_contact(&full_contact()).await.unwrap();
        for doc_type in DocumentType::ALL {
            let new = NewDocument {
                doc_type,
                contact: DocumentContact::Id(contact_id.clone()),
                date,
                description: Some(format!("{} de prueba", doc_type.spanish_name())),
                notes: Some("HubSpot deal 123".into()),
                currency: Some("EUR".into()),
                numbering_series_id: None,
                lines: invoice_lines(),
            };
            let created = client.create_document(&new).await.expect("create");
            let doc = client.document(doc_type, &created.id).await.expect("get");
            assert_eq!(doc.doc_type, doc_type);
            assert_eq!(doc.contact_id.as_deref(), Some(contact_id.as_str()));
            assert_eq!(
                doc.date,
                Some(date),
                "{generation:?}: dates survive Unix seconds / ISO"
            );
            assert_eq!(doc.notes.as_deref(), Some("HubSpot deal 123"));
            let lines = doc
                .lines
                .clone()
                .expect("a document read whole has its lines");
            assert_eq!(lines.len(), 2);
            for (read, written) in lines.iter().zip(invoice_lines()) {
                assert_eq!(read.name, written.name);
                assert_eq!(read.units, written.units);
                assert_eq!(
                    read.unit_price, written.unit_price,
                    "{generation:?}: subtotal on write is price on read"
                );
                assert_eq!(read.discount, written.discount);
                assert_eq!(read.taxes, written.taxes);
            }
            // 200 + 27.891 = 227.891 → 227.89; IVA 42 + 2.7891, recargo 0.390474 → 45.18; IRPF 30.
            assert_eq!(doc.subtotal, dec!(227.89));
            assert_eq!(doc.tax, dec!(45.18));
            assert_eq!(doc.total, dec!(243.07));
            assert_eq!(doc.draft, Some(true));
            if generation == Generation::V1 {
                // v1 numbers a document when it is created (`invoiceNum`).
                let number = doc.number.clone().expect("numbered");
                assert!(number.contains("26"), "{number}");
                assert_eq!(created.number.as_deref(), Some(number.as_str()));
                assert_eq!(created.contact_id.as_deref(), Some(contact_id.as_str()));
            } else {
                // A v2 draft has no fiscal number until it is approved.
                assert_eq!(doc.number, None);
                assert_eq!(created.number, None);
            }
        }
    }
    let documents = env.sims.holded.documents(&env.account.account_id);
    assert_eq!(documents.len(), 10);
    let invoices: Vec<_> = documents
        .iter()
        .filter(|d| d.number.starts_with('F'))
        .map(|d| d.number.as_str())
        .collect();
    // Only the v1 invoice has a number: the v2 one is a draft.
    assert_eq!(invoices, ["F260001"]);
    // Wire asymmetries, seen raw.
    let v1_doc = env
        .raw_json(
            &v1_path(&format!("/documents/invoice/{}", documents[3].id)),
            Generation::V1,
        )
        .await;
    assert!(v1_doc.get("contact").is_some() && v1_doc.get("contactId").is_none());
    assert_eq!(v1_doc["products"][0]["price"], json!(100));
    assert!(v1_doc["date"].is_i64());
    let v2_doc = env
        .raw_json(
            &v2_path(&format!("/invoices/{}", documents[8].id)),
            Generation::V2,
        )
        .await;
    assert_eq!(v2_doc["document_number"], Value::Null);
    assert_eq!(v2_doc["lines"][1]["price"], "10.33");
    assert_eq!(v2_doc["date"], "2026-03-01");
    assert_eq!(v2_doc["total"], "243.07");
    env.sims.stop().await;
}

#[tokio::test]
async fn contact_name_only_creates_a_new_contact_each_time() {
    let env = Env::new().await;
    for generation in GENERATIONS {
        let client = env.client(generation);
        let before = env.sims.holded.contact_count(&env.account.account_id);
        for _ in 0..2 {
            let new = NewDocument {
                doc_type: DocumentType::Estimate,
                contact: DocumentContact::Name("Bar Levante SL".into()),
                date: chrono::NaiveDate::from_ymd_opt(2026, 5, 4).unwrap(),
                description: None,
                notes: None,
                currency: None,
                numbering_series_id: None,
                lines: invoice_lines(),
            };
            client.create_document(&new).await.expect("create");
        }
        assert_eq!(
            env.sims.holded.contact_count(&env.account.account_id),
            before + 2
        );
        let found = client
            .find_contacts(ContactLookup::Phone("+34000"))
            .await
            .unwrap();
        assert!(found.contacts.is_empty());
    }
    env.sims.stop().await;
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn errors_are_typed_in_both_generations() {
    let env = Env::new().await;
    for generation in GENERATIONS {
        let client = env.client(generation);
        let missing = "6affffffffffffffffffffff";
        assert!(
            matches!(
                client.contact(missing).await,
                Err(HoldedError::NotFound { .. })
            ),
            "{generation:?}"
        );
        assert!(matches!(
            client.document(DocumentType::Invoice, missing).await,
            Err(HoldedError::NotFound { .. })
        ));
        match client.create_contact(&ContactChanges::default()).await {
            Err(HoldedError::Validation { message }) => {
                assert!(message.contains("name"), "{message}")
            }
            other => panic!("{generation:?}: expected validation, got {other:?}"),
        }
        let bad_tax = NewDocument {
            doc_type: DocumentType::Invoice,
            contact: DocumentContact::Name("X".into()),
            date: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            description: None,
            notes: None,
            currency: None,
            numbering_series_id: None,
            lines: vec![DocumentLine {
                name: "x".into(),
                units: dec!(1),
                unit_price: dec!(1),
                taxes: vec!["s_iva_99".into()],
                ..Default::default()
            }],
        };
        assert!(matches!(
            client.create_document(&bad_tax).await,
            Err(HoldedError::Validation { .. })
        ));
    }
    let faults = &env.sims.holded;
    let v1 = env.client(Generation::V1);
    let quick = |retries: usize, timeout_ms: u64| ClientOptions {
        request_timeout: Duration::from_millis(timeout_ms),
        retry: RetryPolicy {
            max_retries: retries,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_millis(5),
        },
        ..fast_options()
    };
    let fault = |kind: FaultKind, next: u32| Fault {
        kind,
        rate: None,
        next: Some(next),
        delay_ms: Some(1_500),
        generation: None,
        route: None,
    };
    faults.add_fault(fault(FaultKind::Html, 1));
    match v1.contacts().try_next().await {
        Err(HoldedError::HtmlPage { status: 200, .. }) => {}
        other => panic!("expected an HTML page error, got {other:?}"),
    }
    let v2 = env.client_with(&env.account.v2_token, quick(2, 5_000));
    faults.add_fault(fault(
        FaultKind::RateLimit {
            retry_after_secs: None,
        },
        3,
    ));
    assert!(matches!(
        v2.taxes().await,
        Err(HoldedError::RateLimited { .. })
    ));
    faults.add_fault(fault(FaultKind::ServerError { status: 502 }, 3));
    assert!(matches!(
        v2.taxes().await,
        Err(HoldedError::Server { status: 502 })
    ));
    let slow = env.client_with(&env.account.v1_key, quick(0, 300));
    faults.add_fault(fault(FaultKind::Timeout, 1));
    assert!(matches!(slow.taxes().await, Err(HoldedError::Timeout)));
    assert_eq!(v2.calls_made(), 6, "3 attempts per call");
    env.sims.stop().await;
}

/// `kind` on the next Holded call, whatever it is.
fn on_next_call(kind: FaultKind) -> Fault {
    Fault {
        kind,
        rate: None,
        next: Some(1),
        delay_ms: None,
        generation: None,
        route: None,
    }
}

/// A 429 or a 5xx halves the client's pace for a minute: past its burst, a
/// key told to slow down sends one request where it sent two. At 600 a
/// minute the pace allows 60 at once, then one every 104 ms; slowed, each
/// call takes two of those turns, so the refused call and 40 after it need
/// 81 turns: 21 past the burst, at least 2.1 s (unslowed, 41 fit the burst).
#[tokio::test]
async fn a_429_or_a_5xx_halves_the_pace_for_a_minute() {
    let env = Env::new().await;
    for kind in [
        FaultKind::RateLimit {
            retry_after_secs: None,
        },
        FaultKind::ServerError { status: 503 },
    ] {
        let client = env.client_with(
            &env.account.v1_key,
            ClientOptions {
                requests_per_minute: NonZeroU32::new(600),
                ..fast_options()
            },
        );
        env.sims.holded.add_fault(on_next_call(kind.clone()));
        let started = std::time::Instant::now();
        for _ in 0..40 {
            client.taxes().await.expect("retried past the push-back");
        }
        assert_eq!(client.calls_made(), 41, "{kind:?}: one retry");
        assert!(
            started.elapsed() >= Duration::from_millis(2_000),
            "{kind:?}: 40 calls in {:?}, as fast as before the push-back",
            started.elapsed()
        );
    }
    env.sims.stop().await;
}

#[tokio::test]
async fn retries_honour_retry_after_and_creates_are_not_repeated_blindly() {
    let env = Env::new().await;
    let sim = &env.sims.holded;
    let client = env.client(Generation::V2);
    sim.add_fault(on_next_call(FaultKind::RateLimit {
        retry_after_secs: Some(1),
    }));
    let started = std::time::Instant::now();
    client.taxes().await.expect("second attempt succeeds");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(client.calls_made(), 2);

    for generation in GENERATIONS {
        let options = ClientOptions {
            request_timeout: Duration::from_millis(400),
            ..fast_options()
        };
        let client = env.client_with(env.key(generation), options);
        let contact_id = client.create_contact(&full_contact()).await.unwrap();
        let new = NewDocument {
            doc_type: DocumentType::Invoice,
            contact: DocumentContact::Id(contact_id),
            date: chrono::NaiveDate::from_ymd_opt(2026, 2, 2).unwrap(),
            description: None,
            notes: Some("deal 9".into()),
            currency: None,
            numbering_series_id: None,
            lines: invoice_lines(),
        };
        let before = sim.documents(&env.account.account_id).len();
        // Sent, processed, but the answer never arrives in time: ambiguous, not retried.
        sim.add_fault(Fault {
            kind: FaultKind::Timeout,
            rate: None,
            next: Some(1),
            delay_ms: Some(1_200),
            generation: None,
            route: None,
        });
        match client.create_document(&new).await {
            Err(HoldedError::AmbiguousCreate { .. }) => {}
            other => panic!("{generation:?}: expected an ambiguous outcome, got {other:?}"),
        }
        assert_eq!(
            sim.documents(&env.account.account_id).len(),
            before + 1,
            "created once, not twice"
        );
        // A 429 means Holded did nothing: that is retried and creates exactly one.
        sim.add_fault(on_next_call(FaultKind::RateLimit {
            retry_after_secs: None,
        }));
        client
            .create_document(&new)
            .await
            .expect("retried after 429");
        assert_eq!(sim.documents(&env.account.account_id).len(), before + 2);
    }
    env.sims.stop().await;
}

#[tokio::test]
async fn v2_allows_100_requests_per_minute_per_key_and_reports_usage() {
    let env = Env::new().await;
    let token = env.account.v2_token.clone();
    let path = v2_path("/taxes");
    for i in 0..100 {
        let (status, _, _) = env
            .raw(reqwest::Method::GET, &path, Auth::Bearer(&token), None)
            .await;
        assert_eq!(status, 200, "request {i}");
    }
    let (status, content_type, body) = env
        .raw(reqwest::Method::GET, &path, Auth::Bearer(&token), None)
        .await;
    assert_eq!(
        (status, content_type.as_str()),
        (429, "application/problem+json")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["type"],
        "https://api.holded.com/problems/too-many-requests"
    );
    // Another token of the same account has its own window; v1 is not limited.
    let other = env
        .sims
        .holded
        .create_token(&env.account.account_id, None)
        .unwrap();
    assert_eq!(
        env.raw(reqwest::Method::GET, &path, Auth::Bearer(&other), None)
            .await
            .0,
        200
    );
    assert_eq!(
        env.raw(
            reqwest::Method::GET,
            &v1_path("/taxes"),
            Auth::Key(&env.account.v1_key),
            None
        )
        .await
        .0,
        200
    );
    env.sims.holded.advance_clock(chrono::Duration::seconds(61));
    assert_eq!(
        env.raw(reqwest::Method::GET, &path, Auth::Bearer(&token), None)
            .await
            .0,
        200
    );
    assert_eq!(env.sims.holded.stats().rate_limited, 1);

    let usage = env.raw_json(&v2_path("/usage"), Generation::V2).await;
    assert_eq!(usage["secondary_usages"]["api_v1_legacy_1"], 1);
    assert_eq!(
        usage["secondary_usages"]["api_accounting_taxes_list_1"].as_u64(),
        None
    );
    assert_eq!(usage["secondary_usages"]["api_taxes_list_1"], 102);
    assert_eq!(
        usage["usage"], 104,
        "v1 and v2 calls count against the same monthly quota"
    );
    env.sims.stop().await;
}

// ---------------------------------------------------------------- faults and scale

#[tokio::test]
async fn twenty_percent_faults_still_list_5000_contacts_exactly_once() {
    let env = Env::new().await;
    env.seed(5_000, 0, 0);
    env.sims.holded.set_settings(SimSettings {
        v2_rate_limit_per_minute: 100_000,
        ..SimSettings::default()
    });
    let expected: HashSet<String> = env
        .sims
        .holded
        .contacts(&env.account.account_id)
        .into_iter()
        .map(|c| c.id)
        .collect();
    // Three rules checked in turn at 7.2% each: 1 − 0.928³ ≈ 20% of calls fail.
    for kind in [
        FaultKind::ServerError { status: 503 },
        FaultKind::Timeout,
        FaultKind::RateLimit {
            retry_after_secs: None,
        },
    ] {
        env.sims.holded.add_fault(Fault {
            kind,
            rate: Some(0.072),
            next: None,
            delay_ms: Some(1_500),
            generation: None,
            route: None,
        });
    }
    let options = ClientOptions {
        request_timeout: Duration::from_millis(600),
        retry: RetryPolicy {
            max_retries: 10,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_millis(40),
        },
        ..fast_options()
    };
    for generation in GENERATIONS {
        let client = env.client_with(env.key(generation), options.clone());
        let mut seen = HashSet::new();
        let mut pages = client.contacts();
        while let Some(page) = pages.try_next().await.expect("faults are absorbed") {
            for contact in page {
                assert!(
                    seen.insert(contact.id.clone()),
                    "{generation:?}: {} listed twice",
                    contact.id
                );
            }
        }
        assert_eq!(seen, expected, "{generation:?}");
        println!(
            "{generation:?}: 5000 contacts, {} Holded calls under 20% faults",
            client.calls_made()
        );
    }
    assert!(env.sims.holded.stats().faults_injected > 10);
    env.sims.stop().await;
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Run alone for a clean figure:
/// `cargo test -p holded-hubspot-e2e --test e2e holded_contract::streaming -- --nocapture`
#[tokio::test]
async fn streaming_100000_contacts_keeps_memory_flat() {
    let env = Env::new().await;
    env.seed(100_000, 0, 0);
    env.sims.holded.set_settings(SimSettings {
        v2_rate_limit_per_minute: 1_000_000,
        ..SimSettings::default()
    });
    let client = env.client_with(
        &env.account.v2_token,
        ClientOptions {
            requests_per_minute: NonZeroU32::new(1_000_000),
            ..fast_options()
        },
    );
    let started = std::time::Instant::now();
    let before = rss_kib();
    let (mut count, mut max_page, mut peak) = (0usize, 0usize, before);
    let mut pages = client.contacts();
    while let Some(page) = pages.try_next().await.expect("page") {
        count += page.len();
        max_page = max_page.max(page.len());
        if count % 10_000 < 100 {
            peak = peak.max(rss_kib());
        }
    }
    let after = rss_kib();
    peak = peak.max(after);
    println!(
        "holded stream: {count} contacts in {} pages ({} calls), max page {max_page} records, \
         RSS before {} MiB, peak {} MiB, after {} MiB (growth {} KiB), {:.1?}",
        count.div_ceil(100),
        client.calls_made(),
        before / 1024,
        peak / 1024,
        after / 1024,
        peak.saturating_sub(before),
        started.elapsed()
    );
    assert_eq!(count, 100_000);
    assert_eq!(max_page, 100);
    assert!(
        peak.saturating_sub(before) < 64 * 1024,
        "memory grew with the list"
    );
    env.sims.stop().await;
}

// ---------------------------------------------------------------- a misbehaving server

/// A stand-in for a misbehaving Holded: answers every request with HTTP 200
/// and `respond(path and query)` as JSON.
fn stub_server(respond: fn(&str) -> String) -> Url {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = Url::parse(&format!("http://{}", listener.local_addr().expect("addr"))).expect("url");
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            let mut buf = vec![0u8; 16 * 1024];
            let n = socket.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let body = respond(&target);
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes());
        }
    });
    url
}

#[tokio::test]
async fn paging_stops_on_repeated_pages_and_cursors_and_bad_fields_are_named() {
    // v1 that ignores `page`: the same page forever. Each contact once, then stop.
    let v1 = stub_server(|_| {
        r#"[{"id":"6a0000000000000000000001","name":"A"},{"id":"6a0000000000000000000002","name":"B"}]"#.to_owned()
    });
    let client = HoldedClient::new(
        &v1,
        "0123456789abcdef0123456789abcdef".to_owned().into(),
        fast_options(),
    )
    .unwrap();
    let mut stream = client.contacts();
    let pages: Vec<Vec<_>> = (&mut stream).try_collect().await.expect("list");
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2]);
    assert_eq!(client.calls_made(), 2);
    assert!(
        stream
            .doubt()
            .is_some_and(|d| d.contains("repitió una página")),
        "a scan that stopped on a repeat says so: {:?}",
        stream.doubt()
    );

    // v2 that keeps answering the same cursor with has_more: stop at the repeat.
    let v2 = stub_server(|_| {
        r#"{"items":[{"id":"6a0000000000000000000001","name":"A"}],"cursor":"6a0000000000000000000001","has_more":true}"#.to_owned()
    });
    let client = HoldedClient::new(&v2, "pat_x".to_owned().into(), fast_options()).unwrap();
    let mut stream = client.contacts();
    let pages: Vec<Vec<_>> = (&mut stream).try_collect().await.expect("list");
    assert_eq!(pages.len(), 2);
    assert_eq!(client.calls_made(), 2);
    assert!(
        stream
            .doubt()
            .is_some_and(|d| d.contains("/contacts no terminó limpiamente")),
        "{:?}",
        stream.doubt()
    );

    // A document read whole without its lines is an error naming the field,
    // never a document without lines.
    let bare = stub_server(|_| {
        r#"{"id":"6a0000000000000000000009","document_number":"F260009","date":"2026-03-01","total":"121"}"#.to_owned()
    });
    let client = HoldedClient::new(&bare, "pat_x".to_owned().into(), fast_options()).unwrap();
    match client
        .document(DocumentType::Invoice, "6a0000000000000000000009")
        .await
    {
        Err(HoldedError::Decode { field, .. }) => assert_eq!(field, "lines"),
        other => panic!("expected a decode error, got {other:?}"),
    }

    // Undecodable fields are named with their path.
    let bad = stub_server(|path| {
        if path.starts_with("/api/v2") {
            r#"{"items":[{"id":"6a0000000000000000000001","name":"A","is_person":{}}],"cursor":null,"has_more":false}"#.to_owned()
        } else {
            r#"[{"id":"6a0000000000000000000001","name":"A","billAddress":{"postalCode":[8001]}}]"#
                .to_owned()
        }
    });
    for (key, field) in [
        ("pat_x", "items[0].is_person"),
        (
            "0123456789abcdef0123456789abcdef",
            "[0].billAddress.postalCode",
        ),
    ] {
        let client = HoldedClient::new(&bad, key.to_owned().into(), fast_options()).unwrap();
        match client.contacts().try_next().await {
            Err(HoldedError::Decode { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- control surface

#[tokio::test]
async fn the_control_surface_drives_the_simulator_over_http() {
    let env = Env::new().await;
    let control = |path: &str| format!("{}/_sim/holded{path}", env.sims.holded_url);
    let post = |path: &str, body: Value| http().post(control(path)).json(&body).send();
    let account: Value = post(
        "/accounts",
        json!({"permissions": ["contacts:contacts.read"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let (id, key, token) = (
        account["account_id"].as_str().unwrap().to_owned(),
        account["v1_key"].as_str().unwrap().to_owned(),
        account["v2_token"].as_str().unwrap().to_owned(),
    );
    let summary: Value = post("/seed", json!({"account_id": id, "seed": 3, "contacts": 30, "products": 5, "documents_per_type": 2}))
        .await.unwrap().json().await.unwrap();
    assert_eq!(
        summary,
        json!({"contacts": 30, "products": 5, "documents": 10})
    );
    // Same seed, same data.
    let again = env.sims.holded.create_account(None);
    env.sims.holded.seed(&SeedSpec {
        account_id: again.account_id.clone(),
        seed: 3,
        contacts: 30,
        ..Default::default()
    });
    let names = |account: &str| {
        env.sims
            .holded
            .contacts(account)
            .into_iter()
            .map(|c| (c.name, c.code, c.iban))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&id), names(&again.account_id));
    let contacts: Value = http()
        .get(control(&format!("/accounts/{id}/contacts")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contacts.as_array().unwrap().len(), 30);

    let settings: Value = post("/settings", json!({"v1_page_size": 10}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["v1_page_size"], 10);
    let page = env
        .raw(
            reqwest::Method::GET,
            &v1_path("/contacts"),
            Auth::Key(&key),
            None,
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&page.2)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        env.raw(
            reqwest::Method::GET,
            &v2_path("/products"),
            Auth::Bearer(&token),
            None
        )
        .await
        .0,
        403
    );

    post(
        "/faults",
        json!({"kind": "server_error", "status": 500, "next": 1}),
    )
    .await
    .unwrap();
    assert_eq!(
        env.raw(
            reqwest::Method::GET,
            &v1_path("/taxes"),
            Auth::Key(&key),
            None
        )
        .await
        .0,
        500
    );
    assert_eq!(
        env.raw(
            reqwest::Method::GET,
            &v1_path("/taxes"),
            Auth::Key(&key),
            None
        )
        .await
        .0,
        200
    );
    let stats: Value = http()
        .get(control("/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["faults_injected"], 1);
    let taxes_calls: u64 = stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["route"] == "/api/invoicing/v1/taxes" && r["key"] == format!("{id} v1"))
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(taxes_calls, 2);
    assert!(!stats.to_string().contains(&key), "stats never show keys");

    let now: Value = post("/clock", json!({"set": "2027-01-15T10:00:00Z"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(now["now"].as_str().unwrap().starts_with("2027-01-15T10:00"));
    let later: Value = post("/clock", json!({"advance_secs": 86400}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(later["now"].as_str().unwrap().starts_with("2027-01-16"));

    post("/reset", json!({})).await.unwrap();
    assert_eq!(
        env.raw(
            reqwest::Method::GET,
            &v1_path("/taxes"),
            Auth::Key(&key),
            None
        )
        .await
        .0,
        401
    );
    env.sims.stop().await;
}

// ---------------------------------------------------------------- real-API fidelity, round 2

/// Creates a contact through the API of `generation` and returns its id.
async fn create_raw_contact(env: &Env, generation: Generation, body: Value) -> String {
    let (path, auth) = match generation {
        Generation::V1 => (v1_path("/contacts"), Auth::Key(&env.account.v1_key)),
        Generation::V2 => (v2_path("/contacts"), Auth::Bearer(&env.account.v2_token)),
    };
    let (status, _, reply) = env
        .raw(reqwest::Method::POST, &path, auth, Some(body))
        .await;
    assert_eq!(status, 201, "{reply}");
    serde_json::from_str::<Value>(&reply).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids_of(page: &Value) -> Vec<&str> {
    page.as_array()
        .or_else(|| page["items"].as_array())
        .expect("a list")
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

/// S-V2PREVIEW (`openapi-en.json`): the item schema of `GET /invoices`,
/// `/estimates`, `/proformas`, `/waybills` and `/sales-orders` has no
/// `lines`, `notes`, `draft` or `custom_fields`; `GET /<type>/{id}` has them.
/// v1 lists carry `products[]` (S-V1SPEC `GET /documents/{docType}`).
#[tokio::test]
async fn v2_document_lists_carry_no_lines_and_a_single_get_has_them() {
    let env = Env::new().await;
    env.seed(3, 3, 2);
    for doc_type in DocumentType::ALL {
        let path = v2_path(&format!("/{}", doc_type.v2_path()));
        let page = env.raw_json(&path, Generation::V2).await;
        for item in page["items"].as_array().unwrap() {
            assert_shape(item, "v2-document-list-item");
            let one = env
                .raw_json(
                    &format!("{path}/{}", item["id"].as_str().unwrap()),
                    Generation::V2,
                )
                .await;
            assert_shape(&one, "v2-document");
            assert!(!one["lines"].as_array().unwrap().is_empty());
        }
        let v1 = env
            .raw_json(
                &v1_path(&format!("/documents/{}", doc_type.v1_name())),
                Generation::V1,
            )
            .await;
        assert!(!v1[0]["products"].as_array().unwrap().is_empty());
    }
    env.sims.stop().await;
}

/// Whether v2 `GET /contacts` filters by `code` differs between sources (the
/// April preview lists `phone`, `mobile`, `email`, `custom_id`; the June
/// scrape adds `code`), and Holded ignores parameters it does not know
/// (S-SPIKE §6: `page` is silently ignored). Default: `code` is ignored and
/// every contact comes back; a setting honours it; another ignores every
/// filter, v1's `phone` included.
#[tokio::test]
async fn contact_filters_holded_may_not_know_are_ignored_and_every_contact_comes_back() {
    let env = Env::new().await;
    env.seed(30, 0, 0);
    let talleres = create_raw_contact(
        &env,
        Generation::V2,
        json!({"name": "Talleres Ruiz SL", "code": "B12345678", "email": "admin@talleresruiz.es",
               "phone": "+34976112233"}),
    )
    .await;
    let all = env.sims.holded.contacts(&env.account.account_id).len();
    let count = |page: &Value| page["items"].as_array().unwrap().len();
    let by_code = env
        .raw_json(
            &v2_path("/contacts?code=B12345678&limit=100"),
            Generation::V2,
        )
        .await;
    assert_eq!(count(&by_code), all, "an unknown filter returns everything");
    let by_email = env
        .raw_json(
            &v2_path("/contacts?email=admin%40talleresruiz.es&limit=100"),
            Generation::V2,
        )
        .await;
    assert_eq!(ids_of(&by_email), [talleres.as_str()]);
    let unknown = env
        .raw_json(
            &v2_path("/contacts?nif=B12345678&limit=100"),
            Generation::V2,
        )
        .await;
    assert_eq!(count(&unknown), all);

    let mut settings = env.sims.holded.settings();
    settings.v2_contact_code_filter = true;
    env.sims.holded.set_settings(settings.clone());
    let by_code = env
        .raw_json(&v2_path("/contacts?code=B12345678"), Generation::V2)
        .await;
    assert_eq!(ids_of(&by_code), [talleres.as_str()]);

    settings.ignore_contact_filters = true;
    env.sims.holded.set_settings(settings);
    let by_email = env
        .raw_json(
            &v2_path("/contacts?email=admin%40talleresruiz.es&limit=100"),
            Generation::V2,
        )
        .await;
    assert_eq!(count(&by_email), all);
    let by_phone = env
        .raw_json(&v1_path("/contacts?phone=%2B34976112233"), Generation::V1)
        .await;
    assert_eq!(
        by_phone.as_array().unwrap().len(),
        all,
        "v1 answers everyone"
    );
    env.sims.stop().await;
}

/// S-SPIKE §5: v1 and v2 calls count against one monthly quota per account
/// (`api_v1_legacy_1` for v1; 5,000 on a small plan), reported by
/// `GET /api/v2/usage`. No source shows the refusal; the simulator's is the
/// harsher reading (429 problem+json like the per-minute limit, without
/// `Retry-After`, `X-RateLimit-Window: month`), refused calls count, and the
/// quota is whole again next month. The other reading (a public design note
/// of 2026-08: the reported limit is a billable-overage ceiling) serves calls
/// beyond it.
#[tokio::test]
async fn the_monthly_quota_counts_v1_and_v2_calls_and_refuses_beyond_it_until_next_month() {
    let env = Env::new().await;
    env.sims
        .holded
        .set_clock("2026-12-30T12:00:00Z".parse().unwrap());
    let mut settings = env.sims.holded.settings();
    settings.monthly_limit = 6;
    env.sims.holded.set_settings(settings.clone());
    for i in 0..3 {
        env.raw_json(&v1_path("/taxes"), Generation::V1).await;
        env.raw_json(&v2_path("/taxes"), Generation::V2).await;
        assert_eq!(
            env.sims.holded.monthly_usage(&env.account.account_id),
            2 * (i + 1)
        );
    }
    for (path, auth) in [
        (v2_path("/taxes"), Auth::Bearer(&env.account.v2_token)),
        (v1_path("/taxes"), Auth::Key(&env.account.v1_key)),
        (v2_path("/usage"), Auth::Bearer(&env.account.v2_token)),
    ] {
        let response = http()
            .get(format!("{}{path}", env.sims.holded_url))
            .header(
                match auth {
                    Auth::Key(_) => "key",
                    _ => "authorization",
                },
                match auth {
                    Auth::Key(key) => key.to_owned(),
                    Auth::Bearer(token) => format!("Bearer {token}"),
                    Auth::None => unreachable!(),
                },
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(response.headers()["x-ratelimit-window"], "month");
        assert!(response.headers().get("retry-after").is_none());
        let problem: Value = response.json().await.unwrap();
        assert_shape(&problem, "v2-problem");
        assert_eq!(problem["status"], 429);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("Monthly API quota"),
            "{problem}"
        );
    }
    assert_eq!(env.sims.holded.monthly_usage(&env.account.account_id), 9);

    // The other reading: calls beyond the limit are served (and billed).
    settings.quota_enforced = false;
    env.sims.holded.set_settings(settings.clone());
    let usage = env.raw_json(&v2_path("/usage"), Generation::V2).await;
    assert_eq!(
        (usage["usage"].as_u64(), usage["limit"].as_u64()),
        (Some(10), Some(6))
    );

    // A new month starts from zero.
    settings.quota_enforced = true;
    env.sims.holded.set_settings(settings);
    env.sims.holded.advance_clock(chrono::Duration::days(2));
    let usage = env.raw_json(&v2_path("/usage"), Generation::V2).await;
    assert_eq!(usage["period"], "2027-01");
    assert_eq!(usage["usage"], 1);
    env.sims.stop().await;
}

/// Lists that lag behind writes and pages that repeat (faults): HubSpot's
/// search index lags behind writes (reference §search) and Holded's lists
/// give no guarantee either (S-CTHLS LEARNED.md: v2 values lag a few seconds
/// after a write); clients guard against a repeated cursor (S-PYH) and a
/// repeated v1 page (S-SPIKE §6: `page` ignored answers the same page).
#[tokio::test]
async fn faults_serve_a_new_record_late_in_lists_and_repeat_a_page_or_cursor() {
    let env = Env::new().await;
    env.seed(120, 0, 0);
    env.sims.holded.add_fault(Fault {
        kind: FaultKind::ListLag,
        rate: None,
        next: None,
        delay_ms: Some(30_000),
        generation: None,
        route: Some("/contacts".into()),
    });
    let fresh =
        create_raw_contact(&env, Generation::V1, json!({"name": "Begoña Etxeberria"})).await;
    let everyone = env
        .raw_json(
            &v2_path("/contacts?limit=100&cursor=6a0000000000000000000064"),
            Generation::V2,
        )
        .await;
    assert!(
        !ids_of(&everyone).contains(&fresh.as_str()),
        "not listed yet"
    );
    let one = env
        .raw_json(&v2_path(&format!("/contacts/{fresh}")), Generation::V2)
        .await;
    assert_eq!(one["name"], "Begoña Etxeberria", "found by id at once");
    env.sims.holded.advance_clock(chrono::Duration::seconds(31));
    let everyone = env
        .raw_json(
            &v2_path("/contacts?limit=100&cursor=6a0000000000000000000064"),
            Generation::V2,
        )
        .await;
    assert!(
        ids_of(&everyone).contains(&fresh.as_str()),
        "listed once the lag passed"
    );
    env.sims.holded.clear_faults();

    let repeat = on_next_call(FaultKind::RepeatPage);
    // The first page never repeats; the next one does, once.
    env.sims.holded.add_fault(repeat.clone());
    let first = env
        .raw_json(&v1_path("/contacts?page=1"), Generation::V1)
        .await;
    let again = env
        .raw_json(&v1_path("/contacts?page=2"), Generation::V1)
        .await;
    assert_eq!(ids_of(&again), ids_of(&first));
    let second = env
        .raw_json(&v1_path("/contacts?page=2"), Generation::V1)
        .await;
    assert_ne!(ids_of(&second), ids_of(&first));

    env.sims.holded.add_fault(repeat);
    let first = env
        .raw_json(&v2_path("/contacts?limit=50"), Generation::V2)
        .await;
    let cursor = first["cursor"].as_str().unwrap();
    let next = env
        .raw_json(
            &v2_path(&format!("/contacts?limit=50&cursor={cursor}")),
            Generation::V2,
        )
        .await;
    assert_eq!(
        (next["cursor"].as_str(), next["has_more"].as_bool()),
        (Some(cursor), Some(true))
    );
    env.sims.stop().await;
}

/// S-V2PREVIEW / S-PYH: a v2 document is created as a draft without a fiscal
/// number; it gets one when it is approved (in Holded, or `POST …/approve`).
#[tokio::test]
async fn a_v2_draft_gets_its_number_when_a_user_approves_it_in_holded() {
    let env = Env::new().await;
    let client = env.client(Generation::V2);
    let contact = client.create_contact(&full_contact()).await.unwrap();
    let created = client
        .create_document(&NewDocument {
            doc_type: DocumentType::Invoice,
            contact: DocumentContact::Id(contact),
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap(),
            description: None,
            notes: None,
            currency: Some("EUR".into()),
            numbering_series_id: None,
            lines: invoice_lines(),
        })
        .await
        .unwrap();
    let path = v2_path(&format!("/invoices/{}", created.id));
    let draft = env.raw_json(&path, Generation::V2).await;
    assert_eq!(
        (draft["document_number"].clone(), draft["draft"].clone()),
        (Value::Null, json!(true))
    );
    let approved: Value = http()
        .post(format!(
            "{}/_sim/holded/accounts/{}/documents/{}/approve",
            env.sims.holded_url, env.account.account_id, created.id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(approved["number"], "F260001");
    let issued = env.raw_json(&path, Generation::V2).await;
    assert_eq!(issued["document_number"], "F260001");
    assert_eq!(issued["draft"], false);
    assert!(issued["approved_at"].is_string());
    let listed = env.raw_json(&v2_path("/invoices"), Generation::V2).await;
    assert_eq!(listed["items"][0]["document_number"], "F260001");
    env.sims.stop().await;
}
