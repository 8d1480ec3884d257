//! The deal's Activity timeline: notes ("Holded · …") by default, app events
//! when the event type's fully qualified name is configured and HubSpot takes
//! it, and notes again — after one refused call per portal — when it does not.

use std::{collections::BTreeMap, sync::Arc};

use holded_hubspot::{
    deals::{
        money::format_amount,
        timeline::{Channel, Step, Timeline, TimelineChannel},
    },
    hubspot::{Hubspot, HubspotConfig, MemoryTokenStore, Tokens},
    store::entities::timeline_entry,
};
use holded_hubspot_sim::{
    RunningSims,
    hubspot::{HubspotSim, NewPortal, SeedDeal},
};
use rust_decimal_macros::dec;
use sea_orm::EntityTrait;
use secrecy::SecretString;

use crate::support::{Engine, TestDb, sims};

fn step(deal_id: u64) -> Step {
    Step {
        deal_id: deal_id.to_string(),
        title: format!(
            "Presupuesto E260012 creado en Holded por {}",
            format_amount(dec!(1210), "EUR")
        ),
        detail: Some("Empresa: Reformas Bilbao SL".into()),
        link: Some("https://app.holded.com/sales/revenue/estimate/abc".into()),
        ok: true,
    }
}

/// A portal (app events approved or not) with a deal, a client and a store.
struct Portal {
    hubspot: HubspotSim,
    portal_id: u64,
    deal: u64,
    client: holded_hubspot::hubspot::PortalClient,
    store: holded_hubspot::store::Store,
    _db: TestDb,
}

async fn portal(sims: &RunningSims, approved: bool) -> Portal {
    let created = sims.hubspot.create_portal(NewPortal {
        app_events_approved: approved,
        ..Default::default()
    });
    let mut properties = BTreeMap::new();
    properties.insert("dealname".to_owned(), "Reforma".to_owned());
    properties.insert("pipeline".to_owned(), "default".to_owned());
    properties.insert("dealstage".to_owned(), "contractsent".to_owned());
    let deal = sims
        .hubspot
        .seed_deal(
            created.portal_id,
            SeedDeal {
                properties,
                line_items: vec![],
                company: None,
                contact: None,
            },
        )
        .unwrap()
        .deal_id;
    let hubspot = Hubspot::new(HubspotConfig::new(&sims.hubspot_url), None).unwrap();
    let client = hubspot.portal(
        created.portal_id,
        Arc::new(MemoryTokenStore::new(Tokens::fixed(SecretString::from(
            created.access_token,
        )))),
    );
    let db = TestDb::new(Engine::Sqlite).await;
    let store = db.store().await;
    holded_hubspot::store::Store::record_install(&store, created.portal_id as i64, &[], false)
        .await
        .unwrap();
    Portal {
        hubspot: sims.hubspot.clone(),
        portal_id: created.portal_id,
        deal,
        client,
        store,
        _db: db,
    }
}

impl Portal {
    async fn write(&self, channel: &TimelineChannel) -> Channel {
        Timeline {
            channel,
            client: &self.client,
            store: &self.store,
        }
        .write(&step(self.deal), None)
        .await
        .unwrap()
    }

    fn dump(&self) -> serde_json::Value {
        self.hubspot.dump(self.portal_id).unwrap()
    }

    async fn entries(&self) -> Vec<timeline_entry::Model> {
        timeline_entry::Entity::find()
            .all(self.store.db())
            .await
            .unwrap()
    }
}

/// Calls to the app events endpoint so far.
fn event_calls(hubspot: &HubspotSim) -> u64 {
    hubspot
        .stats()
        .by_endpoint
        .get("POST /integrators/timeline/2026-03/events/batch")
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn with_the_fully_qualified_name_steps_go_to_the_timeline_as_holded_events() {
    let sims = sims().await;
    let p = portal(&sims, true).await;
    let name = sims.hubspot.register_app_event_type("holded_deal_event");
    let channel = p.write(&TimelineChannel::new(Some(name))).await;
    assert_eq!(channel, Channel::AppEvent);
    let dump = p.dump();
    let events = dump["app_events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{dump}");
    assert_eq!(
        events[0]["properties"]["titulo"],
        "Presupuesto E260012 creado en Holded por 1.210,00 €"
    );
    assert!(dump["records"]["notes"].as_array().unwrap().is_empty());
    let entries = p.entries().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].channel, "app_event");
}

#[tokio::test]
async fn by_default_a_note_tells_the_step_and_app_events_are_never_tried() {
    let sims = sims().await;
    let p = portal(&sims, true).await;
    sims.hubspot.register_app_event_type("holded_deal_event");
    let channel = p.write(&TimelineChannel::default()).await;
    assert_eq!(channel, Channel::Note);
    assert_eq!(event_calls(&sims.hubspot), 0);
    let dump = p.dump();
    assert!(dump["app_events"].as_array().unwrap().is_empty());
    let notes = dump["records"]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    let body = notes[0]["properties"]["hs_note_body"].as_str().unwrap();
    assert!(
        body.starts_with("Holded · Presupuesto E260012 creado en Holded por 1.210,00 €"),
        "{body}"
    );
    assert!(body.contains("Abrir en Holded: https://app.holded.com/"));
    let note_id: u64 = notes[0]["id"].as_str().unwrap().parse().unwrap();
    let on_deal =
        dump["associations"].as_array().unwrap().iter().any(|a| {
            a["from_type"] == "notes" && a["from_id"] == note_id && a["to_type"] == "deals"
        });
    assert!(on_deal, "the note is on the deal");
    let entries = p.entries().await;
    assert_eq!(entries[0].channel, "note");
    assert_eq!(entries[0].hubspot_id.as_deref(), notes[0]["id"].as_str());
}

/// An operator who sets the event's uid (or a name never deployed), or a
/// portal whose app is not approved: each portal costs one refused call,
/// then every step is a note — until the service starts again.
#[tokio::test]
async fn refused_app_events_fall_back_to_notes_with_one_refused_call_per_portal() {
    let sims = sims().await;
    sims.hubspot.register_app_event_type("holded_deal_event");
    let approved = portal(&sims, true).await;
    let unapproved = portal(&sims, false).await;
    let channel = TimelineChannel::new(Some("holded_deal_event".into()));
    for p in [&approved, &unapproved] {
        for _ in 0..3 {
            assert_eq!(p.write(&channel).await, Channel::Note);
        }
        let notes = p.dump()["records"]["notes"].as_array().unwrap().len();
        assert_eq!(notes, 3, "every step is told");
        assert!(p.entries().await.iter().all(|e| e.channel == "note"));
    }
    assert_eq!(event_calls(&sims.hubspot), 2, "one refused call per portal");
    assert!(approved.dump()["app_events"].as_array().unwrap().is_empty());

    // After a restart (a new channel) the portal is tried once more.
    let restarted = TimelineChannel::new(Some("holded_deal_event".into()));
    assert_eq!(approved.write(&restarted).await, Channel::Note);
    assert_eq!(approved.write(&restarted).await, Channel::Note);
    assert_eq!(event_calls(&sims.hubspot), 3);
}
