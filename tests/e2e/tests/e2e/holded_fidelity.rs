//! The product against a Holded simulator as harsh as the real API (issue 15,
//! Holded half): v2 lists without lines, filters Holded ignores, the monthly
//! request quota, lists that repeat or lag, and numbers given on approval.

use std::time::Duration;

use holded_hubspot::{
    holded::{ContactChanges, DocumentContact, DocumentLine, DocumentType, HoldedApi, NewDocument},
    quota::next_period_start,
    store::entities::sync_run_object,
};
use holded_hubspot_sim::{
    holded::{
        faults::{Fault, FaultKind},
        seed::SeedSpec,
        state::SimSettings,
    },
    hubspot::model::Tier,
};
use reqwest::Method;
use rust_decimal_macros::dec;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::{
    deals::{DealSpec, Env, Setup, card_document, company, env, person},
    support::{Engine, output_text},
    sync::{Scenario, scenario, small_seed},
};

/// Line items associated with a deal in the HubSpot simulator.
fn line_items_of(dump: &Value, deal_id: u64) -> usize {
    dump["associations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["from_type"] == "deals" && a["from_id"] == deal_id && a["to_type"] == "line_items"
        })
        .count()
}

/// GETs of single v2 documents of one type (`invoices`, …) so far.
fn documents_read_whole(s: &Scenario, v2_path: &str) -> u64 {
    s.stack
        .sims
        .holded
        .stats()
        .count("GET", &format!("/api/v2/{v2_path}/{{id}}"))
}

fn seed_into(env: &Env, contacts: usize, products: usize, documents_per_type: usize) {
    env.stack
        .sims
        .holded
        .seed(&SeedSpec {
            account_id: env.account.account_id.clone(),
            seed: 15,
            contacts,
            products,
            documents_per_type,
        })
        .expect("seeded");
}

fn holded_settings(
    env_sims: &holded_hubspot_sim::holded::HoldedSim,
    change: impl FnOnce(&mut SimSettings),
) {
    let mut settings = env_sims.settings();
    change(&mut settings);
    env_sims.set_settings(settings);
}

