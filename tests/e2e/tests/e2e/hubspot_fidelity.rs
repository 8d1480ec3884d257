//! The HubSpot simulator is as harsh as HubSpot where issue 15 found it
//! kinder: each contract names its source (the project's API reference, a
//! published spec, or the public evidence the issue cites). Where sources
//! disagree the default is the harsher reading, and the setting that gives the
//! other reading is exercised too.

use std::time::Duration;

use chrono::Utc;
use holded_hubspot::hubspot::{
    CreateInput, HubspotError, ObjectType, UpdateInput, UpsertInput, search_in::AnyOf,
    timeline::AppEvent,
};
use holded_hubspot_sim::{
    RunningSims,
    hubspot::{NewPortal, SeedDeal, Settings, model::ObjType, model::Tier},
};
use serde_json::{Value, json};

use crate::hubspot_contract::{
    APP_ID, app_config, contacts_with_unique_holded_id, get_as, hubspot, install, post_as, props,
    quick_retry, setup,
};

/// Ten Spanish customers, keyed by Holded id.
fn clientes() -> Vec<UpsertInput> {
    [
        (
            "Lucía",
            "Fernández Ruiz",
            "lucia.fernandez@reformasbilbao.es",
        ),
        ("Íñigo", "Etxeberria", "inigo@etxeberria-asesores.eus"),
        ("María José", "Núñez Peña", "mj.nunez@clinicadentalnunez.es"),
        ("Jordi", "Puig i Soler", "jordi.puig@puigsoler.cat"),
        ("Ana", "García", "roto@@ejemplo"),
        ("Begoña", "Arrieta", "begona.arrieta@gmail.com"),
        ("José Luis", "Martín Gómez", "jlmartin@hotmail.es"),
        ("Nuria", "Castells", "nuria@castells-arquitectura.com"),
        ("Álvaro", "Domínguez", "alvaro.dominguez@yahoo.es"),
        ("Rocío", "Ibáñez Soto", "rocio.ibanez@ibanezsoto.es"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (first, last, email))| {
        UpsertInput::new(
            "holded_id",
            format!("6650a1f0c2e4b{i:03}"),
            props(&[("firstname", first), ("lastname", last), ("email", email)]),
        )
    })
    .collect()
}

