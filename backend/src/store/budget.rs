//! The per-portal HubSpot request budget, kept in the database every process
//! shares, so that a web process and any number of workers together never
//! exceed one portal's limit.
//!
//! Each budget is one row: its theoretical arrival time (`tat_ms`, the GCRA's
//! state), read and moved in one atomic upsert on the database's own clock,
//! so processes with skewed clocks still share one pace.

use std::time::Duration;

use futures::future::BoxFuture;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::Store;
use crate::hubspot::limits::{Bucket, Budget, Limiters, Pace, RateLimits, paces};

/// The database's clock in Unix milliseconds.
fn now_ms(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
        _ => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    }
}

impl Store {
    /// Takes one request from the budget `key` paced by `pace`: `None` when
    /// taken, else how long until one is free.
    pub async fn take_budget(&self, key: &str, pace: Pace) -> Result<Option<Duration>, DbErr> {
        let backend = self.backend();
        let now = now_ms(backend);
        let period = pace.period.as_millis().max(1) as i64;
        let tolerance = period * i64::from(pace.burst.saturating_sub(1));
        let greatest = if backend == DbBackend::Postgres {
            "GREATEST"
        } else {
            "MAX"
        };
        let (p1, p2, p3) = if backend == DbBackend::Postgres {
            ("$1", "$2", "$3")
        } else {
            ("?", "?", "?")
        };
        let take = format!(
            "INSERT INTO api_budgets (key, tat_ms) VALUES ({p1}, {now} + {p2}) \
             ON CONFLICT (key) DO UPDATE SET tat_ms = {greatest}(api_budgets.tat_ms, {now}) + {p2} \
             WHERE api_budgets.tat_ms - {p3} <= {now} RETURNING tat_ms"
        );
        let values = if backend == DbBackend::Postgres {
            vec![key.into(), period.into(), tolerance.into()]
        } else {
            // Positional `?` placeholders: one value per occurrence.
            vec![key.into(), period.into(), period.into(), tolerance.into()]
        };
        let taken = self
            .db()
            .query_one_raw(Statement::from_sql_and_values(backend, take, values))
            .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let wait = format!("SELECT tat_ms - {p2} - {now} FROM api_budgets WHERE key = {p1}",);
        let values = if backend == DbBackend::Postgres {
            vec![key.into(), tolerance.into()]
        } else {
            vec![tolerance.into(), key.into()]
        };
        let row = self
            .db()
            .query_one_raw(Statement::from_sql_and_values(backend, wait, values))
            .await?;
        let ms: i64 = row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or(0);
        Ok(Some(Duration::from_millis(ms.clamp(1, 10_000) as u64)))
    }
}

/// The HubSpot client's budget kept in the store (see the module docs).
#[derive(Debug)]
pub struct StoreBudget {
    store: Store,
    general: Pace,
    search: Pace,
    /// Used when the database cannot be read, so calls never stop for it.
    fallback: Limiters,
}

impl StoreBudget {
    /// The budget of `limits`, kept in `store`.
    pub fn new(store: Store, limits: RateLimits) -> Self {
        let (general, search) = paces(limits);
        Self {
            store,
            general,
            search,
            fallback: Limiters::new(limits),
        }
    }

    async fn wait_turn(&self, portal: u64, bucket: Bucket) {
        let (key, pace) = match bucket {
            Bucket::General => (format!("hubspot:{portal}"), self.general),
            Bucket::Search => (format!("hubspot-search:{portal}"), self.search),
        };
        loop {
            match self.store.take_budget(&key, pace).await {
                Ok(None) => return,
                Ok(Some(wait)) => tokio::time::sleep(wait).await,
                Err(err) => {
                    tracing::warn!(portal, error = %err, "shared HubSpot budget unreadable; pacing in this process");
                    return self.fallback.until_ready(portal, bucket).await;
                }
            }
        }
    }
}

impl Budget for StoreBudget {
    fn acquire(&self, portal: u64, bucket: Bucket) -> BoxFuture<'_, ()> {
        Box::pin(self.wait_turn(portal, bucket))
    }
}