#[tokio::test]
async fn a_v2_deal_gets_its_document_lines_and_only_documents_to_write_are_read_whole() {
    let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(10), false, false).await;
    s.sync(&[]).await;
    // Two documents of each mapped type were read whole; sales orders are not mapped.
    for path in ["estimates", "proformas", "waybills", "invoices"] {
        assert_eq!(documents_read_whole(&s, path), 2, "{path}");
    }
    assert_eq!(documents_read_whole(&s, "sales-orders"), 0);
    let documents = s.stack.sims.holded.documents(&s.account.account_id);
    let dump = s.stack.sims.hubspot.dump(s.portal as u64).unwrap();
    let deals = s.records("deals");
    assert_eq!(deals.len(), 8);
    for deal in &deals {
        let holded_id = deal["properties"]["holded_id"].as_str().unwrap();
        let document = documents.iter().find(|d| d.id == holded_id).unwrap();
        let deal_id: u64 = deal["id"].as_str().unwrap().parse().unwrap();
        assert!(!document.lines.is_empty());
        assert_eq!(
            line_items_of(&dump, deal_id),
            document.lines.len(),
            "deal of {}",
            document.number
        );
    }

    // A night with nothing changed reads no document whole.
    s.sync(&[]).await;
    assert_eq!(documents_read_whole(&s, "invoices"), 2);

    // A draft made in Holded is read when it comes, and again once approved
    // (its number is new); its deal then shows the number.
    let holded = s.holded();
    let customer = s.stack.sims.holded.contacts(&s.account.account_id)[0]
        .id
        .clone();
    let draft = holded
        .create_document(&NewDocument {
            doc_type: DocumentType::Invoice,
            contact: DocumentContact::Id(customer),
            date: chrono::Utc::now().date_naive(),
            description: Some("Reforma de cocina".into()),
            notes: None,
            currency: Some("EUR".into()),
            numbering_series_id: None,
            lines: vec![
                DocumentLine {
                    name: "Encimera de granito".into(),
                    units: dec!(1),
                    unit_price: dec!(850),
                    taxes: vec!["s_iva_21".into()],
                    ..Default::default()
                },
                DocumentLine {
                    name: "Montaje".into(),
                    units: dec!(6),
                    unit_price: dec!(35.5),
                    taxes: vec!["s_iva_21".into()],
                    ..Default::default()
                },
            ],
        })
        .await
        .unwrap()
        .id;
    s.sync(&[]).await;
    assert_eq!(documents_read_whole(&s, "invoices"), 3);
    let deal_of = |s: &Scenario| {
        s.records("deals")
            .into_iter()
            .find(|d| {
                d.pointer("/properties/holded_id").and_then(Value::as_str) == Some(draft.as_str())
            })
            .expect("the draft's deal")
    };
    let deal = deal_of(&s);
    let deal_id: u64 = deal["id"].as_str().unwrap().parse().unwrap();
    let dump = s.stack.sims.hubspot.dump(s.portal as u64).unwrap();
    assert_eq!(line_items_of(&dump, deal_id), 2);
    assert!(
        deal["properties"]["holded_numero_documento"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    let approved = s
        .stack
        .sims
        .holded
        .approve_document(&s.account.account_id, &draft)
        .unwrap();
    s.sync(&[]).await;
    assert_eq!(documents_read_whole(&s, "invoices"), 4);
    assert_eq!(
        deal_of(&s)["properties"]["holded_numero_documento"],
        approved.number
    );
}

#[tokio::test]
async fn a_repeated_cursor_or_page_marks_nothing_deleted_and_the_run_says_so() {
    for use_v1 in [false, true] {
        let s = scenario(Engine::Sqlite, Tier::Pro, small_seed(120), false, use_v1).await;
        s.sync(&[]).await;
        let gone = s
            .stack
            .sims
            .holded
            .contacts(&s.account.account_id)
            .into_iter()
            .find(|c| c.is_person)
            .unwrap()
            .id;
        assert!(
            s.stack
                .sims
                .holded
                .delete_contact(&s.account.account_id, &gone)
        );
        let state_of_gone = |s: &Scenario| {
            s.records("contacts")
                .into_iter()
                .find(|c| c["properties"]["holded_id"] == gone.as_str())
                .map(|c| c["properties"]["holded_estado_sync"].clone())
                .unwrap()
        };
        s.stack.sims.holded.add_fault(Fault {
            kind: FaultKind::RepeatPage,
            rate: None,
            next: Some(1),
            delay_ms: None,
            generation: None,
            route: Some("/contacts".into()),
        });
        let output = s.sync(&[]).await;
        assert!(output.contains("no terminó limpiamente"), "{output}");
        assert!(
            output.contains("No se marcó nada como eliminado"),
            "{output}"
        );
        assert_ne!(state_of_gone(&s), "eliminado_en_holded", "use_v1 {use_v1}");
        let store = s.stack.db.store().await;
        let warned = sync_run_object::Entity::find()
            .filter(sync_run_object::Column::ObjectKind.eq("contacts"))
            .filter(sync_run_object::Column::Warning.is_not_null())
            .all(store.db())
            .await
            .unwrap();
        assert_eq!(warned.len(), 1);
        let runs_page = s
            .stack
            .console_page(&format!("/portals/{}/runs", s.portal))
            .await;
        assert!(runs_page.contains("No se marcó nada como eliminado"));

        // The next clean scan marks it.
        s.sync(&[]).await;
        assert_eq!(state_of_gone(&s), "eliminado_en_holded", "use_v1 {use_v1}");
    }
}

#[tokio::test]
async fn a_lookup_on_an_account_that_ignores_the_filter_picks_the_right_contact_or_refuses_an_ambiguous_one()
 {
    let env = env(Setup {
        tier: Tier::Enterprise,
        sensitive: true,
        ..Default::default()
    })
    .await;
    seed_into(&env, 40, 0, 0);
    holded_settings(&env.stack.sims.holded, |s| s.ignore_contact_filters = true);
    let create = |name: &str, nif: Option<&str>, email: Option<&str>, is_person: bool| {
        let changes = ContactChanges {
            name: Some(name.into()),
            nif: nif.map(Into::into),
            email: email.map(Into::into),
            is_person: Some(is_person),
            ..Default::default()
        };
        let holded = env.holded.clone();
        async move { holded.create_contact(&changes).await }
    };
    create("Talleres Ruiz Soler SL", Some("B87654321"), None, false)
        .await
        .unwrap();
    let talleres = create("Talleres Ruiz, S.L.", Some("b-12.345.678"), None, false)
        .await
        .unwrap();
    let laura = create("Laura Gómez", None, Some("laura@gomez.es"), true)
        .await
        .unwrap();
    let laura_ruiz = create("Laura Gómez Ruiz", None, Some(" Laura@Gomez.ES"), true)
        .await
        .unwrap();

    // The NIF in its EU VAT form finds the one company with it, whatever Holded answered.
    let mut company = company("Talleres Ruiz SL");
    company.insert("holded_nif".into(), "ESB12345678".into());
    let (first, request) = env
        .created_through(DealSpec {
            name: "Revisión de la flota",
            doc_type: "estimate",
            associate: Some("company"),
            amount: Some("480"),
            company: Some(company),
            ..Default::default()
        })
        .await;
    assert_eq!(
        request.holded_contact_id.as_deref(),
        Some(talleres.as_str())
    );
    assert!(
        env.texts(first)
            .await
            .iter()
            .any(|t| t.contains("«Talleres Ruiz SL» encontrada en Holded por su NIF/CIF"))
    );

    // Two Holded persons share the email: the deal stops, naming both.
    let contacts_before = env.stack.sims.holded.contact_count(&env.account.account_id);
    let second = env.deal(DealSpec {
        name: "Consulta de interiorismo",
        doc_type: "proform",
        associate: Some("contact"),
        amount: Some("150"),
        contact: Some(person("Laura", "Gómez", "laura@gomez.es")),
        ..Default::default()
    });
    env.move_to_trigger(second, "proform");
    let failed = env.wait_state(second, "proform", &["failed"]).await;
    let message = failed.error.unwrap();
    for named in [
        "«Laura Gómez»",
        "«Laura Gómez Ruiz»",
        &laura,
        &laura_ruiz,
        "laura@gomez.es",
    ] {
        assert!(message.contains(named), "{named} in {message}");
    }
    assert!(
        message.starts_with("Hay 2 contactos en Holded con el mismo email"),
        "{message}"
    );
    assert_eq!(
        env.stack.sims.holded.contact_count(&env.account.account_id),
        contacts_before,
        "no contact created"
    );
    assert!(failed.holded_document_id.is_none());
    // The deal says so too (written right after the request failed).
    for _ in 0..50 {
        if env.record("deals", second)["properties"]["holded_estado_sync"] == "error" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the deal does not show the error");
}

#[tokio::test]
async fn on_v1_a_deal_finds_its_contact_in_the_last_night_index_without_scanning_every_contact() {
    let env = env(Setup {
        holded_v1: true,
        ..Default::default()
    })
    .await;
    seed_into(&env, 200, 0, 0);
    let existing = env
        .holded
        .create_contact(&ContactChanges {
            name: Some("Íñigo Etxeberria".into()),
            email: Some("inigo@etxeberria.eus".into()),
            is_person: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    // The nightly scan reads every contact (persons are not synced here, so
    // the deal's HubSpot contact is a new one with the same email).
    let out = env
        .stack
        .command(&[
            "sync",
            "--portal",
            &env.portal.to_string(),
            "--objects",
            "companies",
        ])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let list_calls = || {
        env.stack
            .sims
            .holded
            .stats()
            .count("GET", "/api/invoicing/v1/contacts")
    };
    let before = list_calls();
    let (_, request) = env
        .created_through(DealSpec {
            name: "Auditoría energética",
            doc_type: "proform",
            associate: Some("contact"),
            amount: Some("900"),
            contact: Some(person("Íñigo", "Etxeberria", "Inigo@Etxeberria.EUS")),
            ..Default::default()
        })
        .await;
    assert_eq!(
        request.holded_contact_id.as_deref(),
        Some(existing.as_str())
    );
    assert_eq!(
        list_calls(),
        before,
        "no list of every contact for one deal"
    );
}

/// Waits until the deal's request of `doc_type` carries an error.
async fn wait_error(
    env: &Env,
    deal: u64,
    doc_type: &str,
) -> holded_hubspot::store::entities::document_request::Model {
    for _ in 0..300 {
        if let Some(request) = env
            .requests(deal)
            .await
            .into_iter()
            .find(|r| r.document_type == doc_type && r.error.is_some())
        {
            return request;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deal {deal}: no error\n{}", env.stack.service.logs());
}

async fn settings_usage(env: &Env) -> Value {
    let res = env
        .stack
        .fetch(env.portal, Method::GET, "/api/settings", "")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["holdedUsage"].clone()
}

#[tokio::test]
async fn a_spent_monthly_quota_pauses_the_portal_with_the_message_in_the_console_and_the_settings_page()
 {
    let env = env(Setup::default()).await;
    seed_into(&env, 30, 3, 1);
    let sim = &env.stack.sims.holded;
    let account = env.account.account_id.clone();
    let limit = sim.monthly_usage(&account) + 6;
    holded_settings(sim, |s| s.monthly_limit = limit);

    // The run meets Holded's refusal mid-way: paused until next month, not retried.
    let out = env
        .stack
        .command(&["sync", "--portal", &env.portal.to_string()])
        .output()
        .await
        .unwrap();
    let text = output_text(&out);
    assert!(!out.status.success());
    assert!(
        text.contains("Pausada: Cuota mensual de la API de Holded agotada"),
        "{text}"
    );
    assert_eq!(
        sim.monthly_usage(&account),
        limit + 1,
        "one refused call, no retries"
    );
    let next_month = next_period_start(chrono::Utc::now());
    let store = env.stack.db.store().await;
    let portal = store.portal(env.portal).await.unwrap().unwrap();
    assert_eq!(portal.next_run_at, Some(next_month));

    let usage = settings_usage(&env).await;
    assert_eq!(
        usage["pausedUntil"],
        Value::String(next_month.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    let message = usage["message"].as_str().unwrap().to_owned();
    assert!(message.contains("en pausa hasta el 1 de"), "{message}");
    assert_eq!(usage["limit"], limit);
    let console = env
        .stack
        .console_page(&format!("/portals/{}/settings", env.portal))
        .await;
    assert!(console.contains(&message), "the console shows it");

    // A deal waits for next month without calling Holded.
    let deal = env.deal(DealSpec {
        name: "Mobiliario de oficina",
        doc_type: "invoice",
        associate: Some("company"),
        amount: Some("2400"),
        company: Some(company("Muebles Arrieta SL")),
        ..Default::default()
    });
    env.move_to_trigger(deal, "invoice");
    let waiting = wait_error(&env, deal, "invoice").await;
    assert_eq!(waiting.state, "pending");
    assert_eq!(waiting.error.as_deref(), Some(message.as_str()));
    assert_eq!(waiting.next_attempt_at, Some(next_month));
    assert_eq!(sim.monthly_usage(&account), limit + 1, "no Holded call");
    let (_, card) = env
        .card(Method::GET, &format!("/api/deals/{deal}"), "")
        .await;
    assert!(
        card_document(&card, "invoice")
            .to_string()
            .contains("Cuota mensual"),
        "{card}"
    );
}

#[tokio::test]
async fn when_holded_bills_beyond_the_quota_instead_of_refusing_the_portal_pauses_at_its_own_count()
{
    let mut env = env(Setup {
        holded_v1: true,
        ..Default::default()
    })
    .await;
    seed_into(&env, 30, 3, 1);
    holded_settings(&env.stack.sims.holded, |s| {
        s.quota_enforced = false;
        s.monthly_limit = 10;
    });
    env.nightly_sync().await;
    let account = env.account.account_id.clone();
    let used = env.stack.sims.holded.monthly_usage(&account);
    assert!(used > 10, "Holded served beyond its limit: {used}");

    // The operator's budget: just above what was used, so past 80 %.
    let budget = (used + 2).to_string();
    env.stack
        .restart_with(&[("HH_HOLDED_MONTHLY_QUOTA", budget.as_str())])
        .await;
    let usage = settings_usage(&env).await;
    assert_eq!(
        (usage["used"].as_u64(), usage["limit"].as_u64()),
        (Some(used), Some(used + 2))
    );
    assert_eq!(usage["countedByHolded"], false);
    assert!(
        usage["message"]
            .as_str()
            .unwrap()
            .starts_with("Aviso: se ha usado el"),
        "{usage}"
    );
    assert_eq!(usage["pausedUntil"], Value::Null);

    // The next run spends it on its first part and stops there.
    let out = env
        .stack
        .command(&["sync", "--portal", &env.portal.to_string()])
        .output()
        .await
        .unwrap();
    let text = output_text(&out);
    assert!(
        text.contains("Pausada: Cuota mensual de la API de Holded agotada"),
        "{text}"
    );
    assert_eq!(env.stack.sims.holded.monthly_usage(&account), used + 2);
    assert!(settings_usage(&env).await["pausedUntil"].is_string());
}

#[tokio::test]
async fn a_draft_approved_in_holded_gets_its_number_on_its_deal_and_a_lagging_list_deletes_nothing()
{
    let env = env(Setup::default()).await;
    let (deal, request) = env
        .created_through(DealSpec {
            name: "Carpintería a medida",
            doc_type: "invoice",
            associate: Some("company"),
            amount: Some("1000"),
            company: Some(company("Carpintería Olmedo SL")),
            ..Default::default()
        })
        .await;
    assert_eq!(
        request.holded_document_number, None,
        "a v2 draft has no number"
    );
    let document = request.holded_document_id.clone().unwrap();
    let approved = env
        .stack
        .sims
        .holded
        .approve_document(&env.account.account_id, &document)
        .unwrap();
    assert!(approved.number.starts_with('F'));

    // Holded's contact list lags: the company the deal flow created is not
    // in it yet, and is not taken as deleted.
    env.stack.sims.holded.add_fault(Fault {
        kind: FaultKind::ListLag,
        rate: None,
        next: None,
        delay_ms: Some(600_000),
        generation: None,
        route: Some("/contacts".into()),
    });
    env.nightly_sync().await;
    let properties = env.record("deals", deal)["properties"].clone();
    assert_eq!(properties["holded_numero_documento"], approved.number);
    assert_eq!(properties["holded_estado_sync"], "creado");
    assert_eq!(
        properties["dealname"], "Carpintería a medida",
        "the rep's deal stays theirs"
    );
    let request = env.wait_created(deal, "invoice").await;
    assert_eq!(
        request.holded_document_number.as_deref(),
        Some(approved.number.as_str())
    );
    let (_, card) = env
        .card(Method::GET, &format!("/api/deals/{deal}"), "")
        .await;
    assert!(
        card_document(&card, "invoice")
            .to_string()
            .contains(&approved.number),
        "{card}"
    );
    let companies = env.hubspot().dump(env.portal as u64).unwrap()["records"]["companies"].clone();
    let olmedo = companies
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["properties"]["name"] == "Carpintería Olmedo SL")
        .unwrap()
        .clone();
    assert_ne!(
        olmedo["properties"]["holded_estado_sync"],
        "eliminado_en_holded"
    );

    // Nothing changed: the next night does not write the deal again.
    let updates = || {
        env.hubspot()
            .stats()
            .by_endpoint
            .get("POST /crm/objects/2026-09/deals/batch/update")
            .copied()
            .unwrap_or(0)
    };
    let before = updates();
    env.nightly_sync().await;
    assert_eq!(updates(), before);
}