/// Source: issue 15 (integrators report HubSpot discarding a whole batch
/// upsert/update for one invalid value, `Email address … is invalid`, 400
/// `VALIDATION_ERROR`), DESIGN §5, and the reference §1.3 (per-record 207 is
/// reliable only for batch create with an `objectWriteTraceId` on every
/// input). The reference's table lists 207 for upsert and update: that reading
/// is the `multi_status_upserts` setting (see `hubspot_contract`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_input_refuses_a_whole_batch_upsert_or_update_but_not_a_traced_create() {
    let (sims, _hub, portal, portal_id, token) = setup(Tier::Pro, false).await;
    contacts_with_unique_holded_id(&portal).await;
    let inputs = clientes();
    assert!(
        inputs.iter().all(|i| !i.trace_id.is_empty()),
        "every input traced"
    );

    let err = portal
        .batch_upsert(ObjectType::Contacts, &inputs)
        .await
        .expect_err("one bad email refuses the batch");
    match &err {
        HubspotError::Validation {
            property, message, ..
        } => {
            assert_eq!(property.as_deref(), Some("email"), "{err:?}");
            assert!(
                message.contains("Email address roto@@ejemplo is invalid"),
                "the message names the bad value: {message}"
            );
        }
        other => panic!("expected a 400 VALIDATION_ERROR, got {other:?}"),
    }
    let dump = sims.hubspot.dump(portal_id).expect("dump");
    assert_eq!(
        dump["records"]["contacts"].as_array().map(Vec::len),
        Some(0),
        "nothing written"
    );

    // Without the bad input the nine land; then an update with one bad value
    // is refused whole as well, and changes nothing.
    let good: Vec<UpsertInput> = inputs
        .iter()
        .filter(|i| i.id != inputs[4].id)
        .cloned()
        .collect();
    let landed = portal
        .batch_upsert(ObjectType::Contacts, &good)
        .await
        .expect("nine good inputs");
    assert_eq!(landed.results.len(), 9);
    let mut updates: Vec<UpdateInput> = landed
        .results
        .iter()
        .map(|r| UpdateInput::new(r.id.clone(), props(&[("city", "Bilbao")])))
        .collect();
    updates[3]
        .properties
        .insert("email".into(), "jordi.puig@@puigsoler".into());
    let err = portal
        .batch_update(ObjectType::Contacts, &updates)
        .await
        .expect_err("one bad email refuses the update");
    assert!(
        matches!(&err, HubspotError::Validation { message, .. } if message.contains("Email address jordi.puig@@puigsoler is invalid")),
        "{err:?}"
    );
    let (_, read) = get_as(
        format!(
            "{}/crm/objects/2026-09/contacts/{}?properties=city",
            sims.hubspot_url, landed.results[0].id
        ),
        &token,
    )
    .await;
    assert_eq!(read["properties"]["city"], Value::Null, "no update applied");

    // Batch create with a trace id on every input keeps per-record errors.
    let creates: Vec<CreateInput> = [
        ("Pilar", "pilar.sanz@sanzabogados.es"),
        ("Óscar", "oscar@@roto"),
    ]
    .iter()
    .map(|(name, email)| CreateInput::new(props(&[("firstname", name), ("email", email)])))
    .collect();
    let outcome = portal
        .batch_create(ObjectType::Contacts, &creates)
        .await
        .expect("207");
    assert_eq!(outcome.results.len(), 1);
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].trace_ids, [creates[1].trace_id.clone()]);

    // The raw answer: 400, HubSpot's error body, no per-record `errors` list.
    let (status, body) = post_as(
        format!(
            "{}/crm/objects/2026-09/contacts/batch/upsert",
            sims.hubspot_url
        ),
        &token,
        json!({"inputs": [
            {"id": "6650a1f0c2e4bf01", "idProperty": "holded_id", "objectWriteTraceId": "t1",
             "properties": {"email": "eva.lopez@lopezyasociados.es"}},
            {"id": "6650a1f0c2e4bf02", "idProperty": "holded_id", "objectWriteTraceId": "t2",
             "properties": {"email": "roto@@ejemplo"}}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["category"], "VALIDATION_ERROR");
    assert!(body.get("numErrors").is_none() && body.get("results").is_none());
    sims.stop().await;
}

/// The 207 reading, switched on: the same batch lands nine and reports one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_multi_status_setting_gives_the_references_207_for_upserts() {
    let (sims, _hub, portal, _portal_id, _token) = setup(Tier::Pro, false).await;
    sims.hubspot.set_settings(Settings {
        multi_status_upserts: true,
        ..Settings::default()
    });
    contacts_with_unique_holded_id(&portal).await;
    let inputs = clientes();
    let outcome = portal
        .batch_upsert(ObjectType::Contacts, &inputs)
        .await
        .expect("207");
    assert_eq!(outcome.results.len(), 9);
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].trace_ids, [inputs[4].trace_id.clone()]);
    sims.stop().await;
}

fn occurrence(event_type: &str, id: &str, deal: &str) -> AppEvent {
    AppEvent {
        event_type_name: event_type.to_owned(),
        id: id.to_owned(),
        object_id: deal.to_owned(),
        timestamp: Utc::now(),
        properties: [(
            "titulo".to_owned(),
            "Presupuesto E260012 creado en Holded por 1.210,00 €".to_owned(),
        )]
        .into(),
    }
}

