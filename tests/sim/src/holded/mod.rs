//! The Holded simulator: API v1 (`/api/invoicing/v1`) and v2 (`/api/v2`) with
//! their real behaviour and quirks, plus the control surface `/_sim/holded/…`
//! and in-process methods for tests.
//!
//! Module map: [`api`] routes calls (stats, faults), [`v1`] and [`v2`] are the
//! two generations, [`model`] the records and tax rules, [`ops`] shared
//! operations, [`seed`] realistic data, [`faults`] fault injection,
//! [`control`] the control surface, [`state`] everything behind the mutex.

pub mod api;
pub mod control;
pub mod faults;
pub mod http;
pub mod model;
pub mod ops;
pub mod seed;
pub mod state;
pub mod v1;
pub mod v2;
pub mod webhooks;

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
    time::Duration,
};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Simulator;
use faults::Fault;
use http::SimRequest;
use model::{SimContact, SimDocument, SimProduct};
use seed::{SeedSpec, SeedSummary};
use state::{ALL_PERMISSIONS, Account, SimSettings, State, Token};
use webhooks::{DeliveryRecord, Outgoing, SimWebhook, WebhookFaults};

/// The simulated Holded service and its state (shared by all its workers).
#[derive(Clone, Debug, Default)]
pub struct HoldedSim {
    state: Arc<Mutex<State>>,
    /// The client that delivers webhooks (made on first use).
    http: Arc<OnceLock<reqwest::Client>>,
}

/// A new account's credentials.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SimAccount {
    /// Account id.
    pub account_id: String,
    /// v1 API key (32 hex).
    pub v1_key: String,
    /// v2 token (`pat_…`).
    pub v2_token: String,
}

/// One row of the request statistics.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RouteCount {
    /// HTTP method.
    pub method: String,
    /// Route template (`/api/v2/contacts/{id}`).
    pub route: String,
    /// Caller: `<account> v1|v2`, `unknown key` or `anonymous` (never the key itself).
    pub key: String,
    /// Requests.
    pub count: u64,
}

/// Request statistics.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SimStats {
    /// Per endpoint and caller.
    pub requests: Vec<RouteCount>,
    /// 429s sent by the v2 rate limiter.
    pub rate_limited: u64,
    /// Faults injected.
    pub faults_injected: u64,
}

impl SimStats {
    /// Total requests matching a method and route template.
    pub fn count(&self, method: &str, route: &str) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.method == method && r.route == route)
            .map(|r| r.count)
            .sum()
    }
}

impl HoldedSim {
    /// An empty simulator.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates an account with a v1 key and a v2 token holding `permissions`
    /// (all permissions when `None`).
    pub fn create_account(&self, permissions: Option<&[String]>) -> SimAccount {
        let mut st = self.state();
        let account_id = format!("acc_{}", st.random_hex(12));
        let v1_key = st.random_hex(32);
        st.accounts.insert(account_id.clone(), Account::default());
        st.v1_keys.insert(v1_key.clone(), account_id.clone());
        drop(st);
        let v2_token = self
            .create_token(&account_id, permissions)
            .unwrap_or_default();
        SimAccount {
            account_id,
            v1_key,
            v2_token,
        }
    }

    /// Adds a v2 token to an account; `None` if there is no such account.
    pub fn create_token(&self, account_id: &str, permissions: Option<&[String]>) -> Option<String> {
        let mut st = self.state();
        st.accounts.get(account_id)?;
        let token = format!("pat_{}", st.random_hex(40));
        let permissions: BTreeSet<String> = match permissions {
            Some(list) => list.iter().cloned().collect(),
            None => ALL_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
        };
        st.tokens.insert(
            token.clone(),
            Token {
                account_id: account_id.to_owned(),
                permissions,
            },
        );
        Some(token)
    }

