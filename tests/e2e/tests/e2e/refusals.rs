//! Records HubSpot refuses for their data, night after night, against the
//! simulator's default reading (one bad input refuses a whole batch upsert)
//! and the reference's (207 per record): the good records land, each bad one
//! is one failure with HubSpot's reason in Spanish, a run never aborts for
//! them, and a refused record is sent again only when it changes in Holded or
//! someone presses "Reintentar".

use std::time::Duration;

use holded_hubspot::store::entities::sync_run;
use holded_hubspot_sim::{
    holded::seed::SeedSpec,
    hubspot::{Settings, model::ObjType, model::Tier},
};
use reqwest::header;
use sea_orm::{EntityTrait, QueryOrder};

use crate::{
    support::{ADMIN_TOKEN, Engine, no_redirects},
    sync::{Scenario, failed_items, holded_ids, scenario, summary_line},
};

/// 500 Holded contacts of which exactly 250 are persons, all with an email.
fn two_hundred_fifty_persons() -> SeedSpec {
    SeedSpec {
        account_id: String::new(),
        seed: 20,
        contacts: 500,
        products: 0,
        documents_per_type: 0,
    }
}

/// Write calls on HubSpot contacts so far (batch create, update and upsert).
fn contact_writes(s: &Scenario) -> u64 {
    s.stack
        .sims
        .hubspot
        .stats()
        .by_endpoint
        .iter()
        .filter(|(e, _)| {
            e.starts_with("POST /crm/objects/2026-09/contacts/batch/") && !e.ends_with("/read")
        })
        .map(|(_, n)| n)
        .sum()
}

fn persons(s: &Scenario) -> Vec<String> {
    s.stack
        .sims
        .holded
        .contacts(&s.account.account_id)
        .into_iter()
        .filter(|c| c.is_person)
        .map(|c| c.id)
        .collect()
}

async fn one_invalid_email_among_250(multi_status: bool) {
    let s = scenario(
        Engine::Sqlite,
        Tier::Pro,
        two_hundred_fifty_persons(),
        false,
        false,
    )
    .await;
    s.stack.sims.hubspot.set_settings(Settings {
        multi_status_upserts: multi_status,
        ..Settings::default()
    });
    let persons = persons(&s);
    assert_eq!(persons.len(), 250);
    let bad = persons[137].clone();
    s.set_email(&bad, "roto@@ejemplo").await;

    let output = s.sync(&[]).await;
    let line = summary_line(&output, "contacts");
    assert!(
        line.contains("creados    249") && line.contains("con error     1"),
        "{output}"
    );
    let landed = holded_ids(&s.records("contacts"));
    assert_eq!(landed.len(), 249);
    assert!(!landed.contains(&bad));
    let writes = contact_writes(&s);
    assert!(writes <= 5, "{writes} contact write calls for 250 contacts");
    let failed = failed_items(&s).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].holded_id, bad);
    let reason = failed[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("HubSpot rechazó los datos (propiedad email)")
            && reason.contains("Email address roto@@ejemplo is invalid"),
        "{reason}"
    );

    // The next night, with nothing changed in Holded, writes nothing at all.
    let before = s.writes();
    let output = s.sync(&[]).await;
    assert_eq!(s.writes(), before, "no write call: {output}");
    let line = summary_line(&output, "contacts");
    assert!(
        line.contains("con error     0") && line.contains("omitidos      1"),
        "{output}"
    );
    assert!(
        !failed_items(&s).await[0].resolved,
        "the failure stays open until the record lands"
    );

    // Fixed in Holded, it is sent again and lands.
    s.set_email(&bad, "maria.lopez@ferreteriasanchez.es").await;
    s.sync(&[]).await;
    assert!(holded_ids(&s.records("contacts")).contains(&bad));
    assert!(failed_items(&s).await[0].resolved);
}

#[tokio::test]
async fn one_invalid_email_among_250_contacts_lands_249_and_the_next_quiet_night_writes_nothing() {
    one_invalid_email_among_250(false).await;
}

#[tokio::test]
async fn the_same_night_under_the_references_207_reading() {
    one_invalid_email_among_250(true).await;
}

/// A console session: its cookie and the CSRF token of its forms.
struct Console {
    base: String,
    cookie: String,
    csrf: String,
}