/// Source: the reference §6.2 and the 2026-03 timeline spec
/// (`AppEventOccurrence.eventTypeName` is the type's fullyQualifiedName,
/// which HubSpot assigns when the project's app event is deployed; a batch
/// with one invalid occurrence is "rejected, none were accepted"). HubSpot's
/// newer "Send event occurrences" page also allows the `uid`: that reading is
/// the `app_event_uids` setting, off by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_events_need_the_fully_qualified_name_of_a_deployed_event_type() {
    let (sims, _hub, portal, portal_id, _token) = setup(Tier::Pro, true).await;
    let deal = sims
        .hubspot
        .seed_deal(
            portal_id,
            SeedDeal {
                properties: [(
                    "dealname".to_owned(),
                    "Reforma cocina Etxeberria".to_owned(),
                )]
                .into(),
                ..SeedDeal::default()
            },
        )
        .expect("deal")
        .deal_id
        .to_string();
    let dump_events = || sims.hubspot.dump(portal_id).expect("dump")["app_events"].clone();

    // No event type deployed yet: the uid is not a name HubSpot knows.
    let err = portal
        .send_app_events(&[occurrence("holded_deal_event", "e1", &deal)])
        .await
        .expect_err("unknown event type");
    assert!(
        matches!(&err, HubspotError::Validation { message, .. } if message.contains("holded_deal_event")),
        "a 4xx naming the type: {err:?}"
    );
    let name = sims.hubspot.register_app_event_type("holded_deal_event");
    assert_ne!(name, "holded_deal_event");
    let err = portal
        .send_app_events(&[occurrence("holded_deal_event", "e1", &deal)])
        .await
        .expect_err("the uid is still not the fully qualified name");
    assert!(matches!(err, HubspotError::Validation { .. }), "{err:?}");

    // One bad occurrence: none of the batch is stored.
    let err = portal
        .send_app_events(&[
            occurrence(&name, "e1", &deal),
            occurrence("ae0_otra-app", "e2", &deal),
        ])
        .await
        .expect_err("one unknown type");
    assert!(matches!(err, HubspotError::Validation { .. }), "{err:?}");
    assert_eq!(dump_events(), json!([]));

    assert_eq!(
        portal
            .send_app_events(&[occurrence(&name, "e1", &deal)])
            .await
            .expect("the fully qualified name"),
        1
    );

    // The other reading: the uid is accepted too.
    sims.hubspot.set_settings(Settings {
        app_event_uids: true,
        ..Settings::default()
    });
    portal
        .send_app_events(&[occurrence("holded_deal_event", "e3", &deal)])
        .await
        .expect("uid accepted under app_event_uids");
    assert_eq!(dump_events().as_array().map(Vec::len), Some(2));
    sims.stop().await;
}

