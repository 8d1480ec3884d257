//! Leases judged by one clock: the portal's sync lock has an owner and a
//! heartbeat, a document request's lease and fence are the database's, and a
//! worker whose lease ran out can neither renew it nor write under it.

use chrono::Utc;
use holded_hubspot::store::{
    RequestTrigger, Store,
    entities::{document_request, portal},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};

use crate::support::{Engine, TestDb};

async fn portal(store: &Store, id: i64) {
    let now = Utc::now();
    portal::ActiveModel {
        id: Set(id),
        time_zone: Set("Europe/Madrid".into()),
        status: Set("connected".into()),
        created_at: Set(now),
        updated_at: Set(now),
        sensitive_supported: Set(false),
        ..Default::default()
    }
    .insert(store.db())
    .await
    .unwrap();
}

/// Moves a lease into the past, as if its holder had stalled beyond it.
async fn expire_sync_lock(store: &Store, id: i64) {
    let mut row = portal::Entity::find_by_id(id)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.sync_lock_until = Set(Some(Utc::now() - chrono::Duration::minutes(5)));
    row.update(store.db()).await.unwrap();
}

async fn sync_lock_has_an_owner(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    portal(&store, 41).await;
    assert!(store.lock_portal_sync(41, "run-a").await.unwrap());
    assert!(
        !store.lock_portal_sync(41, "run-b").await.unwrap(),
        "a live lock holds"
    );
    assert!(!store.renew_portal_sync(41, "run-b").await.unwrap());
    store.unlock_portal_sync(41, "run-b").await.unwrap();
    assert!(
        store.renew_portal_sync(41, "run-a").await.unwrap(),
        "another run cannot release it"
    );
    // Run A stalls beyond its lease: B takes over, and A can neither renew
    // nor release B's lock.
    expire_sync_lock(&store, 41).await;
    assert!(store.lock_portal_sync(41, "run-b").await.unwrap());
    assert!(!store.renew_portal_sync(41, "run-a").await.unwrap());
    store.unlock_portal_sync(41, "run-a").await.unwrap();
    assert!(
        !store.lock_portal_sync(41, "run-c").await.unwrap(),
        "B still holds it"
    );
    store.unlock_portal_sync(41, "run-b").await.unwrap();
    assert!(store.lock_portal_sync(41, "run-c").await.unwrap());
}

#[tokio::test]
async fn the_sync_lock_has_an_owner_on_sqlite() {
    sync_lock_has_an_owner(Engine::Sqlite).await;
}

#[tokio::test]
async fn the_sync_lock_has_an_owner_on_postgres() {
    sync_lock_has_an_owner(Engine::Postgres).await;
}

async fn a_worker_past_its_lease_is_fenced_off(engine: Engine) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    portal(&store, 42).await;
    let request = store
        .open_document_request(42, "9001", "invoice", RequestTrigger::Stage)
        .await
        .unwrap();
    let first = store
        .claim_document_request(request.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .claim_document_request(request.id)
            .await
            .unwrap()
            .is_none(),
        "held"
    );
    // The first worker stalls beyond its lease; the second takes over.
    let mut row = document_request::Entity::find_by_id(request.id)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.lease_until = Set(Some(Utc::now() - chrono::Duration::seconds(1)));
    row.update(store.db()).await.unwrap();
    let second = store
        .claim_document_request(request.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.attempts, first.attempts + 1);
    // The first one's intent save (the fence before a create) and its
    // heartbeat both fail; the second's work.
    let mut stale = first.clone();
    stale.reference = Some("hh-42-9001-invoice".into());
    assert!(!store.save_document_request(stale).await.unwrap());
    assert!(
        !store
            .renew_document_request_lease(request.id, first.attempts)
            .await
            .unwrap()
    );
    assert!(store.save_document_request(second.clone()).await.unwrap());
    let lease = document_request::Entity::find_by_id(request.id)
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .lease_until
        .unwrap();
    assert!(lease > Utc::now(), "the save renewed the lease: {lease}");
}

#[tokio::test]
async fn a_worker_past_its_lease_is_fenced_off_on_sqlite() {
    a_worker_past_its_lease_is_fenced_off(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_worker_past_its_lease_is_fenced_off_on_postgres() {
    a_worker_past_its_lease_is_fenced_off(Engine::Postgres).await;
}

async fn a_trigger_during_an_attempt_is_not_lost(engine: Engine) {
    use holded_hubspot::store::document_requests::FailOutcome;
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    portal(&store, 43).await;
    let request = store
        .open_document_request(43, "9002", "invoice", RequestTrigger::Stage)
        .await
        .unwrap();
    let held = store
        .claim_document_request(request.id)
        .await
        .unwrap()
        .unwrap();
    // The deal enters the stage again while the worker is busy…
    store
        .open_document_request(43, "9002", "invoice", RequestTrigger::Stage)
        .await
        .unwrap();
    // …and that attempt fails: the request opens again instead.
    let mut failed = held.clone();
    failed.state = "failed".into();
    failed.error = Some("Holded rechazó los datos".into());
    failed.lease_until = None;
    assert_eq!(
        store.fail_document_request(failed).await.unwrap(),
        FailOutcome::Reopened
    );
    let row = store.document_request(request.id).await.unwrap().unwrap();
    assert_eq!(row.state, "pending");
    assert_eq!(row.next_attempt_at, None);
    // Without a new trigger, a failed attempt fails.
    let again = store
        .claim_document_request(request.id)
        .await
        .unwrap()
        .unwrap();
    let mut failed = again.clone();
    failed.state = "failed".into();
    failed.lease_until = None;
    assert_eq!(
        store.fail_document_request(failed).await.unwrap(),
        FailOutcome::Failed
    );
    assert_eq!(
        store
            .document_request(request.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        "failed"
    );
}

#[tokio::test]
async fn a_trigger_during_an_attempt_is_not_lost_on_sqlite() {
    a_trigger_during_an_attempt_is_not_lost(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_trigger_during_an_attempt_is_not_lost_on_postgres() {
    a_trigger_during_an_attempt_is_not_lost(Engine::Postgres).await;
}
