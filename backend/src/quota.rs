//! Holded's monthly request quota. Every Holded call, v1 and v2, counts
//! against its account's plan quota for the calendar month (5,000 on small
//! plans; `GET /api/v2/usage` reports it). The service counts its calls per
//! Holded account (persisted; the account is a hash of its key), takes
//! Holded's own count and limit when a v2 token may read them, warns at
//! 80 %, and when the quota is spent — Holded refuses, or the count reaches
//! it — pauses that account's sync and deal flow until next month instead of
//! burning retries.
//!
//! The month is the UTC calendar month (Holded's reports name it `YYYY-MM`
//! without a time zone).

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use sea_orm::DbErr;
use serde::Serialize;

use crate::{
    holded::{HoldedApi, HoldedClient, HoldedError},
    i18n::{spanish_count, spanish_date},
    store::{Store, entities::holded_usage},
};

/// The share of the quota that warns.
pub const WARN_PERCENT: u64 = 80;

/// The quota period of `at`: `YYYY-MM` (UTC).
pub fn period_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// When the month after `at`'s begins (00:00 UTC on its first day).
pub fn next_period_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = match at.month() {
        12 => (at.year() + 1, 1),
        month => (at.year(), month + 1),
    };
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    Utc.from_utc_datetime(&first.and_time(chrono::NaiveTime::MIN))
}

/// An account's month, as the settings page and the console show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaView {
    /// `YYYY-MM`.
    pub period: String,
    /// Calls counted this month (Holded's own count where known, else ours).
    pub used: u64,
    /// The quota: the configured one, or Holded's when lower.
    pub limit: u64,
    /// `used` as a percentage of `limit` (rounded down).
    pub percent: u64,
    /// Whether `used` includes Holded's own count (every client of the account).
    pub counted_by_holded: bool,
    /// When the sync and the deal flow continue, while the quota is spent.
    pub paused_until: Option<DateTime<Utc>>,
    /// What to tell the customer (Spanish): the pause, or the 80 % warning.
    pub message: Option<String>,
}

/// The quota is spent: the account's work waits until `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paused {
    /// When the next month begins.
    pub until: DateTime<Utc>,
    /// Why and until when (Spanish).
    pub message: String,
}

impl Paused {
    /// Holded refused for the quota, with no count to tell: waits for the month after `now`'s.
    pub fn refused(now: DateTime<Utc>) -> Self {
        let until = next_period_start(now);
        Self {
            until,
            message: format!(
                "Holded rechazó la petición: la cuenta agotó su cuota mensual de peticiones a la API. La sincronización nocturna y la creación de documentos en Holded están en pausa hasta el {} (00:00 UTC). Para seguir antes, amplía el plan de Holded.",
                spanish_date(until.date_naive())
            ),
        }
    }
}

/// Counts and checks Holded accounts' monthly calls; cheap to clone.
#[derive(Clone, Debug)]
pub struct Quota {
    store: Store,
    /// Calls per month the plan allows (`HH_HOLDED_MONTHLY_QUOTA`).
    budget: u64,
}

impl Quota {
    /// Quotas of `budget` calls a month (lowered by what Holded reports).
    pub fn new(store: Store, budget: u64) -> Self {
        Self { store, budget }
    }

    fn view_of(&self, row: &holded_usage::Model, now: DateTime<Utc>) -> QuotaView {
        let calls = u64::try_from(row.calls).unwrap_or(0);
        let reported = row.reported_usage.map(|usage| {
            let since = calls.saturating_sub(row.reported_at_calls.unwrap_or(0).max(0) as u64);
            (usage.max(0) as u64).saturating_add(since)
        });
        let used = reported.unwrap_or(0).max(calls);
        let limit = row
            .reported_limit
            .and_then(|l| u64::try_from(l).ok())
            .filter(|l| *l > 0)
            .map_or(self.budget, |l| l.min(self.budget));
        let percent = used.saturating_mul(100) / limit.max(1);
        let spent = row.spent_at.is_some() || used >= limit;
        let until = next_period_start(now);
        let message = if spent {
            Some(format!(
                "Cuota mensual de la API de Holded agotada: {} de {} peticiones en {}. La sincronización nocturna y la creación de documentos en Holded están en pausa hasta el {} (00:00 UTC). Para seguir antes, amplía el plan de Holded.",
                spanish_count(used),
                spanish_count(limit),
                row.period,
                spanish_date(until.date_naive()),
            ))
        } else if percent >= WARN_PERCENT {
            Some(format!(
                "Aviso: se ha usado el {percent} % de la cuota mensual de la API de Holded ({} de {} peticiones en {}). Si se agota, la sincronización y la creación de documentos se pausan hasta el mes que viene.",
                spanish_count(used),
                spanish_count(limit),
                row.period,
            ))
        } else {
            None
        };
        QuotaView {
            period: row.period.clone(),
            used,
            limit,
            percent,
            counted_by_holded: reported.is_some(),
            paused_until: spent.then_some(until),
            message,
        }
    }