/// Source: the 2026-09 properties spec (`dataSensitivity` on
/// `GET /crm/properties/2026-09/{objectType}` and on
/// `…/{objectType}/{propertyName}`, default `non_sensitive`) and the
/// reference §2: a sensitive property is read only when asked for with
/// `dataSensitivity=sensitive`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_properties_are_read_only_with_data_sensitivity_sensitive() {
    let (sims, _hub, _portal, _portal_id, _) = setup(Tier::Pro, false).await;
    let enterprise = sims.hubspot.create_portal(NewPortal {
        tier: Tier::Enterprise,
        ..Default::default()
    });
    let token = enterprise.access_token;
    let base = format!("{}/crm/properties/2026-09/companies", sims.hubspot_url);
    let (status, body) = post_as(
        base.clone(),
        &token,
        json!({"name": "holded_nif", "label": "NIF/CIF (Holded)", "type": "string", "fieldType": "text",
               "groupName": "companyinformation", "dataSensitivity": "sensitive"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = get_as(format!("{base}/holded_nif"), &token).await;
    assert_eq!(status, 404, "not a non-sensitive property");
    let (status, read) = get_as(
        format!("{base}/holded_nif?dataSensitivity=sensitive"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["dataSensitivity"], "sensitive");
    let names = |list: &Value| -> Vec<String> {
        list["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    };
    let (_, plain) = get_as(base.clone(), &token).await;
    assert!(!names(&plain).contains(&"holded_nif".to_owned()));
    let (_, sensitive) = get_as(format!("{base}?dataSensitivity=sensitive"), &token).await;
    assert_eq!(names(&sensitive), ["holded_nif"]);
    sims.stop().await;
}

/// Source: HubSpot's changelog "CRM API write validation enforcement" (the
/// reference §0.2 item 1 and §11 item 10): from `/2026-09/`, properties an
/// admin made required on the create form refuse creates without them (400
/// `VALIDATION_ERROR`); updates of existing records and the legacy `/crm/v3`
/// paths are not concerned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_properties_refuse_2026_09_creates_without_them() {
    let (sims, _hub, portal, portal_id, token) = setup(Tier::Pro, false).await;
    contacts_with_unique_holded_id(&portal).await;
    sims.hubspot
        .set_required_properties(portal_id, ObjType::Contacts, vec!["hs_legal_basis".into()])
        .expect("required");
    let existing = sims
        .hubspot
        .seed_records(
            portal_id,
            ObjType::Contacts,
            vec![
                [
                    (
                        "email".to_owned(),
                        "carmen.vidal@vidalabogados.es".to_owned(),
                    ),
                    ("holded_id".to_owned(), "6650a1f0c2e4b0ff".to_owned()),
                ]
                .into(),
            ],
        )
        .expect("seed")[0];

    // A batch upsert that would create one: refused whole, naming the property.
    let inputs = [
        UpsertInput::new(
            "holded_id",
            "6650a1f0c2e4b0ff",
            props(&[("city", "Valencia")]),
        ),
        UpsertInput::new(
            "holded_id",
            "6650a1f0c2e4b100",
            props(&[("email", "pau.ferrer@ferrerifills.cat")]),
        ),
    ];
    let err = portal
        .batch_upsert(ObjectType::Contacts, &inputs)
        .await
        .expect_err("a create without the required property");
    assert!(
        matches!(&err, HubspotError::Validation { property: Some(p), .. } if p == "hs_legal_basis")
            && err.required_property() == Some("hs_legal_basis"),
        "{err:?}"
    );
    // The update alone is fine; traced creates fail one by one.
    portal
        .batch_upsert(ObjectType::Contacts, &inputs[..1])
        .await
        .expect("an update needs no create-form property");
    let creates = [
        CreateInput::new(props(&[("email", "pau.ferrer@ferrerifills.cat")])),
        CreateInput::new(props(&[
            ("email", "nerea.goikoetxea@gmail.com"),
            ("hs_legal_basis", "Legitimate interest – existing customer"),
        ])),
    ];
    let outcome = portal
        .batch_create(ObjectType::Contacts, &creates)
        .await
        .expect("207");
    assert_eq!((outcome.results.len(), outcome.errors.len()), (1, 1));
    assert_eq!(
        outcome.errors[0].error.required_property(),
        Some("hs_legal_basis")
    );
    // The legacy family does not enforce it.
    let (status, _) = post_as(
        format!("{}/crm/v3/objects/contacts", sims.hubspot_url),
        &token,
        json!({"properties": {"email": "pau.ferrer@ferrerifills.cat"}}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, read) = get_as(
        format!(
            "{}/crm/objects/2026-09/contacts/{existing}?properties=city",
            sims.hubspot_url
        ),
        &token,
    )
    .await;
    assert_eq!(read["properties"]["city"], "Valencia");
    sims.stop().await;
}

/// The events delivered (or attempted) so far, flattened.
fn delivered(sims: &RunningSims) -> Vec<Value> {
    let mut events: Vec<Value> = sims
        .hubspot
        .deliveries()
        .into_iter()
        .filter(|d| d.attempt == 0)
        .flat_map(|d| d.events)
        .collect();
    events.sort_by_key(|e| e["eventId"].as_u64());
    events
}

async fn wait_delivered(sims: &RunningSims, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        if delivered(sims).len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    delivered(sims)
}

/// Source: the app's own subscriptions
/// (`hubspot-app/src/app/webhooks/webhooks-hsmeta.json`: `object.propertyChange`
/// on deals' `dealstage` in `crmObjects`, `contact.privacyDeletion` in
/// `hubEvents`), HubSpot's changelog "Public Beta: Generic Webhook
/// Subscriptions" (generic events carry `objectTypeId`, e.g. `0-3`) and the
/// reference §5.1–5.2 (subscriptions apply to every *installing* account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_carry_what_the_app_subscribes_to_and_only_for_installed_portals() {
    let sims = crate::support::sims().await;
    // Nobody listens there: the simulator records each attempt all the same.
    sims.hubspot.register_app(app_config(Some(
        "http://127.0.0.1:9/webhooks/hubspot".into(),
    )));
    let stranger = sims.hubspot.create_portal(NewPortal::default());
    let customer = sims.hubspot.create_portal(NewPortal::default());
    let hub = hubspot(&sims, quick_retry());
    install(&hub).await;
    let deal = |portal: u64, name: &str| {
        sims.hubspot
            .seed_deal(
                portal,
                SeedDeal {
                    properties: [
                        ("dealname".to_owned(), name.to_owned()),
                        ("dealstage".to_owned(), "appointmentscheduled".to_owned()),
                    ]
                    .into(),
                    ..SeedDeal::default()
                },
            )
            .expect("deal")
            .deal_id
    };
    let theirs = deal(stranger.portal_id, "Obra ajena");
    let ours = deal(customer.portal_id, "Reforma baño Triana");
    sims.hubspot
        .move_deal(stranger.portal_id, theirs, "closedwon")
        .expect("move");
    sims.hubspot
        .move_deal(customer.portal_id, ours, "closedwon")
        .expect("move");
    let events = wait_delivered(&sims, 1).await;
    assert_eq!(events.len(), 1, "only the installed portal: {events:?}");
    let event = &events[0];
    assert_eq!(event["portalId"], json!(customer.portal_id));
    assert_eq!(event["subscriptionType"], "object.propertyChange");
    assert_eq!(event["objectTypeId"], "0-3");
    assert_eq!(event["objectId"], json!(ours));
    assert_eq!(event["propertyName"], "dealstage");
    assert_eq!(event["propertyValue"], "closedwon");
    assert_eq!(event["appId"], json!(APP_ID));

    // A legacy subscription gets the legacy shape, without objectTypeId.
    sims.hubspot
        .set_webhook_subscriptions(&json!({"uid": "webhooks", "type": "webhooks", "config": {
            "subscriptions": {"legacyCrmObjects": [
                {"subscriptionType": "deal.propertyChange", "propertyName": "dealstage", "active": true}]}}}))
        .expect("subscriptions");
    sims.hubspot
        .move_deal(customer.portal_id, ours, "contractsent")
        .expect("move");
    let events = wait_delivered(&sims, 2).await;
    assert_eq!(events[1]["subscriptionType"], "deal.propertyChange");
    assert!(events[1].get("objectTypeId").is_none());

    // Privacy deletions only where installed, and nothing after an uninstall.
    sims.hubspot
        .set_webhook_subscriptions(
            &serde_json::from_str(include_str!(
                "../../../../hubspot-app/src/app/webhooks/webhooks-hsmeta.json"
            ))
            .expect("hsmeta"),
        )
        .expect("subscriptions");
    let contact = |portal: u64| {
        sims.hubspot
            .seed_records(
                portal,
                ObjType::Contacts,
                vec![[("email".to_owned(), "irene.lozano@gmail.com".to_owned())].into()],
            )
            .expect("contact")[0]
    };
    let (mine, other) = (contact(customer.portal_id), contact(stranger.portal_id));
    sims.hubspot
        .gdpr_delete_contact(stranger.portal_id, other)
        .expect("erase");
    sims.hubspot
        .gdpr_delete_contact(customer.portal_id, mine)
        .expect("erase");
    let events = wait_delivered(&sims, 3).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[2]["subscriptionType"], "contact.privacyDeletion");
    assert_eq!(events[2]["portalId"], json!(customer.portal_id));
    sims.hubspot.uninstall(customer.portal_id);
    sims.hubspot
        .move_deal(customer.portal_id, ours, "closedlost")
        .expect("move");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(delivered(&sims).len(), 3, "nothing for an uninstalled app");
    sims.stop().await;
}

/// 100 Spanish company domains, as one batch of the sync brings.
fn dominios() -> Vec<String> {
    let oficios = [
        "reformas-integrales",
        "asesoria-fiscal",
        "clinica-dental",
        "talleres-mecanicos",
        "distribuciones",
        "construcciones",
        "fisioterapia",
        "carpinteria-metalica",
        "hosteleria",
        "transportes-frigorificos",
    ];
    let lugares = [
        "alcala-de-guadaira",
        "sanlucar-de-barrameda",
        "villanueva-de-la-serena",
        "torrejon-de-ardoz",
        "san-sebastian-de-los-reyes",
        "pozuelo-de-alarcon",
        "las-palmas",
        "santa-cruz-de-tenerife",
        "vilanova-i-la-geltru",
        "castello-de-la-plana",
    ];
    (0..100)
        .map(|i| format!("{}-{}.es", oficios[i % 10], lugares[i / 10]))
        .collect()
}

/// Source: the reference §1.5 (search bodies ≤ 3,000 characters → else 400;
/// 5 filter groups × 6 filters, 18 in all — the search guide). HubSpot's
/// August 2024 changelog announced 10 filters a group and 25 in all: that
/// reading is the `wide_search_filters` setting, off by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_over_3000_characters_or_the_filter_limits_are_refused() {
    let (sims, _hub, portal, portal_id, token) = setup(Tier::Pro, false).await;
    sims.hubspot.set_settings(Settings {
        index_lag_ms: 0,
        ..Settings::default()
    });
    let domains = dominios();
    sims.hubspot
        .seed_records(
            portal_id,
            ObjType::Companies,
            domains
                .iter()
                .step_by(10)
                .map(|d| [("domain".to_owned(), d.clone())].into())
                .collect(),
        )
        .expect("seed");
    let url = format!("{}/crm/objects/2026-09/companies/search", sims.hubspot_url);
    let in_filter =
        |values: &[String]| json!({"propertyName": "domain", "operator": "IN", "values": values});
    let everything = json!({"filterGroups": [{"filters": [in_filter(&domains)]}], "limit": 200});
    assert!(everything.to_string().len() > 3_000);
    let (status, body) = post_as(url.clone(), &token, everything).await;
    assert_eq!(
        (status, &body["category"]),
        (400, &json!("VALIDATION_ERROR")),
        "{body}"
    );

    // Spread over several searches, each within the limits, they find the ten.
    let found = portal
        .search_any_of(
            ObjectType::Companies,
            &[AnyOf {
                property: "domain".into(),
                values: domains.clone(),
            }],
            &[],
            &["domain"],
        )
        .await
        .expect("split searches");
    assert_eq!(found.len(), 10);

    let filter = json!({"propertyName": "domain", "operator": "HAS_PROPERTY"});
    let wide = json!({"filterGroups": vec![json!({"filters": vec![filter; 8]}); 3]});
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, _) = post_as(url.clone(), &token, wide.clone()).await;
    assert_eq!(status, 400, "8 filters in a group, 24 in all");
    sims.hubspot.set_settings(Settings {
        index_lag_ms: 0,
        wide_search_filters: true,
        ..Settings::default()
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = post_as(url, &token, wide).await;
    assert_eq!(status, 200, "the changelog's reading: {body}");
    sims.stop().await;
}