impl Console {
    async fn sign_in(s: &Scenario) -> Self {
        let base = format!("{}/console", s.stack.service.url);
        let client = no_redirects();
        let signed_in = client
            .post(format!("{base}/login"))
            .form(&[("token", ADMIN_TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303);
        let cookie = signed_in.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let page = client
            .get(format!("{base}/portals/{}/runs", s.portal))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Self {
            base,
            cookie,
            csrf: crate::console::csrf_token(&page),
        }
    }

    /// Posts "Reintentar" (`field` = `item` or `run`) and waits for the run it queues.
    async fn retry(&self, s: &Scenario, field: &str, id: i64) {
        let store = s.stack.db.store().await;
        let last_run = || async {
            sync_run::Entity::find()
                .order_by_desc(sync_run::Column::Id)
                .one(store.db())
                .await
                .unwrap()
                .expect("a run")
        };
        let before = last_run().await.id;
        let res = no_redirects()
            .post(format!("{}/portals/{}/retry", self.base, s.portal))
            .header(header::COOKIE, &self.cookie)
            .form(&[("csrf", self.csrf.as_str()), (field, &id.to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        for _ in 0..600 {
            let run = last_run().await;
            if run.id > before && run.status == "completed" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the queued run did not complete: {}",
            s.stack.service.logs()
        );
    }
}

/// Source of the behaviour: the 2026-09 write-validation changelog (reference
/// §0.2): a property an admin made required refuses creates without it.
async fn a_required_property(multi_status: bool) {
    let s = scenario(
        Engine::Sqlite,
        Tier::Pro,
        SeedSpec {
            account_id: String::new(),
            seed: 3,
            contacts: 40,
            products: 4,
            documents_per_type: 2,
        },
        false,
        false,
    )
    .await;
    let hubspot = &s.stack.sims.hubspot;
    hubspot.set_settings(Settings {
        multi_status_upserts: multi_status,
        ..Settings::default()
    });
    hubspot
        .set_required_properties(
            s.portal as u64,
            ObjType::Contacts,
            vec!["hs_legal_basis".into()],
        )
        .unwrap();
    let persons = persons(&s);

    let output = s.sync(&[]).await;
    assert!(
        output.contains("· completed ·"),
        "the run is not aborted: {output}"
    );
    let line = summary_line(&output, "contacts");
    assert!(
        line.contains(&format!("con error {:>5}", persons.len())),
        "{output}"
    );
    let companies = summary_line(&output, "companies");
    assert!(companies.contains("con error     0"), "{output}");
    assert!(s.records("contacts").is_empty());
    assert!(!s.records("companies").is_empty() && !s.records("deals").is_empty());
    let failed = failed_items(&s).await;
    assert_eq!(failed.len(), persons.len());
    let reason = failed[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("HubSpot exige la propiedad «hs_legal_basis» para crear contactos")
            && reason.contains("Cómo arreglarlo")
            && reason.contains("Reintentar"),
        "{reason}"
    );
    let store = s.stack.db.store().await;
    let first_run = sync_run::Entity::find()
        .order_by_desc(sync_run::Column::Id)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .id;

    // The admin makes it optional in HubSpot; nothing changed in Holded, so
    // the night sends nothing — until someone presses "Reintentar".
    hubspot
        .set_required_properties(s.portal as u64, ObjType::Contacts, Vec::new())
        .unwrap();
    let before = s.writes();
    s.sync(&[]).await;
    assert_eq!(s.writes(), before);
    let console = Console::sign_in(&s).await;
    let one = failed.iter().find(|f| f.holded_id == persons[0]).unwrap();
    console.retry(&s, "item", one.id).await;
    let landed = holded_ids(&s.records("contacts"));
    assert_eq!(
        landed,
        [persons[0].clone()],
        "only that record is sent again"
    );
    console.retry(&s, "run", first_run).await;
    assert_eq!(holded_ids(&s.records("contacts")).len(), persons.len());
    assert!(failed_items(&s).await.iter().all(|f| f.resolved));
}

#[tokio::test]
async fn a_required_property_yields_per_record_failures_and_reintentar_sends_them_again() {
    a_required_property(false).await;
}

#[tokio::test]
async fn a_required_property_under_the_references_207_reading() {
    a_required_property(true).await;
}