    /// `account`'s month now.
    pub async fn view(&self, account: &str) -> Result<QuotaView, DbErr> {
        let now = Utc::now();
        let row = self.store.holded_usage(account, &period_of(now)).await?;
        Ok(self.view_of(&row, now))
    }

    /// The pause of `account`, if its quota is spent this month.
    pub async fn paused(&self, account: &str) -> Result<Option<Paused>, DbErr> {
        Ok(pause_of(&self.view(account).await?))
    }

    /// Adds the calls `client` made since they were last added to its
    /// account's month (logging the 80 % warning once); returns the pause, if
    /// the quota is now spent.
    pub async fn record(&self, client: &HoldedClient) -> Result<Option<Paused>, DbErr> {
        let now = Utc::now();
        let row = self.add(client, now).await?;
        let view = self.view_of(&row, now);
        if view.percent >= WARN_PERCENT && row.warned_at.is_none() {
            tracing::warn!(
                period = %view.period,
                used = view.used,
                limit = view.limit,
                "a Holded account has used {}% of its monthly request quota",
                view.percent
            );
            let mut row = row;
            row.warned_at = Some(now);
            self.store.save_holded_usage(row, now).await?;
        }
        Ok(pause_of(&view))
    }

    async fn add(
        &self,
        client: &HoldedClient,
        now: DateTime<Utc>,
    ) -> Result<holded_usage::Model, DbErr> {
        self.store
            .add_holded_calls(
                client.account_id(),
                &period_of(now),
                client.take_unrecorded_calls(),
            )
            .await
    }

    /// Holded refused a call of `client` for the quota: its month is spent.
    pub async fn spent(&self, client: &HoldedClient) -> Result<Paused, DbErr> {
        let now = Utc::now();
        let mut row = self.add(client, now).await?;
        if row.spent_at.is_none() {
            tracing::warn!(period = %row.period, "Holded refused a call: the monthly request quota is spent");
            row.spent_at = Some(now);
            row = self.store.save_holded_usage(row, now).await?;
        }
        Ok(pause_of(&self.view_of(&row, now)).unwrap_or_else(|| Paused::refused(now)))
    }

    /// Before a run: the pause if the month is spent; else asks Holded for
    /// the account's own count and limit (v2 tokens allowed to read them;
    /// one call) and tells again. Holded failing to answer is no reason to stop.
    pub async fn before_run(&self, client: &HoldedClient) -> Result<Option<Paused>, DbErr> {
        if let Some(paused) = self.paused(client.account_id()).await? {
            return Ok(Some(paused));
        }
        let now = Utc::now();
        match client.usage().await {
            Ok(Some(usage)) if usage.period == period_of(now) => {
                let mut row = self.add(client, now).await?;
                row.reported_usage = Some(i64::try_from(usage.usage).unwrap_or(i64::MAX));
                row.reported_limit = usage.limit.and_then(|l| i64::try_from(l).ok());
                row.reported_at_calls = Some(row.calls);
                self.store.save_holded_usage(row, now).await?;
            }
            Ok(_) => {}
            Err(HoldedError::QuotaExhausted { .. }) => return self.spent(client).await.map(Some),
            Err(err) => {
                tracing::debug!(error = %err, "Holded's usage could not be read; counting our own calls");
            }
        }
        self.record(client).await
    }
}

fn pause_of(view: &QuotaView) -> Option<Paused> {
    Some(Paused {
        until: view.paused_until?,
        message: view.message.clone()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_month_ends_at_midnight_utc_on_the_first_of_the_next() {
        assert_eq!(period_of(at("2026-12-31T23:59:59Z")), "2026-12");
        assert_eq!(
            next_period_start(at("2026-12-31T23:59:59Z")),
            at("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            next_period_start(at("2026-02-10T08:00:00Z")),
            at("2026-03-01T00:00:00Z")
        );
    }
}
