//! The deal's Activity timeline in both modes: app events where the portal's
//! app has them approved, notes ("Holded · …") otherwise or when configured.

use std::{collections::BTreeMap, sync::Arc};

use holded_hubspot::{
    config::TimelineMode,
    deals::{
        money::format_amount,
        timeline::{Channel, Step, Timeline},
    },
    hubspot::{Hubspot, HubspotConfig, MemoryTokenStore, Tokens},
    store::entities::timeline_entry,
};
use holded_hubspot_sim::hubspot::{NewPortal, SeedDeal};
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

async fn write(
    approved: bool,
    mode: TimelineMode,
) -> (Channel, serde_json::Value, Vec<timeline_entry::Model>) {
    let sims = sims().await;
    let portal = sims.hubspot.create_portal(NewPortal {
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
            portal.portal_id,
            SeedDeal {
                properties,
                line_items: vec![],
                company: None,
                contact: None,
            },
        )
        .unwrap();
    let hubspot = Hubspot::new(HubspotConfig::new(&sims.hubspot_url), None).unwrap();
    let client = hubspot.portal(
        portal.portal_id,
        Arc::new(MemoryTokenStore::new(Tokens::fixed(SecretString::from(
            portal.access_token,
        )))),
    );
    let db = TestDb::new(Engine::Sqlite).await;
    let store = db.store().await;
    holded_hubspot::store::Store::record_install(&store, portal.portal_id as i64, &[], false)
        .await
        .unwrap();
    let timeline = Timeline {
        mode,
        client: &client,
        store: &store,
    };
    let channel = timeline.write(&step(deal.deal_id), None).await.unwrap();
    let dump = sims.hubspot.dump(portal.portal_id).unwrap();
    let entries = timeline_entry::Entity::find()
        .all(store.db())
        .await
        .unwrap();
    (channel, dump, entries)
}

#[tokio::test]
async fn approved_app_events_go_to_the_timeline_as_holded_events() {
    let (channel, dump, entries) = write(true, TimelineMode::AppEvents).await;
    assert_eq!(channel, Channel::AppEvent);
    let events = dump["app_events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{dump}");
    assert_eq!(
        events[0]["properties"]["titulo"],
        "Presupuesto E260012 creado en Holded por 1.210,00 €"
    );
    assert!(dump["records"]["notes"].as_array().unwrap().is_empty());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].channel, "app_event");
}

#[tokio::test]
async fn without_approval_or_in_notes_mode_a_note_tells_the_same_step() {
    for (approved, mode) in [
        (false, TimelineMode::AppEvents),
        (true, TimelineMode::Notes),
    ] {
        let (channel, dump, entries) = write(approved, mode).await;
        assert_eq!(channel, Channel::Note, "{approved} {mode:?}");
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
        let on_deal = dump["associations"].as_array().unwrap().iter().any(|a| {
            a["from_type"] == "notes" && a["from_id"] == note_id && a["to_type"] == "deals"
        });
        assert!(on_deal, "the note is on the deal");
        assert_eq!(entries[0].channel, "note");
        assert_eq!(entries[0].hubspot_id.as_deref(), notes[0]["id"].as_str());
    }
}