    /// Seeds realistic records into an account.
    pub fn seed(&self, spec: &SeedSpec) -> Option<SeedSummary> {
        seed::seed(&mut self.state(), spec)
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// Active fault rules.
    pub fn faults(&self) -> Vec<Fault> {
        self.state().faults.clone()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Request statistics.
    pub fn stats(&self) -> SimStats {
        let st = self.state();
        SimStats {
            requests: st
                .stats
                .iter()
                .map(|((method, route, key), count)| RouteCount {
                    method: method.clone(),
                    route: route.clone(),
                    key: key.clone(),
                    count: *count,
                })
                .collect(),
            rate_limited: st.rate_limited,
            faults_injected: st.faults_injected,
        }
    }

    /// Now on the simulated clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.state().now()
    }

    /// Sets the simulated clock.
    pub fn set_clock(&self, at: DateTime<Utc>) {
        let mut st = self.state();
        st.clock_offset = at - Utc::now();
    }

    /// Moves the simulated clock.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.state().clock_offset += by;
    }

    /// Current settings.
    pub fn settings(&self) -> SimSettings {
        self.state().settings.clone()
    }

    /// Replaces the settings.
    pub fn set_settings(&self, settings: SimSettings) {
        self.state().settings = settings;
    }

    /// Forgets everything (accounts, faults, stats, clock, settings).
    pub fn reset(&self) {
        *self.state() = State::default();
    }

    /// An account's documents, all types, in creation order.
    pub fn documents(&self, account_id: &str) -> Vec<SimDocument> {
        self.state()
            .accounts
            .get(account_id)
            .map(|a| a.documents.clone())
            .unwrap_or_default()
    }

    /// An account's contacts, in creation order.
    pub fn contacts(&self, account_id: &str) -> Vec<SimContact> {
        self.state()
            .accounts
            .get(account_id)
            .map(|a| a.contacts.clone())
            .unwrap_or_default()
    }

    /// An account's products, in creation order.
    pub fn products(&self, account_id: &str) -> Vec<SimProduct> {
        self.state()
            .accounts
            .get(account_id)
            .map(|a| a.products.clone())
            .unwrap_or_default()
    }

    /// One contact of an account.
    pub fn contact(&self, account_id: &str, id: &str) -> Option<SimContact> {
        let st = self.state();
        let account = st.accounts.get(account_id)?;
        Account::position(&account.contacts, id, |c| &c.id).map(|i| account.contacts[i].clone())
    }

    /// Deletes a contact as a user would in Holded (documents keep their
    /// contact name). Returns whether it existed.
    pub fn delete_contact(&self, account_id: &str, id: &str) -> bool {
        let mut st = self.state();
        let Some(account) = st.accounts.get_mut(account_id) else {
            return false;
        };
        let before = account.contacts.len();
        account.contacts.retain(|c| c.id != id);
        let deleted = account.contacts.len() != before;
        if deleted {
            webhooks::after_user_change(&mut st, account_id, "contact.delete", id);
            drop(st);
            self.deliver_webhooks();
        }
        deleted
    }

    /// Edits a contact as a user would in Holded (its `updatedAt` moves to
    /// now). Returns whether it existed.
    pub fn edit_contact(
        &self,
        account_id: &str,
        id: &str,
        edit: impl FnOnce(&mut SimContact),
    ) -> bool {
        let mut st = self.state();
        let now = st.now().timestamp();
        let Some(account) = st.accounts.get_mut(account_id) else {
            return false;
        };
        let Some(i) = Account::position(&account.contacts, id, |c| &c.id) else {
            return false;
        };
        edit(&mut account.contacts[i]);
        account.contacts[i].updated_at = now;
        true
    }

    /// Edits a product as a user would in Holded. Returns whether it existed.
    pub fn edit_product(
        &self,
        account_id: &str,
        id: &str,
        edit: impl FnOnce(&mut SimProduct),
    ) -> bool {
        let mut st = self.state();
        let Some(account) = st.accounts.get_mut(account_id) else {
            return false;
        };
        let Some(i) = Account::position(&account.products, id, |p| &p.id) else {
            return false;
        };
        edit(&mut account.products[i]);
        true
    }

