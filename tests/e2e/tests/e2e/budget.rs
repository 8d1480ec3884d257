//! One HubSpot budget per portal, shared by every process: two clients
//! standing for a web process and a worker, each with the budget kept in the
//! same database, together stay within the portal's limit — where two
//! in-process limiters each spend the whole limit and HubSpot answers 429.

use std::{sync::Arc, time::Duration};

use futures::future::join_all;
use holded_hubspot::{
    hubspot::{
        Hubspot, HubspotConfig, MemoryTokenStore, PortalClient, RateLimits, RetryPolicy, Tokens,
    },
    store::budget::StoreBudget,
};
use holded_hubspot_sim::hubspot::{NewPortal, Settings};
use secrecy::SecretString;

use crate::support::{Engine, TestDb, sims};

/// The portal's limit in this test: 20 requests per rolling second.
const LIMIT: u32 = 20;

fn limits() -> RateLimits {
    RateLimits {
        requests: LIMIT,
        window: Duration::from_secs(1),
        searches_per_second: 5,
    }
}

/// A client as one process builds it: its own HTTP client and, when
/// `shared` is given, the budget kept in that store.
fn process_client(
    hubspot_url: &str,
    shared: Option<holded_hubspot::store::Store>,
    portal: u64,
    token: &str,
) -> PortalClient {
    let mut config = HubspotConfig::new(hubspot_url);
    config.limits = limits();
    // A 429 is not retried here: the test counts them.
    config.retry = RetryPolicy {
        max_retries: 0,
        max_waits: 0,
        ..RetryPolicy::default()
    };
    config.budget = shared.map(|store| {
        Arc::new(StoreBudget::new(store, limits())) as holded_hubspot::hubspot::limits::SharedBudget
    });
    Hubspot::new(config, None).unwrap().portal(
        portal,
        Arc::new(MemoryTokenStore::new(Tokens::fixed(SecretString::from(
            token.to_owned(),
        )))),
    )
}

/// 2 processes × 60 reads of one portal, all at once; returns the 429s.
async fn two_processes(engine: Engine, shared: bool) -> u64 {
    let sims = sims().await;
    sims.hubspot.set_settings(Settings {
        index_lag_ms: 0,
        rate_limit_max: LIMIT,
        rate_limit_window_ms: 1_000,
        search_per_second: 5,
        ..Settings::default()
    });
    let portal = sims.hubspot.create_portal(NewPortal::default());
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let clients: Vec<PortalClient> = (0..2)
        .map(|_| {
            process_client(
                &sims.hubspot_url,
                shared.then(|| store.clone()),
                portal.portal_id,
                &portal.access_token,
            )
        })
        .collect();
    let calls = clients.iter().flat_map(|client| {
        (0..60).map(move |_| async move { client.account_details().await.map(|_| ()) })
    });
    let results = join_all(calls).await;
    let refused = results.iter().filter(|r| r.is_err()).count() as u64;
    assert_eq!(refused, sims.hubspot.stats().rate_limited, "{results:?}");
    refused
}

#[tokio::test]
async fn processes_sharing_the_budget_in_postgres_never_exceed_the_portals_limit() {
    assert_eq!(two_processes(Engine::Postgres, true).await, 0);
}

#[tokio::test]
async fn processes_sharing_the_budget_in_sqlite_never_exceed_the_portals_limit() {
    assert_eq!(two_processes(Engine::Sqlite, true).await, 0);
}

#[tokio::test]
async fn processes_with_their_own_limiters_exceed_it() {
    assert!(two_processes(Engine::Sqlite, false).await > 0);
}
