//! A contact's privacy deletion in HubSpot, and an uninstall: what the
//! service keeps is erased (or kept for its grace period), Holded is never
//! touched, and nothing comes back on its own.

use std::time::Duration;

use holded_hubspot::store::{
    RequestTrigger,
    entities::{audit_log, document_request, holded_webhook, record_link, settings},
};
use holded_hubspot_sim::{holded::seed::SeedSpec, hubspot::model::Tier};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{Engine, Stack, settings_body};

/// A portal whose nightly sync brought a Spanish company's people into HubSpot.
async fn synced() -> (Stack, i64, String) {
    let stack = Stack::start(Engine::Sqlite, &[]).await;
    let (portal, _) = stack.install(Tier::Pro).await;
    let account = stack.sims.holded.create_account(None);
    stack
        .sims
        .holded
        .seed(&SeedSpec {
            account_id: account.account_id.clone(),
            seed: 11,
            contacts: 12,
            products: 0,
            documents_per_type: 0,
        })
        .unwrap();
    stack
        .save_settings(
            portal,
            &settings_body(Some(&account.v2_token), &[], false, false),
        )
        .await;
    let out = stack
        .command(&["sync", "--portal", &portal.to_string()])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        crate::support::output_text(&out)
    );
    (stack, portal, account.account_id)
}

async fn person_links(stack: &Stack, portal: i64) -> Vec<record_link::Model> {
    let store = stack.db.store().await;
    record_link::Entity::find()
        .filter(record_link::Column::PortalId.eq(portal))
        .filter(record_link::Column::ObjectKind.eq("contacts"))
        .all(store.db())
        .await
        .unwrap()
}

fn hubspot_contacts_with_holded_id(stack: &Stack, portal: i64, holded_id: &str) -> usize {
    stack.sims.hubspot.dump(portal as u64).unwrap()["records"]["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["properties"]["holded_id"] == holded_id)
        .count()
}

#[tokio::test]
async fn a_privacy_deletion_erases_what_we_keep_of_that_contact_and_nothing_else() {
    let (stack, portal, account) = synced().await;
    let links = person_links(&stack, portal).await;
    assert!(links.len() >= 2, "{links:?}");
    let (erased, kept) = (&links[0], &links[1]);
    let contact: u64 = erased.hubspot_id.as_deref().unwrap().parse().unwrap();
    let holded_before = stack.sims.holded.contacts(&account).len();
    let holded_writes = || -> u64 {
        stack
            .sims
            .holded
            .stats()
            .requests
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| r.count)
            .sum()
    };
    let writes_before = holded_writes();

    // A user permanently deletes the contact in HubSpot (twice delivered).
    stack
        .sims
        .hubspot
        .set_webhook_faults(holded_hubspot_sim::hubspot::WebhookFaults {
            duplicate_next: 1,
            reorder_next: 0,
        });
    stack
        .sims
        .hubspot
        .gdpr_delete_contact(portal as u64, contact)
        .unwrap();
    let store = stack.db.store().await;
    let audited = || async {
        audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq("privacy.contact_erased"))
            .all(store.db())
            .await
            .unwrap()
    };
    for _ in 0..100 {
        if !audited().await.is_empty() && stack.sims.hubspot.deliveries().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let audits = audited().await;
    assert_eq!(audits.len(), 1, "audited once: {audits:?}");
    assert!(audits[0].details.contains(&contact.to_string()));

    let after = person_links(&stack, portal).await;
    let tombstone = after.iter().find(|l| l.id == erased.id).unwrap();
    assert_eq!(tombstone.hubspot_id, None);
    assert_eq!(tombstone.content_hash, None);
    assert!(tombstone.erased_at.is_some());
    let other = after.iter().find(|l| l.id == kept.id).unwrap();
    assert_eq!(other, kept, "the other contact's link is untouched");
    // Holded is never touched.
    assert_eq!(stack.sims.holded.contacts(&account).len(), holded_before);
    assert_eq!(holded_writes(), writes_before);

    // The next nightly run does not bring the person back.
    let out = stack
        .command(&["sync", "--portal", &portal.to_string()])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        crate::support::output_text(&out)
    );
    assert_eq!(
        hubspot_contacts_with_holded_id(&stack, portal, &erased.holded_id),
        0
    );
    assert_eq!(
        hubspot_contacts_with_holded_id(&stack, portal, &kept.holded_id),
        1
    );
}