    /// Approves (issues) a document as a user does in Holded: a draft takes
    /// its number now (and `<type>.approve` is delivered where Holded has
    /// that event). Returns the document; `None` if there is none.
    pub fn approve_document(&self, account_id: &str, document_id: &str) -> Option<SimDocument> {
        let mut st = self.state();
        let approved = ops::approve_document(&mut st, account_id, document_id)?;
        let event = format!("{}.approve", approved.doc_type.v1());
        if webhooks::catalogue().contains(&event) {
            webhooks::after_user_change(&mut st, account_id, &event, document_id);
        }
        drop(st);
        self.deliver_webhooks();
        Some(approved)
    }

    /// Registers a payment of `amount` on `date` against a document as a
    /// user does in Holded (`payment.create` is delivered). Returns the
    /// document as it is now, or why not.
    pub fn pay_document(
        &self,
        account_id: &str,
        document_id: &str,
        amount: rust_decimal::Decimal,
        date: chrono::NaiveDate,
    ) -> Result<SimDocument, String> {
        let mut st = self.state();
        let doc_type = st
            .accounts
            .get(account_id)
            .and_then(|a| Account::find(&a.documents, document_id, |d| &d.id))
            .map(|d| d.doc_type)
            .ok_or("Document not found")?;
        let (document, _) = ops::pay_document(
            &mut st,
            account_id,
            doc_type,
            document_id,
            amount,
            model::madrid_midnight(date),
        )?;
        webhooks::after_user_change(&mut st, account_id, "payment.create", document_id);
        drop(st);
        self.deliver_webhooks();
        Ok(document)
    }

    /// Adds a webhook to an account as a user does in Holded › Configuración
    /// › Desarrolladores › Webhooks: the URL and the events ticked. Returns
    /// it with its signing secret, or why Holded would refuse it.
    pub fn register_webhook(
        &self,
        account_id: &str,
        url: &str,
        events: &[String],
    ) -> Result<SimWebhook, String> {
        webhooks::register(&mut self.state(), account_id, url, events)
    }

    /// The webhooks of an account as Holded › Configuración › Desarrolladores
    /// › Webhooks lists them, each with the signing secret shown there.
    pub fn webhooks(&self, account_id: &str) -> Vec<SimWebhook> {
        self.state()
            .webhooks
            .get(account_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Sets the faults of the next webhook deliveries.
    pub fn set_webhook_faults(&self, faults: WebhookFaults) {
        self.state().webhook_faults = faults;
    }

    /// Webhook deliveries so far, in order (dropped ones without a status).
    pub fn webhook_deliveries(&self) -> Vec<DeliveryRecord> {
        self.state().webhook_deliveries.clone()
    }

    /// Sends the webhook deliveries queued so far, each on its own task.
    fn deliver_webhooks(&self) {
        let outgoing: Vec<Outgoing> = webhooks::drain(&mut self.state());
        if outgoing.is_empty() {
            return;
        }
        let http = self
            .http
            .get_or_init(|| {
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::new()
            })
            .clone();
        for delivery in outgoing {
            let (sim, http) = (self.clone(), http.clone());
            tokio::spawn(async move {
                for status in webhooks::send(&http, &delivery).await {
                    sim.state().webhook_deliveries.push(DeliveryRecord {
                        event: delivery.event.clone(),
                        delivery_id: delivery.delivery_id.clone(),
                        status,
                    });
                }
            });
        }
    }

    /// Calls an account made this month (what `/api/v2/usage` reports).
    pub fn monthly_usage(&self, account_id: &str) -> u64 {
        self.state().monthly_usage(account_id)
    }

    /// Number of contacts in an account.
    pub fn contact_count(&self, account_id: &str) -> usize {
        self.state()
            .accounts
            .get(account_id)
            .map_or(0, |a| a.contacts.len())
    }

    async fn serve(&self, req: HttpRequest, body: web::Bytes) -> HttpResponse {
        let request = SimRequest::from_actix(&req, body);
        if request.segments(control::PREFIX).is_some() {
            return control::handle(self, &request).into_response();
        }
        let (reply, delay_ms) = api::handle(&mut self.state(), &request);
        self.deliver_webhooks();
        if delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        reply.into_response()
    }
}

impl Simulator for HoldedSim {
    fn configure(&self, cfg: &mut web::ServiceConfig) {
        let sim = self.clone();
        cfg.app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let sim = sim.clone();
                async move { sim.serve(req, body).await }
            }));
    }
}
