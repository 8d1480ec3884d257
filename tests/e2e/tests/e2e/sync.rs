//! The nightly Holded → HubSpot sync against both simulators, run as the real
//! `holded-hubspot sync` command (issue: nightly sync).

use std::{collections::HashSet, time::Duration};

use holded_hubspot::holded::{ClientOptions, ContactChanges, HoldedApi, HoldedClient};
use holded_hubspot_sim::{
    holded::{SimAccount, seed::SeedSpec},
    hubspot::{Fault, NewPortal, model::Tier},
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{Engine, Stack};

/// A portal installed, a Holded account seeded and the settings saved.
struct Scenario {
    stack: Stack,
    portal: i64,
    token: String,
    account: SimAccount,
}

const MAPPED: [(&str, &str); 4] = [
    ("estimate", "appointmentscheduled"),
    ("proform", "qualifiedtobuy"),
    ("waybill", "contractsent"),
    ("invoice", "closedwon"),
];

async fn scenario(
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
    let mapping: serde_json::Map<String, Value> = MAPPED
        .iter()
        .map(|(t, s)| {
            (
                (*t).to_owned(),
                json!({"pipelineId": "default", "stageId": s}),
            )
        })
        .collect();
    let key = if use_v1 {
        &account.v1_key
    } else {
        &account.v2_token
    };
    let body = json!({
        "holdedApiKey": key,
        "nextSyncDate": "2020-01-01",
        "objects": {"contacts": true, "companies": true, "products": true, "documents": true},
        "documentMapping": mapping,
        "sensitiveData": {"enabled": sensitive, "eraseExisting": false},
    })
    .to_string();
    let res = stack
        .signed(
            Method::PUT,
            &format!("/api/settings?portalId={portal}"),
            &body,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    Scenario {
        stack,
        portal,
        token: created.access_token,
        account,
    }
}

impl Scenario {
    async fn sync(&self, extra: &[&str]) -> String {
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

    fn records(&self, object: &str) -> Vec<Value> {
        self.dump()["records"][object]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["archived"] == false)
            .cloned()
            .collect()
    }

    /// HubSpot write requests so far (object writes and associations).
    fn writes(&self) -> u64 {
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

    fn holded(&self) -> HoldedClient {
        HoldedClient::new(
            &url::Url::parse(&self.stack.sims.holded_url).unwrap(),
            SecretString::from(self.account.v2_token.clone()),
            ClientOptions::default(),
        )
        .unwrap()
    }
}

fn holded_ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| r["properties"]["holded_id"].as_str().map(str::to_owned))
        .collect()
}

fn summary_line<'a>(output: &'a str, kind: &str) -> &'a str {
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
