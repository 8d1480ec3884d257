//! The nightly Holded → HubSpot sync against both simulators, run as the real
//! `holded-hubspot sync` command (issue: nightly sync).

use std::{collections::HashSet, time::Duration};

use holded_hubspot::store::entities::{sync_run, sync_run_item};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use holded_hubspot::holded::{ClientOptions, ContactChanges, HoldedApi, HoldedClient};
use holded_hubspot_sim::{
    holded::faults::{Fault as HoldedFault, FaultKind},
    holded::{SimAccount, seed::SeedSpec},
    hubspot::{
        Fault, NewPortal, Settings,
        model::{ObjType, Tier},
    },
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{Engine, Stack, settings_body};

/// A portal installed, a Holded account seeded and the settings saved.
pub(crate) struct Scenario {
    pub(crate) stack: Stack,
    pub(crate) portal: i64,
    /// The simulator's direct token for the portal (acting as a HubSpot user).
    pub(crate) token: String,
    pub(crate) account: SimAccount,
}

const MAPPED: [(&str, &str); 4] = [
    ("estimate", "appointmentscheduled"),
    ("proform", "qualifiedtobuy"),
    ("waybill", "contractsent"),
    ("invoice", "closedwon"),
];

/// A [`Scenario`]: every object synced from 2020-01-01, the document types of
/// [`MAPPED`] mapped, sensitive data as asked, with the v1 key or the v2 token.
pub(crate) async fn scenario(
    engine: Engine,
    tier: Tier,
    seed: SeedSpec,
    sensitive: bool,
    use_v1: bool,
) -> Scenario {
    let stack = Stack::start(engine, &[]).await;
    let created = stack.sims.hubspot.create_portal(NewPortal {
        tier,
        ..Default::default()
    });
    stack.install_again(created.portal_id).await;
    let portal = created.portal_id as i64;
    let account = stack.sims.holded.create_account(None);
    stack
        .sims
        .holded
        .seed(&SeedSpec {
            account_id: account.account_id.clone(),
            ..seed
        })
        .expect("seeded");
    let key = if use_v1 {
        &account.v1_key
    } else {
        &account.v2_token
    };
    stack
        .save_settings(portal, &settings_body(Some(key), &MAPPED, sensitive, false))
        .await;
    Scenario {
        stack,
        portal,
        token: created.access_token,
        account,
    }
}

impl Scenario {
    /// Runs `holded-hubspot sync` for the portal (with `extra` flags); its output.
    pub(crate) async fn sync(&self, extra: &[&str]) -> String {
        let portal = self.portal.to_string();
        let mut args = vec!["sync", "--portal", portal.as_str()];
        args.extend_from_slice(extra);
        let out = self.stack.command(&args).output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "sync failed:\n{stdout}\n{stderr}");
        stdout
    }

    fn dump(&self) -> Value {
        self.stack.sims.hubspot.dump(self.portal as u64).unwrap()
    }

    pub(crate) fn records(&self, object: &str) -> Vec<Value> {
        self.dump()["records"][object]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["archived"] == false)
            .cloned()
            .collect()
    }

    /// HubSpot write requests so far (object writes and associations).
    pub(crate) fn writes(&self) -> u64 {
        self.stack
            .sims
            .hubspot
            .stats()
            .by_endpoint
            .iter()
            .filter(|(e, _)| {
                e.starts_with("POST /crm/")
                    && !e.contains("/search")
                    && !e.contains("/batch/read")
                    && !e.starts_with("POST /crm/properties")
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Adds a person with `email` to the Holded account (HubSpot refuses a
    /// malformed email); returns its Holded id.
    pub(crate) async fn add_person(&self, name: &str, email: &str) -> String {
        self.holded()
            .create_contact(&ContactChanges {
                name: Some(name.into()),
                email: Some(email.into()),
                is_person: Some(true),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    /// Changes the email of the Holded contact `holded_id`.
    pub(crate) async fn set_email(&self, holded_id: &str, email: &str) {
        self.holded()
            .update_contact(
                holded_id,
                &ContactChanges {
                    email: Some(email.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    /// How many persons the seeded Holded account has (HubSpot contacts-to-be).
    pub(crate) fn holded_persons(&self) -> usize {
        self.stack
            .sims
            .holded
            .contacts(&self.account.account_id)
            .iter()
            .filter(|c| c.is_person)
            .count()
    }

    /// A Holded client on the seeded account (v2 token).
    pub(crate) fn holded(&self) -> HoldedClient {
        HoldedClient::new(
            &url::Url::parse(&self.stack.sims.holded_url).unwrap(),
            SecretString::from(self.account.v2_token.clone()),
            ClientOptions::default(),
        )
        .unwrap()
    }
}

pub(crate) fn holded_ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| r["properties"]["holded_id"].as_str().map(str::to_owned))
        .collect()
}

pub(crate) fn summary_line<'a>(output: &'a str, kind: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.starts_with(&format!("✔ {kind} ")))
        .unwrap_or_else(|| panic!("summary for {kind} in:\n{output}"))
}

async fn first_sync_second_sync_and_changes(engine: Engine, use_v1: bool) {
    let s = scenario(
        engine,
        Tier::Pro,
        SeedSpec {
            account_id: String::new(),
            seed: 7,
            contacts: 150,
            products: 30,
            documents_per_type: 6,
        },
        false,
        use_v1,
    )
    .await;
    let contacts = s.stack.sims.holded.contacts(&s.account.account_id);
    let persons: HashSet<String> = contacts
        .iter()
        .filter(|c| c.is_person)
        .map(|c| c.id.clone())
        .collect();
    let companies: HashSet<String> = contacts
        .iter()
        .filter(|c| !c.is_person)
        .map(|c| c.id.clone())
        .collect();

    let output = s.sync(&[]).await;
    assert!(output.contains("completed"), "{output}");
    // Exactly the expected records, each once, with its Holded id.
    let hs_contacts = s.records("contacts");
    let ids: Vec<String> = holded_ids(&hs_contacts);
    assert_eq!(ids.len(), persons.len(), "{output}");
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), persons);
    assert_eq!(
        holded_ids(&s.records("companies"))
            .into_iter()
            .collect::<HashSet<_>>(),
        companies
    );
    assert_eq!(holded_ids(&s.records("products")).len(), 30);
    let deals = s.records("deals");
    assert_eq!(deals.len(), 4 * 6, "mapped types only: {output}");
    assert!(
        summary_line(&output, "deals").contains("omitidos      6"),
        "{output}"
    );
    // Deals sit in the mapped stage, carry the document, and have their lines
    // and their contact or company.
    let documents = s.stack.sims.holded.documents(&s.account.account_id);
    let dump = s.dump();
    let associations = dump["associations"].as_array().unwrap();
    for deal in &deals {
        let props = &deal["properties"];
        let doc = documents
            .iter()
            .find(|d| Some(d.id.as_str()) == props["holded_id"].as_str())
            .expect("deal of a Holded document");
        let doc_type = props["holded_tipo_documento"].as_str().unwrap();
        let stage = MAPPED.iter().find(|(t, _)| *t == doc_type).unwrap().1;
        assert_eq!(props["dealstage"], stage);
        assert_eq!(props["pipeline"], "default");
        assert_eq!(
            props["holded_numero_documento"].as_str(),
            Some(doc.number.as_str())
        );
        let deal_id: u64 = deal["id"].as_str().unwrap().parse().unwrap();
        let lines = associations
            .iter()
            .filter(|a| {
                a["from_type"] == "deals" && a["from_id"] == deal_id && a["to_type"] == "line_items"
            })
            .count();
        assert_eq!(
            lines,
            doc.lines.len(),
            "line items of {doc_type} {}",
            doc.number
        );
        let linked = associations.iter().any(|a| {
            a["from_type"] == "deals"
                && a["from_id"] == deal_id
                && (a["to_type"] == "contacts" || a["to_type"] == "companies")
        });
        assert!(linked, "deal {deal_id} has its contact or company");
    }
    // Line items point at the synced products where the product is known.
    let products: HashSet<String> = s
        .records("products")
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    let with_product = s
        .records("line_items")
        .iter()
        .filter(|l| {
            l["properties"]["hs_product_id"]
                .as_str()
                .is_some_and(|p| products.contains(p))
        })
        .count();
    assert!(with_product > 0);

    // The second run writes nothing to HubSpot.
    let before = s.writes();
    let output = s.sync(&[]).await;
    assert_eq!(s.writes(), before, "second run wrote:\n{output}");
    assert!(
        summary_line(&output, "contacts").contains("creados      0 · actualizados      0"),
        "{output}"
    );

    // Seven changed persons: the next run updates exactly those, in one batch.
    let holded = s.holded();
    let changed: Vec<String> = persons.iter().take(7).cloned().collect();
    for (n, id) in changed.iter().enumerate() {
        holded
            .update_contact(
                id,
                &ContactChanges {
                    phone: Some(format!("+34 600 000 {n:03}")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let before = s.writes();
    let upserts = |s: &Scenario| {
        s.stack
            .sims
            .hubspot
            .stats()
            .by_endpoint
            .get("POST /crm/objects/2026-09/contacts/batch/upsert")
            .copied()
            .unwrap_or(0)
    };
    let upserts_before = upserts(&s);
    let output = s.sync(&[]).await;
    assert!(
        summary_line(&output, "contacts").contains("actualizados      7"),
        "{output}"
    );
    assert_eq!(s.writes() - before, 1, "one batch: {output}");
    assert_eq!(upserts(&s) - upserts_before, 1);
    let updated = s
        .records("contacts")
        .into_iter()
        .filter(|c| {
            changed
                .iter()
                .any(|id| Some(id.as_str()) == c["properties"]["holded_id"].as_str())
        })
        .filter(|c| {
            c["properties"]["phone"]
                .as_str()
                .is_some_and(|p| p.starts_with("+34600000"))
        })
        .count();
    assert_eq!(updated, 7);
}

#[tokio::test]
async fn first_sync_lands_everything_and_later_runs_write_only_changes_sqlite_v2() {
    first_sync_second_sync_and_changes(Engine::Sqlite, false).await;
}

#[tokio::test]
async fn first_sync_lands_everything_and_later_runs_write_only_changes_postgres_v1() {
    first_sync_second_sync_and_changes(Engine::Postgres, true).await;
}

/// A small seeded account: `contacts` contacts, 5 products, 2 documents per type.
pub(crate) fn small_seed(contacts: usize) -> SeedSpec {
    SeedSpec {
        account_id: String::new(),
        seed: 11,
        contacts,
        products: 5,
        documents_per_type: 2,
    }
}

fn fault(kind: &str, status: Option<u16>, count: u32) -> Fault {
    Fault {
        kind: kind.into(),
        status,
        delay_ms: None,
        count: Some(count),
        rate: None,
        path_contains: Some("/crm/objects/".into()),
        portal_id: None,
    }
}

pub(crate) async fn failed_items(s: &Scenario) -> Vec<sync_run_item::Model> {
    let store = s.stack.db.store().await;
    sync_run_item::Entity::find()
        .filter(sync_run_item::Column::Outcome.eq("failed"))
        .order_by_asc(sync_run_item::Column::Id)
        .all(store.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn refused_records_fail_alone_with_their_reasons_and_wait_for_a_change() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(20), false, false).await;
    let holded = s.holded();
    let bad_email = s
        .add_person("Pedro Mal Correo", "esto-no-es-un-email")
        .await;
    let too_long = holded
        .create_contact(&ContactChanges {
            name: Some("Lola Dirección Larga".into()),
            is_person: Some(true),
            bill_address: Some(holded_hubspot::holded::Address {
                address: Some("Calle Mayor ".repeat(6_000)),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let output = s.sync(&[]).await;
    assert!(
        summary_line(&output, "contacts").contains("con error     2"),
        "{output}"
    );
    let landed = holded_ids(&s.records("contacts"));
    assert!(!landed.contains(&bad_email) && !landed.contains(&too_long));
    let persons = s.holded_persons();
    assert_eq!(landed.len(), persons - 2, "all the others land");
    let failed = failed_items(&s).await;
    assert_eq!(failed.len(), 2);
    let email_failure = failed.iter().find(|f| f.holded_id == bad_email).unwrap();
    assert!(
        email_failure.reason.as_deref().unwrap().contains("email"),
        "{email_failure:?}"
    );
    assert!(
        email_failure
            .payload_summary
            .as_deref()
            .unwrap()
            .contains("esto-no-es-un-email")
    );
    let long_failure = failed.iter().find(|f| f.holded_id == too_long).unwrap();
    assert!(
        long_failure
            .payload_summary
            .as_deref()
            .unwrap()
            .contains("caracteres"),
        "shortened"
    );

    // Fixed in Holded, the record lands on the next run and its failure is
    // resolved; the other, unchanged, is not sent again.
    s.set_email(&bad_email, "pedro@ejemplo.es").await;
    let output = s.sync(&[]).await;
    let contacts = summary_line(&output, "contacts");
    assert!(
        contacts.contains("con error     0") && contacts.contains("omitidos      1"),
        "{output}"
    );
    assert!(!holded_ids(&s.records("contacts")).contains(&too_long));
    assert!(
        failed_items(&s)
            .await
            .iter()
            .any(|f| f.holded_id == too_long && !f.resolved),
        "its failure stays open"
    );
    assert!(holded_ids(&s.records("contacts")).contains(&bad_email));
    let resolved = failed_items(&s)
        .await
        .into_iter()
        .filter(|f| f.holded_id == bad_email)
        .all(|f| f.resolved);
    assert!(resolved);
}

#[tokio::test]
async fn existing_hubspot_records_are_linked_not_duplicated() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(30), false, false).await;
    let contacts = s.stack.sims.holded.contacts(&s.account.account_id);
    let person = contacts
        .iter()
        .find(|c| c.is_person && c.email.is_some())
        .unwrap();
    let mut with_site = contacts
        .iter()
        .filter(|c| !c.is_person && c.website.is_some());
    let company = with_site.next().unwrap();
    let domain =
        holded_hubspot::sync::mapping::domain_of(company.website.as_deref().unwrap()).unwrap();
    // Another company was typed in HubSpot with the `www.` people often add.
    let typed = with_site.next().unwrap();
    let typed_domain =
        holded_hubspot::sync::mapping::domain_of(typed.website.as_deref().unwrap()).unwrap();
    let client = crate::support::http();
    let create = |object: &str, properties: Value| {
        client
            .post(format!(
                "{}/crm/v3/objects/{object}",
                s.stack.sims.hubspot_url
            ))
            .bearer_auth(&s.token)
            .json(&json!({"properties": properties}))
            .send()
    };
    let made_contact: Value = create("contacts", json!({"email": person.email.as_deref().unwrap().to_uppercase(), "firstname": "Ya existía"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let made_company: Value = create(
        "companies",
        json!({"name": "Empresa previa", "domain": domain}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let made_typed: Value = create(
        "companies",
        json!({"name": "Empresa tecleada", "domain": format!("www.{typed_domain}")}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await; // past the search index lag

    let output = s.sync(&[]).await;
    let hs_contacts = s.records("contacts");
    let persons = contacts.iter().filter(|c| c.is_person).count();
    assert_eq!(hs_contacts.len(), persons, "no duplicate contact: {output}");
    let linked = hs_contacts
        .iter()
        .find(|c| c["id"] == made_contact["id"])
        .unwrap();
    assert_eq!(
        linked["properties"]["holded_id"].as_str(),
        Some(person.id.as_str())
    );
    let hs_companies = s.records("companies");
    assert_eq!(
        hs_companies.len(),
        contacts.len() - persons,
        "no duplicate company"
    );
    let linked = hs_companies
        .iter()
        .find(|c| c["id"] == made_company["id"])
        .unwrap();
    assert_eq!(
        linked["properties"]["holded_id"].as_str(),
        Some(company.id.as_str())
    );
    let linked = hs_companies
        .iter()
        .find(|c| c["id"] == made_typed["id"])
        .unwrap();
    assert_eq!(
        linked["properties"]["holded_id"].as_str(),
        Some(typed.id.as_str()),
        "www. is not part of a company's domain"
    );
}

/// HubSpot allows 5 searches a second and refuses search bodies over 3,000
/// characters (reference §1.5; the simulator too). A first sync reads the
/// HubSpot companies it could link to once (here 203: two pages) instead of
/// searching batch after batch; a later night with more of them than one
/// page looks each batch of 100 Spanish companies up by domain and CIF, in
/// several searches, each within every limit. Either way existing companies
/// are linked, never duplicated.
#[tokio::test]
async fn a_batch_of_100_companies_is_looked_up_within_the_search_limits() {
    companies_looked_up_within_the_search_limits(false).await;
}

/// The same under the 2024 changelog's wider filter limits.
#[tokio::test]
async fn a_batch_of_100_companies_under_the_wide_search_filter_reading() {
    companies_looked_up_within_the_search_limits(true).await;
}

async fn companies_looked_up_within_the_search_limits(wide_search_filters: bool) {
    let s = scenario(
        Engine::Sqlite,
        Tier::Enterprise,
        SeedSpec {
            account_id: String::new(),
            seed: 20,
            contacts: 500,
            products: 0,
            documents_per_type: 0,
        },
        true,
        false,
    )
    .await;
    s.stack.sims.hubspot.set_settings(Settings {
        wide_search_filters,
        ..Settings::default()
    });
    // HubSpot's own companies, unknown to Holded: more than a search page.
    let own: Vec<_> = (0..200)
        .map(|i| {
            std::collections::BTreeMap::from([
                ("name".to_owned(), format!("Reformas Peñalara {i} S.L.")),
                ("domain".to_owned(), format!("reformas-penalara-{i}.es")),
            ])
        })
        .collect();
    s.stack
        .sims
        .hubspot
        .seed_records(s.portal as u64, ObjType::Companies, own)
        .unwrap();
    let first = s.stack.sims.holded.contacts(&s.account.account_id);
    let existing = existing_companies(&s, &first, &[]).await;

    let output = s.sync(&[]).await;
    assert!(output.contains("· completed ·"), "{output}");
    assert_linked_once(&s, &first, &existing, 200, &output);
    let searches =
        || s.stack.sims.hubspot.stats().by_endpoint["POST /crm/objects/2026-09/companies/search"];
    let first_searches = searches();
    assert_eq!(
        first_searches, 2,
        "the first sync reads the 203 unlinked companies once, in two pages"
    );

    // A later night: 250 more Holded companies, three of them already in HubSpot.
    s.stack
        .sims
        .holded
        .seed(&SeedSpec {
            account_id: s.account.account_id.clone(),
            seed: 21,
            contacts: 500,
            products: 0,
            documents_per_type: 0,
        })
        .unwrap();
    let all = s.stack.sims.holded.contacts(&s.account.account_id);
    let added: Vec<_> = all[first.len()..].to_vec();
    let existing_later = existing_companies(&s, &added, &first).await;
    let output = s.sync(&[]).await;
    assert!(output.contains("· completed ·"), "{output}");
    let mut every_existing = existing;
    every_existing.extend(existing_later);
    assert_linked_once(&s, &all, &every_existing, 200, &output);
    let later_searches = searches() - first_searches;
    assert!(
        later_searches > 3,
        "three batches of companies, each needing more than one search: {later_searches}"
    );
}

type HoldedContact = holded_hubspot_sim::holded::model::SimContact;

fn company_domain(company: &HoldedContact) -> String {
    holded_hubspot::sync::mapping::domain_of(company.website.as_deref().unwrap()).unwrap()
}

/// Makes three companies of `contacts` exist in HubSpot already (same
/// domain, no Holded id), avoiding domains other Holded companies (of
/// `contacts` or `others`) share; returns (Holded id, HubSpot id) of each.
async fn existing_companies(
    s: &Scenario,
    contacts: &[HoldedContact],
    others: &[HoldedContact],
) -> Vec<(String, Value)> {
    let companies: Vec<&HoldedContact> = contacts.iter().filter(|c| !c.is_person).collect();
    let mut seen = HashSet::new();
    let shared: HashSet<String> = companies
        .iter()
        .copied()
        .chain(others.iter().filter(|c| !c.is_person))
        .map(company_domain)
        .filter(|d| !seen.insert(d.clone()))
        .collect();
    let client = crate::support::http();
    let mut existing = Vec::new();
    let alone: Vec<&&HoldedContact> = companies
        .iter()
        .filter(|c| !shared.contains(&company_domain(c)))
        .collect();
    for company in alone.iter().step_by(alone.len() / 3).take(3) {
        let made: Value = client
            .post(format!(
                "{}/crm/v3/objects/companies",
                s.stack.sims.hubspot_url
            ))
            .bearer_auth(&s.token)
            .json(&json!({"properties": {"name": company.name, "domain": company_domain(company)}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        existing.push((company.id.clone(), made["id"].clone()));
    }
    assert_eq!(existing.len(), 3);
    tokio::time::sleep(Duration::from_millis(1_200)).await; // past the search index lag
    existing
}

/// One HubSpot company per Holded company of `contacts` (plus HubSpot's
/// `own`), each Holded id once, the `existing` ones linked to theirs.
fn assert_linked_once(
    s: &Scenario,
    contacts: &[HoldedContact],
    existing: &[(String, Value)],
    own: usize,
    output: &str,
) {
    let companies = contacts.iter().filter(|c| !c.is_person).count();
    let hs_companies = s.records("companies");
    assert_eq!(
        hs_companies.len(),
        companies + own,
        "one HubSpot company per Holded company: {output}"
    );
    let linked: HashSet<&str> = hs_companies
        .iter()
        .filter_map(|c| c["properties"]["holded_id"].as_str())
        .collect();
    assert_eq!(linked.len(), companies);
    for (holded_id, hubspot_id) in existing {
        let linked = hs_companies
            .iter()
            .find(|c| &c["id"] == hubspot_id)
            .unwrap();
        assert_eq!(
            linked["properties"]["holded_id"].as_str(),
            Some(holded_id.as_str())
        );
    }
}

#[tokio::test]
async fn a_killed_run_resumes_and_ends_as_an_uninterrupted_one() {
    let s = scenario(
        Engine::Sqlite,
        Tier::Pro,
        SeedSpec {
            account_id: String::new(),
            seed: 3,
            contacts: 2_400,
            products: 10,
            documents_per_type: 3,
        },
        false,
        false,
    )
    .await;
    let portal = s.portal.to_string();
    let mut child = s
        .stack
        .command(&["sync", "--portal", &portal])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Let it write some batches, then stop it dead (SIGKILL: no cleanup at all).
    let upserts = |s: &Scenario| {
        s.stack
            .sims
            .hubspot
            .stats()
            .by_endpoint
            .get("POST /crm/objects/2026-09/contacts/batch/upsert")
            .copied()
            .unwrap_or(0)
    };
    for _ in 0..600 {
        if upserts(&s) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let written_before_kill = s.records("contacts").len();
    let persons: HashSet<String> = s
        .stack
        .sims
        .holded
        .contacts(&s.account.account_id)
        .iter()
        .filter(|c| c.is_person)
        .map(|c| c.id.clone())
        .collect();
    assert!(
        written_before_kill > 0 && written_before_kill < persons.len(),
        "killed mid-run ({written_before_kill})"
    );
    let store = s.stack.db.store().await;
    let interrupted = sync_run::Entity::find()
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        interrupted.status, "running",
        "the killed run never finished"
    );
    // Its lease would expire on its own; the test does not wait for it.
    store
        .db()
        .execute_unprepared("UPDATE portals SET sync_lock_until = NULL")
        .await
        .unwrap();

    let output = s.sync(&[]).await;
    let runs = sync_run::Entity::find().all(store.db()).await.unwrap();
    assert_eq!(runs.len(), 1, "the same run resumed: {output}");
    assert_eq!(runs[0].status, "completed");
    let ids = holded_ids(&s.records("contacts"));
    assert_eq!(ids.len(), persons.len(), "no duplicates");
    assert_eq!(ids.into_iter().collect::<HashSet<_>>(), persons);
    assert_eq!(s.records("deals").len(), 4 * 3);
}

#[tokio::test]
async fn storms_of_429_and_5xx_are_weathered_and_the_daily_limit_pauses() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(60), false, false).await;
    s.stack.sims.hubspot.add_fault(fault("rate_limit", None, 2));
    s.stack
        .sims
        .hubspot
        .add_fault(fault("server_error", Some(502), 3));
    s.stack.sims.holded.add_fault(HoldedFault {
        kind: FaultKind::ServerError { status: 503 },
        rate: None,
        next: Some(3),
        delay_ms: None,
        generation: None,
        route: None,
    });
    let portal = s.portal.to_string();
    let out = s
        .stack
        .command(&["sync", "--portal", &portal])
        .output()
        .await
        .unwrap();
    let output = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        output.contains("completed"),
        "{output}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let contacts = s.stack.sims.holded.contacts(&s.account.account_id);
    let persons = contacts.iter().filter(|c| c.is_person).count();
    assert_eq!(holded_ids(&s.records("contacts")).len(), persons);
    assert!(s.stack.sims.hubspot.stats().rate_limited >= 2);

    // The daily limit stops the portal until it resets; the next run resumes.
    let holded = s.holded();
    let some = contacts.iter().find(|c| c.is_person).unwrap();
    holded
        .update_contact(
            &some.id,
            &ContactChanges {
                phone: Some("+34 699 111 222".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    s.stack
        .sims
        .hubspot
        .add_fault(fault("daily_limit", None, 1));
    let portal = s.portal.to_string();
    let out = s
        .stack
        .command(&["sync", "--portal", &portal])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("paused"), "{stdout}");
    let store = s.stack.db.store().await;
    let run = sync_run::Entity::find()
        .order_by_desc(sync_run::Column::Id)
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, "paused");
    assert!(run.error.as_deref().unwrap().contains("límite diario"));
    let next = store
        .portal(s.portal)
        .await
        .unwrap()
        .unwrap()
        .next_run_at
        .unwrap();
    assert!(next > chrono::Utc::now(), "rescheduled for the reset");
    let output = s.sync(&[]).await;
    assert!(
        output.contains(&format!("Ejecución {}", run.id)),
        "the paused run resumes: {output}"
    );
    let updated = s
        .records("contacts")
        .into_iter()
        .find(|c| c["properties"]["holded_id"].as_str() == Some(some.id.as_str()))
        .unwrap();
    assert_eq!(updated["properties"]["phone"], "+34699111222");
}

/// A batch create whose answer is lost after HubSpot made the records (a
/// gateway timeout) cannot be sent again blind: the night looks for what it
/// made — products by their Holded id, a deal's lines by its associations —
/// keeps it, and creates only what is missing. Nothing doubles and the night
/// completes.
#[tokio::test]
async fn creates_whose_answer_was_lost_are_found_not_repeated() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(20), false, false).await;
    // One product create and three line-item creates in a row lose their answer.
    for (object, times) in [
        ("/products/batch/create", 1),
        ("/line_items/batch/create", 3),
    ] {
        s.stack.sims.hubspot.add_fault(Fault {
            path_contains: Some(object.into()),
            ..fault("lost_answer", None, times)
        });
    }
    let output = s.sync(&[]).await;
    assert!(output.contains("completed"), "{output}");
    let products = holded_ids(&s.records("products"));
    let unique: HashSet<&String> = products.iter().collect();
    assert_eq!(products.len(), 5, "every product once: {products:?}");
    assert_eq!(unique.len(), 5);
    let documents = s.stack.sims.holded.documents(&s.account.account_id);
    let expected_lines: usize = s
        .records("deals")
        .iter()
        .map(|deal| {
            documents
                .iter()
                .find(|d| Some(d.id.as_str()) == deal["properties"]["holded_id"].as_str())
                .map_or(0, |d| d.lines.len())
        })
        .sum();
    assert!(expected_lines > 0);
    assert_eq!(
        s.records("line_items").len(),
        expected_lines,
        "each document line once on its deal"
    );
}

#[tokio::test]
async fn sensitive_values_travel_only_when_the_setting_is_on() {
    let off = scenario(
        Engine::Sqlite,
        Tier::Enterprise,
        small_seed(12),
        false,
        false,
    )
    .await;
    let output = off.sync(&[]).await;
    let contacts = off.stack.sims.holded.contacts(&off.account.account_id);
    let nifs: Vec<String> = contacts.iter().filter_map(|c| c.code.clone()).collect();
    let ibans: Vec<String> = contacts.iter().filter_map(|c| c.iban.clone()).collect();
    assert!(!nifs.is_empty() && !ibans.is_empty());
    let dump = off.dump().to_string();
    for secret in nifs.iter().chain(&ibans) {
        assert!(!dump.contains(secret.as_str()), "{secret} reached HubSpot");
        assert!(!output.contains(secret.as_str()));
        assert!(!off.stack.service.logs().contains(secret.as_str()));
    }

    let on = scenario(
        Engine::Sqlite,
        Tier::Enterprise,
        small_seed(12),
        true,
        false,
    )
    .await;
    on.sync(&[]).await;
    let contacts = on.stack.sims.holded.contacts(&on.account.account_id);
    let person = contacts
        .iter()
        .find(|c| c.is_person && c.code.is_some())
        .unwrap();
    let record = on
        .records("contacts")
        .into_iter()
        .find(|c| c["properties"]["holded_id"].as_str() == Some(person.id.as_str()))
        .unwrap();
    assert_eq!(
        record["properties"]["holded_nif"].as_str(),
        person.code.as_deref()
    );
    let dump = on.dump();
    let nif = dump["custom_properties"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "holded_nif")
        .expect("sensitive property created");
    assert_eq!(nif["dataSensitivity"], "sensitive");
}

#[tokio::test]
async fn a_dry_run_plans_and_writes_nothing() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(25), false, false).await;
    let before = s.writes();
    let output = s.sync(&["--dry-run"]).await;
    assert_eq!(s.writes(), before, "{output}");
    assert!(s.records("contacts").is_empty());
    let persons = s.holded_persons();
    assert!(
        summary_line(&output, "contacts").contains(&format!("creados {persons:>6}")),
        "{output}"
    );
    assert!(
        output.contains("· create contacts "),
        "a sample of planned changes: {output}"
    );
    // The real run then writes what the plan said.
    let output = s.sync(&[]).await;
    assert_eq!(s.records("contacts").len(), persons, "{output}");
}

/// A worker that died mid-run leaves its run and its lock behind. The next
/// job for the portal (the queue hands the dead worker's job on) waits for
/// the lock to lapse — its holder no longer renews it — and resumes the run
/// to the end, instead of leaving it "running" until the next night.
#[tokio::test]
async fn a_run_left_by_a_dead_worker_is_taken_over_and_finished() {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(15), false, false).await;
    let store = s.stack.db.store().await;
    let left = store
        .start_run(
            s.portal,
            holded_hubspot::store::RunTrigger::Scheduled,
            false,
            None,
        )
        .await
        .unwrap();
    let mut portal = holded_hubspot::store::entities::portal::Entity::find_by_id(s.portal)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    portal.sync_lock_owner = Set(Some("worker-muerto".to_owned()));
    portal.sync_lock_until = Set(Some(chrono::Utc::now() + chrono::Duration::seconds(5)));
    portal.update(store.db()).await.unwrap();

    let res = s
        .stack
        .fetch(s.portal, Method::POST, "/api/sync", "")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let mut run = None;
    for _ in 0..120 {
        run = sync_run::Entity::find_by_id(left.id)
            .one(store.db())
            .await
            .unwrap();
        if run.as_ref().is_some_and(|r| r.status != "running") {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let run = run.unwrap();
    assert_eq!(run.status, "completed", "{}", s.stack.service.logs());
    let persons = s.holded_persons();
    assert_eq!(s.records("contacts").len(), persons);
}

#[tokio::test]
async fn sync_now_runs_in_the_service_workers_and_shows_in_the_run_history() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(15), false, false).await;
    let bad = s.add_person("Correo Roto", "roto@").await;
    let portal = s.portal;
    let res = s
        .stack
        .fetch(portal, Method::POST, "/api/sync", "")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    // The service's own workers pick the job up.
    let mut history = Value::Null;
    for _ in 0..200 {
        let res = s
            .stack
            .fetch(portal, Method::GET, "/api/runs", "")
            .send()
            .await
            .unwrap();
        history = res.json().await.unwrap();
        if history["runs"][0]["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run = &history["runs"][0];
    assert_eq!(run["status"], "completed", "{history}");
    assert_eq!(run["trigger"], "manual");
    let kinds: Vec<&str> = run["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["objectKind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["contacts", "companies", "products", "deals"]);
    let failed = run["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{history}");
    assert_eq!(failed[0]["holdedId"], bad);
    assert!(failed[0]["reason"].as_str().unwrap().contains("email"));
    assert!(run["kinds"][0]["hubspotCalls"].as_i64().unwrap() >= 1);
    // Unsigned requests are refused, as on every settings-page endpoint.
    let unsigned = crate::support::http()
        .post(format!(
            "{}/api/sync?portalId={portal}",
            s.stack.service.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
}

#[tokio::test]
async fn turning_sensitive_data_off_erases_the_values_already_in_hubspot() {
    let s = scenario(
        Engine::Sqlite,
        Tier::Enterprise,
        small_seed(12),
        true,
        false,
    )
    .await;
    s.sync(&[]).await;
    let with_nif = |s: &Scenario| {
        s.records("contacts")
            .iter()
            .chain(s.records("companies").iter())
            .filter(|r| {
                r["properties"]["holded_nif"]
                    .as_str()
                    .is_some_and(|v| !v.is_empty())
            })
            .count()
    };
    assert!(with_nif(&s) > 0, "sensitive values were written");
    s.stack
        .save_settings(s.portal, &settings_body(None, &MAPPED, false, true))
        .await;
    // The service queues a sync that clears them.
    for _ in 0..300 {
        if with_nif(&s) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(with_nif(&s), 0, "erased");
    let store = s.stack.db.store().await;
    let row = store.settings_row(s.portal).await.unwrap().unwrap();
    for _ in 0..50 {
        if !store
            .settings_row(s.portal)
            .await
            .unwrap()
            .unwrap()
            .erase_sensitive_pending
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!row.sensitive_data);
    let runs = sync_run::Entity::find().all(store.db()).await.unwrap();
    assert!(
        !store
            .settings_row(s.portal)
            .await
            .unwrap()
            .unwrap()
            .erase_sensitive_pending,
        "{runs:?}"
    );
    // The next run writes nothing more.
    let before = s.writes();
    s.sync(&[]).await;
    assert_eq!(s.writes(), before);
}

#[tokio::test]
async fn a_past_start_date_back_fills_older_records() {
    let s = scenario(
        Engine::Sqlite,
        Tier::Pro,
        SeedSpec {
            account_id: String::new(),
            seed: 21,
            contacts: 40,
            products: 3,
            documents_per_type: 12,
        },
        false,
        false,
    )
    .await;
    let today = chrono::Utc::now().date_naive();
    let recent = today - chrono::Days::new(90);
    let mapped: Vec<&str> = MAPPED.iter().map(|(t, _)| *t).collect();
    let documents = s.stack.sims.holded.documents(&s.account.account_id);
    let madrid_date = |unix: i64| {
        chrono::DateTime::from_timestamp(unix, 0)
            .unwrap()
            .with_timezone(&chrono_tz::Europe::Madrid)
            .date_naive()
    };
    let mapped_docs: Vec<_> = documents
        .iter()
        .filter(|d| mapped.contains(&d.doc_type.v1()))
        .collect();
    let recent_docs = mapped_docs
        .iter()
        .filter(|d| madrid_date(d.date) >= recent)
        .count();
    assert!(
        recent_docs > 0 && recent_docs < mapped_docs.len(),
        "the seed spans the start date"
    );

    // From a recent start date only documents dated since then arrive.
    s.sync(&["--since", &recent.to_string()]).await;
    assert_eq!(s.records("deals").len(), recent_docs);
    // A start date in the past brings the history.
    s.sync(&["--since", "2020-01-01"]).await;
    assert_eq!(s.records("deals").len(), mapped_docs.len());
}

#[tokio::test]
async fn records_gone_from_holded_are_marked_never_deleted() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(16), false, false).await;
    s.sync(&[]).await;
    let contacts = s.stack.sims.holded.contacts(&s.account.account_id);
    let person = contacts.iter().find(|c| c.is_person).unwrap();
    let company = contacts.iter().find(|c| !c.is_person).unwrap();
    assert!(
        s.stack
            .sims
            .holded
            .delete_contact(&s.account.account_id, &person.id)
    );
    assert!(
        s.stack
            .sims
            .holded
            .delete_contact(&s.account.account_id, &company.id)
    );
    let output = s.sync(&[]).await;
    assert!(
        summary_line(&output, "contacts").contains("eliminados     1"),
        "{output}"
    );
    assert!(
        summary_line(&output, "companies").contains("eliminados     1"),
        "{output}"
    );
    for (object, id) in [("contacts", &person.id), ("companies", &company.id)] {
        let record = s
            .records(object)
            .into_iter()
            .find(|r| r["properties"]["holded_id"].as_str() == Some(id.as_str()))
            .expect("still in HubSpot, not deleted");
        assert_eq!(
            record["properties"]["holded_estado_sync"],
            "eliminado_en_holded"
        );
    }
    // Marked once: the next run leaves them alone.
    let before = s.writes();
    s.sync(&[]).await;
    assert_eq!(s.writes(), before);
}

#[tokio::test]
async fn batches_are_written_several_at_a_time_and_every_record_lands_once() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(800), false, false).await;
    // Batch writes answer slowly: a sync that waits for each before the
    // next has one in flight at a time.
    s.stack.sims.hubspot.add_fault(Fault {
        kind: "slow".into(),
        delay_ms: Some(300),
        path_contains: Some("/batch/".into()),
        ..Fault::default()
    });
    let out = s.sync(&["--objects", "contacts,companies"]).await;
    assert!(out.contains("completed"), "{out}");
    let peak = s.stack.sims.hubspot.stats().by_portal[&(s.portal as u64)].peak_writes_in_flight;
    assert!(peak >= 2, "batch writes in flight at once: {peak}");
    let contacts = s.stack.sims.holded.contacts(&s.account.account_id);
    for (object, persons) in [("contacts", true), ("companies", false)] {
        let expected: HashSet<String> = contacts
            .iter()
            .filter(|c| c.is_person == persons)
            .map(|c| c.id.clone())
            .collect();
        let written = holded_ids(&s.records(object));
        assert_eq!(written.len(), expected.len(), "{object}: each once");
        assert_eq!(written.into_iter().collect::<HashSet<_>>(), expected);
    }
    // Every record counted once, and a second night writes nothing.
    let line = summary_line(&out, "contacts");
    assert!(line.contains("con error     0"), "{line}");
    let writes = s.writes();
    let again = s.sync(&["--objects", "contacts,companies"]).await;
    assert!(again.contains("completed"), "{again}");
    assert_eq!(s.writes(), writes, "an unchanged night writes nothing");
}
