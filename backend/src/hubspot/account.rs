//! Account details (time zone, currency) and the tax-rate library.

use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::{
    client::{ApiRequest, PortalClient},
    error::HubspotError,
};

/// What the app needs to know about the account.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetails {
    /// Portal id.
    pub portal_id: u64,
    /// IANA time zone, e.g. `Europe/Madrid`.
    pub time_zone: String,
    /// Company currency, e.g. `EUR`.
    pub company_currency: Option<String>,
}

impl AccountDetails {
    /// The time zone, if HubSpot's name is a known IANA zone.
    pub fn tz(&self) -> Option<Tz> {
        self.time_zone.parse().ok()
    }
}

/// A tax rate from the account's library (`hs_tax_rate_group_id` on line items).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaxRate {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Percentage, e.g. 21.
    pub percentage_rate: Decimal,
    /// Active.
    pub active: bool,
}

impl PortalClient {
    /// The account's details; remembers the time zone (daily-limit resets
    /// happen at midnight there).
    pub async fn account_details(&self) -> Result<AccountDetails, HubspotError> {
        let (_, details): (_, AccountDetails) = self
            .call(ApiRequest::get("/account-info/2026-03/details"))
            .await?;
        if let Some(tz) = details.tz() {
            self.remember_time_zone(tz);
        }
        Ok(details)
    }

    /// Every tax rate (all pages).
    pub async fn tax_rates(&self) -> Result<Vec<TaxRate>, HubspotError> {
        #[derive(Deserialize)]
        struct Page {
            results: Vec<TaxRate>,
            paging: Option<Value>,
        }
        let mut rates = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut request = ApiRequest::get("/tax-rates/2026-09/tax-rates").query("limit", "100");
            if let Some(a) = &after {
                request = request.query("after", a.clone());
            }
            let (_, page): (_, Page) = self.call(request).await?;
            rates.extend(page.results);
            after = page
                .paging
                .as_ref()
                .and_then(|p| p.pointer("/next/after"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            if after.is_none() {
                return Ok(rates);
            }
        }
    }
}