#[tokio::test]
async fn an_uninstall_stops_the_portal_drops_its_tokens_and_keeps_its_settings_for_a_while() {
    let (mut stack, portal, _) = synced().await;
    let store = stack.db.store().await;
    let open = store
        .open_document_request(portal, "777", "invoice", RequestTrigger::Stage)
        .await
        .unwrap();
    assert!(
        store
            .portal(portal)
            .await
            .unwrap()
            .unwrap()
            .next_run_at
            .is_some()
    );

    // The admin uninstalls the app; the next HubSpot call finds out.
    stack.sims.hubspot.uninstall(portal as u64);
    let (status, _) = {
        let res = stack
            .fetch(portal, Method::GET, "/api/deals/777", "")
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), ())
    };
    assert_ne!(status, 200);
    let row = store.portal(portal).await.unwrap().unwrap();
    assert_eq!(row.status, "disconnected");
    assert!(row.uninstalled_at.is_some());
    assert_eq!(row.access_token_enc, None, "tokens dropped");
    assert_eq!(row.refresh_token_enc, None);
    assert_eq!(row.next_run_at, None, "no more nightly runs");
    let request = document_request::Entity::find_by_id(open.id)
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.state, "failed");
    assert!(request.error.unwrap().contains("desinstaló"));
    // The settings are kept (a re-install finds them), and the console says
    // until when.
    assert!(
        settings::Entity::find_by_id(portal)
            .one(store.db())
            .await
            .unwrap()
            .unwrap()
            .holded_key_enc
            .is_some()
    );
    let page = console_portals(&stack).await;
    assert!(page.contains("Desinstalada el"), "{page}");

    // Within the grace period nothing is erased; after it, settings and links are,
    // and the Holded webhook with its sealed signing secret.
    store.holded_webhook(portal).await.unwrap();
    store
        .save_holded_webhook_secret(portal, "hh1.sealed-for-the-test".to_owned())
        .await
        .unwrap();
    let now = chrono::Utc::now();
    store
        .prune_journals(now + chrono::Duration::days(29), chrono::Duration::days(30))
        .await
        .unwrap();
    assert!(
        settings::Entity::find_by_id(portal)
            .one(store.db())
            .await
            .unwrap()
            .is_some()
    );
    let pruned = store
        .prune_journals(now + chrono::Duration::days(31), chrono::Duration::days(30))
        .await
        .unwrap();
    assert_eq!(pruned.uninstalled_portals, 1);
    assert!(
        settings::Entity::find_by_id(portal)
            .one(store.db())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        record_link::Entity::find()
            .filter(record_link::Column::PortalId.eq(portal))
            .count(store.db())
            .await
            .unwrap(),
        0
    );
    assert!(
        holded_webhook::Entity::find_by_id(portal)
            .one(store.db())
            .await
            .unwrap()
            .is_none()
    );

    // Installing again brings the portal back.
    stack.install_again(portal as u64).await;
    let row = store.portal(portal).await.unwrap().unwrap();
    assert_eq!(row.status, "connected");
    assert_eq!(row.uninstalled_at, None);
    stack.restart_with(&[]).await;
}

/// The console's portal list, signed in with the admin token.
async fn console_portals(stack: &Stack) -> String {
    let client = crate::support::no_redirects();
    let login = client
        .post(format!("{}/console/login", stack.service.url))
        .form(&[("token", crate::support::ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    client
        .get(format!("{}/console", stack.service.url))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
