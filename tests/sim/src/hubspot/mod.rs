//! The HubSpot simulator: OAuth, CRM objects (both `/crm/v3` and the
//! date-versioned `/crm/objects/2026-09` families), search, properties,
//! pipelines, associations, app events, tax rates, account details, per-portal
//! rate limits, webhooks with real signatures, and the `/_sim/hubspot`
//! control surface (mirrored by the in-process methods below).

mod associations;
mod control;
mod errors;
mod gate;
mod indexes;
mod misc;
pub mod model;
mod oauth;
mod objects;
mod pipelines;
mod properties;
mod search;
mod search_filter;
pub mod state;
mod store;
mod users;
mod validate;
mod webhooks;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, atomic::AtomicBool},
};

use actix_web::{
    HttpMessage,
    dev::{Service, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    web,
};
use futures::future::Either;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use state::{AppConfig, Delivery, Fault, Settings, Stats, WebhookFaults};

use crate::Simulator;
use model::{ObjType, Pipeline, Portal, Stage, TaxRate, Tier, User};
use state::{AccessToken, Grant, State};
use store::{Claims, Source};

/// The simulated HubSpot service and its state (shared by all its workers).
#[derive(Clone)]
pub struct HubspotSim {
    state: Arc<Mutex<State>>,
    dispatcher_started: Arc<AtomicBool>,
}

/// A portal to create.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct NewPortal {
    /// Tier.
    pub tier: Tier,
    /// IANA time zone.
    pub time_zone: String,
    /// Whether app events are approved.
    pub app_events_approved: bool,
}

impl Default for NewPortal {
    fn default() -> Self {
        Self {
            tier: Tier::Pro,
            time_zone: "Europe/Madrid".into(),
            app_events_approved: false,
        }
    }
}

/// A created portal and a direct (non-expiring, all-scopes) token for it.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedPortal {
    /// Portal id.
    pub portal_id: u64,
    /// Direct access token.
    pub access_token: String,
    /// The account's first user, a super admin.
    pub super_admin: User,
}

/// A deal to seed, with its line items and associated company/contact.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SeedDeal {
    /// Deal properties.
    pub properties: BTreeMap<String, String>,
    /// Line items (properties each), associated with type 19/20.
    pub line_items: Vec<BTreeMap<String, String>>,
    /// A company, associated as primary (5).
    pub company: Option<BTreeMap<String, String>>,
    /// A contact, associated (3).
    pub contact: Option<BTreeMap<String, String>>,
}

/// Ids of a seeded deal's records.
#[derive(Debug, Clone, Serialize)]
pub struct SeededDeal {
    /// Deal id.
    pub deal_id: u64,
    /// Line item ids.
    pub line_item_ids: Vec<u64>,
    /// Company id.
    pub company_id: Option<u64>,
    /// Contact id.
    pub contact_id: Option<u64>,
}

/// A custom pipeline to add.
#[derive(Debug, Clone, Deserialize)]
pub struct NewPipeline {
    /// Label.
    pub label: String,
    /// Stages in order.
    pub stages: Vec<NewStage>,
}

/// A custom stage.
#[derive(Debug, Clone, Deserialize)]
pub struct NewStage {
    /// Label.
    pub label: String,
    /// Probability (`"0.5"`).
    #[serde(default)]
    pub probability: Option<String>,
    /// Closed.
    #[serde(default)]
    pub is_closed: bool,
}

/// A tax rate to add.
#[derive(Debug, Clone, Deserialize)]
pub struct NewTaxRate {
    /// Name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Percentage, e.g. 21.
    pub percentage_rate: serde_json::Number,
}

impl std::fmt::Debug for HubspotSim {
    /// Never prints secrets or tokens: only the shape of the state.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("HubspotSim")
            .field("app_id", &state.app.app_id)
            .field("portals", &state.portals.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl HubspotSim {
    /// An empty simulator delivering webhooks to `webhook_url`, if any.
    pub fn new(webhook_url: Option<String>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new(webhook_url))),
            dispatcher_started: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the app (client id/secret, app id, webhook target and timing).
    pub fn register_app(&self, app: AppConfig) {
        self.lock().app = app;
    }

    /// The registered app.
    pub fn app(&self) -> AppConfig {
        self.lock().app.clone()
    }

    /// Creates a portal; the next `/oauth/authorize` installs into it.
    pub fn create_portal(&self, input: NewPortal) -> CreatedPortal {
        let mut state = self.lock();
        state.next_portal += 1;
        let id = state.next_portal;
        let mut portal = Portal::new(id, input.tier, input.time_zone, input.app_events_approved);
        let super_admin = User {
            id: state.record_id(),
            email: format!("admin-{id}@empresa-demo.es"),
            super_admin: true,
        };
        portal.users.insert(super_admin.id, super_admin.clone());
        state.portals.insert(id, portal);
        state.install_portal = Some(id);
        let token = State::token("sim-direct");
        state.tokens.insert(
            token.clone(),
            AccessToken {
                grant: Grant {
                    portal_id: id,
                    scopes: None,
                },
                expires_at: None,
            },
        );
        CreatedPortal {
            portal_id: id,
            access_token: token,
            super_admin,
        }
    }

    /// Adds a user to `portal` (a super admin or not); returns it.
    pub fn add_user(&self, portal: u64, email: &str, super_admin: bool) -> Result<User, String> {
        let mut state = self.lock();
        let id = state.record_id();
        let p = state
            .portals
            .get_mut(&portal)
            .ok_or_else(|| format!("no portal {portal}"))?;
        if p.users
            .values()
            .any(|u| u.email.eq_ignore_ascii_case(email))
        {
            return Err(format!("a user with email {email} exists"));
        }
        let user = User {
            id,
            email: email.to_owned(),
            super_admin,
        };
        p.users.insert(id, user.clone());
        Ok(user)
    }

    /// The users of `portal`, super admins first.
    pub fn users(&self, portal: u64) -> Vec<User> {
        let state = self.lock();
        let mut users: Vec<User> = state
            .portals
            .get(&portal)
            .map(|p| p.users.values().cloned().collect())
            .unwrap_or_default();
        users.sort_by_key(|u| (!u.super_admin, u.id));
        users
    }

    /// Uninstalls the app from `portal` as its admin would in HubSpot: every
    /// OAuth access and refresh token of the portal stops working (direct
    /// control-surface tokens keep working for assertions).
    pub fn uninstall(&self, portal: u64) {
        let mut state = self.lock();
        state
            .refresh_tokens
            .retain(|_, grant| grant.portal_id != portal);
        state
            .tokens
            .retain(|_, t| t.grant.portal_id != portal || t.expires_at.is_none());
    }

    /// Takes `scope` away from the app's install in `portal` (its access and
    /// refresh tokens), as when an app needs a scope its install never
    /// granted: calls needing it answer 403 `MISSING_SCOPES` until the app is
    /// installed again.
    pub fn withhold_scope(&self, portal: u64, scope: &str) {
        let mut state = self.lock();
        let strip = |grant: &mut Grant| {
            if grant.portal_id == portal
                && let Some(scopes) = grant.scopes.as_mut()
            {
                scopes.retain(|s| s != scope);
            }
        };
        state.tokens.values_mut().for_each(|t| strip(&mut t.grant));
        state.refresh_tokens.values_mut().for_each(strip);
    }

    /// Chooses the portal `/oauth/authorize` installs into.
    pub fn set_install_portal(&self, portal: u64) -> Result<(), String> {
        let mut state = self.lock();
        if !state.portals.contains_key(&portal) {
            return Err(format!("no portal {portal}"));
        }
        state.install_portal = Some(portal);
        Ok(())
    }

    /// Creates records as a user would in HubSpot (validated like the API).
    fn create_as_user(
        state: &mut State,
        portal: u64,
        t: ObjType,
        values: BTreeMap<String, String>,
    ) -> Result<u64, String> {
        store::check_write(state, portal, t, &values, None, &mut Claims::new())
            .map_err(|e| e.into_api().to_string())?;
        Ok(store::create(state, portal, t, values))
    }

    /// Creates records of one type as a user would (validated like the API);
    /// returns their ids.
    pub fn seed_records(
        &self,
        portal: u64,
        t: ObjType,
        records: Vec<BTreeMap<String, String>>,
    ) -> Result<Vec<u64>, String> {
        let mut state = self.lock();
        if !state.portals.contains_key(&portal) {
            return Err(format!("no portal {portal}"));
        }
        records
            .into_iter()
            .map(|values| Self::create_as_user(&mut state, portal, t, values))
            .collect()
    }

    /// Properties the account requires on creates of `t` (enforced by the
    /// `2026-09` write APIs, like admin-configured required fields).
    pub fn set_required_properties(
        &self,
        portal: u64,
        t: ObjType,
        properties: Vec<String>,
    ) -> Result<(), String> {
        let mut state = self.lock();
        let p = state
            .portals
            .get_mut(&portal)
            .ok_or_else(|| format!("no portal {portal}"))?;
        p.required.insert(t, properties);
        Ok(())
    }

    /// Seeds a deal with line items and associations.
    pub fn seed_deal(&self, portal: u64, seed: SeedDeal) -> Result<SeededDeal, String> {
        let mut state = self.lock();
        if !state.portals.contains_key(&portal) {
            return Err(format!("no portal {portal}"));
        }
        let deal = Self::create_as_user(&mut state, portal, ObjType::Deals, seed.properties)?;
        let mut line_item_ids = Vec::new();
        for item in seed.line_items {
            let id = Self::create_as_user(&mut state, portal, ObjType::LineItems, item)?;
            state.portals.get_mut(&portal).expect("portal").associate(
                ObjType::Deals,
                deal,
                ObjType::LineItems,
                id,
                19,
            );
            line_item_ids.push(id);
        }
        let company_id = seed
            .company
            .map(|c| Self::create_as_user(&mut state, portal, ObjType::Companies, c))
            .transpose()?;
        let contact_id = seed
            .contact
            .map(|c| Self::create_as_user(&mut state, portal, ObjType::Contacts, c))
            .transpose()?;
        let p = state.portals.get_mut(&portal).expect("portal");
        if let Some(c) = company_id {
            p.associate(ObjType::Deals, deal, ObjType::Companies, c, 5);
        }
        if let Some(c) = contact_id {
            p.associate(ObjType::Deals, deal, ObjType::Contacts, c, 3);
            if let Some(co) = company_id {
                p.associate(ObjType::Contacts, c, ObjType::Companies, co, 1);
            }
        }
        Ok(SeededDeal {
            deal_id: deal,
            line_item_ids,
            company_id,
            contact_id,
        })
    }

    /// Moves a deal to `stage` as a user in HubSpot (`changeSource: CRM_UI`).
    pub fn move_deal(&self, portal: u64, deal: u64, stage: &str) -> Result<(), String> {
        self.ensure_dispatcher();
        let mut state = self.lock();
        let exists = state
            .portals
            .get(&portal)
            .and_then(|p| p.records.get(&ObjType::Deals))
            .is_some_and(|r| r.contains_key(&deal));
        if !exists {
            return Err(format!("no deal {deal} in portal {portal}"));
        }
        let values = BTreeMap::from([("dealstage".to_owned(), stage.to_owned())]);
        store::check_write(
            &state,
            portal,
            ObjType::Deals,
            &values,
            Some(deal),
            &mut Claims::new(),
        )
        .map_err(|e| e.into_api().to_string())?;
        store::update(
            &mut state,
            portal,
            ObjType::Deals,
            deal,
            &values,
            Source::User,
        );
        Ok(())
    }

    /// Permanently deletes a contact to comply with privacy law, as a user
    /// would in HubSpot: the record and its associations are gone, and a
    /// `contact.privacyDeletion` event is delivered.
    pub fn gdpr_delete_contact(&self, portal: u64, contact: u64) -> Result<(), String> {
        self.ensure_dispatcher();
        let mut state = self.lock();
        let p = state
            .portals
            .get_mut(&portal)
            .ok_or_else(|| format!("no portal {portal}"))?;
        if p.records(ObjType::Contacts).remove(&contact).is_none() {
            return Err(format!("no contact {contact} in portal {portal}"));
        }
        p.associations.retain(|a| {
            !(a.from_type == ObjType::Contacts && a.from_id == contact
                || a.to_type == ObjType::Contacts && a.to_id == contact)
        });
        webhooks::enqueue_privacy_deletion(&mut state, portal, contact);
        Ok(())
    }

    /// Associates two records as a user would (`type_id` one of the default
    /// association types, e.g. 5 for a deal's primary company, 3 for its contact).
    pub fn associate(
        &self,
        portal: u64,
        from: (ObjType, u64),
        to: (ObjType, u64),
        type_id: u32,
    ) -> Result<(), String> {
        let mut state = self.lock();
        let p = state
            .portals
            .get_mut(&portal)
            .ok_or_else(|| format!("no portal {portal}"))?;
        for (t, id) in [from, to] {
            if !p.records(t).contains_key(&id) {
                return Err(format!("no {} {id} in portal {portal}", t.singular()));
            }
        }
        p.associate(from.0, from.1, to.0, to.1, type_id);
        Ok(())
    }

    /// Adds a custom deal pipeline (numeric ids, like HubSpot's).
    pub fn add_pipeline(&self, portal: u64, input: NewPipeline) -> Result<Value, String> {
        let mut state = self.lock();
        let now = state.now();
        let base = state.record_id();
        let p = state
            .portals
            .get_mut(&portal)
            .ok_or_else(|| format!("no portal {portal}"))?;
        let stages = input
            .stages
            .into_iter()
            .enumerate()
            .map(|(i, s)| Stage {
                id: (base * 100 + i as u64 + 1).to_string(),
                label: s.label,
                probability: s.probability.unwrap_or_else(|| {
                    if s.is_closed {
                        "1.0".into()
                    } else {
                        "0.5".into()
                    }
                }),
                is_closed: s.is_closed,
            })
            .collect();
        let pipeline = Pipeline {
            id: (base * 100).to_string(),
            label: input.label,
            stages,
            created_at: now,
        };
        let json = pipeline.to_json();
        p.pipelines.push(pipeline);
        Ok(json)
    }

    /// Adds a tax rate; returns its id.
    pub fn add_tax_rate(&self, portal: u64, input: NewTaxRate) -> Result<String, String> {
        let mut state = self.lock();
        let now = model::iso(state.now());
        let id = state.record_id().to_string();
        let p = state
            .portals
            .get_mut(&portal)
            .ok_or_else(|| format!("no portal {portal}"))?;
        p.tax_rates.push(TaxRate {
            id: id.clone(),
            name: input.name,
            label: input.label,
            percentage_rate: input.percentage_rate,
            active: true,
            created_at: now.clone(),
            updated_at: now,
        });
        Ok(id)
    }

    /// Everything a portal holds (records with all properties, associations,
    /// custom properties, app events), for assertions.
    pub fn dump(&self, portal: u64) -> Option<Value> {
        let state = self.lock();
        let p = state.portals.get(&portal)?;
        let mut records = serde_json::Map::new();
        for t in ObjType::ALL {
            let list: Vec<Value> = p
                .records
                .get(&t)
                .map(|r| r.values().map(|r| json!({"id": r.id.to_string(), "archived": r.archived, "properties": r.props})).collect())
                .unwrap_or_default();
            records.insert(t.name().into(), Value::Array(list));
        }
        let custom: BTreeMap<&str, Vec<Value>> = ObjType::ALL
            .iter()
            .map(|t| {
                (
                    t.name(),
                    p.props(*t)
                        .values()
                        .filter(|d| !d.hubspot_defined)
                        .map(|d| d.to_json())
                        .collect(),
                )
            })
            .collect();
        Some(
            json!({"portal_id": p.id, "tier": p.tier, "time_zone": p.time_zone, "records": records,
                    "associations": p.associations, "custom_properties": custom, "app_events": p.app_events}),
        )
    }

    /// Injects a fault.
    pub fn add_fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Sets webhook duplicate/reorder faults.
    pub fn set_webhook_faults(&self, faults: WebhookFaults) {
        self.lock().webhook_faults = faults;
    }

    /// Replaces what the app subscribes to with the `subscriptions` of a
    /// webhooks `*-hsmeta.json` component (by default, the project's own).
    pub fn set_webhook_subscriptions(&self, component: &Value) -> Result<(), String> {
        let subscriptions = webhooks::Subscriptions::from_hsmeta(component)?;
        self.lock().subscriptions = subscriptions;
        Ok(())
    }

    /// Webhook attempts so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    /// Changes index lag and rate limits.
    pub fn set_settings(&self, settings: Settings) {
        self.lock().settings = settings;
    }

    /// Request counts.
    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// The simulated clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.lock().now()
    }

    /// Moves the simulated clock forward (token expiry, timestamps).
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.lock().clock_offset += by;
    }

    /// Deploys an app-event type of the registered app (its `uid` in the
    /// project), as HubSpot does once the app is approved for app events;
    /// returns the fully qualified name HubSpot assigns it, which occurrences
    /// must name.
    pub fn register_app_event_type(&self, uid: &str) -> String {
        let mut state = self.lock();
        let name = format!(
            "ae{}_{}-{}",
            state.app.app_id,
            uid.replace('_', "-"),
            state.app_event_types.len() + 1
        );
        state.app_event_types.insert(name.clone(), uid.to_owned());
        name
    }

    /// Forgets everything but the registered app and its app-event types.
    pub fn reset(&self) {
        let mut state = self.lock();
        let app = state.app.clone();
        let types = std::mem::take(&mut state.app_event_types);
        *state = State::new(None);
        state.app = app;
        state.app_event_types = types;
    }
}

/// The API routes (behind the gate).
fn api_routes(cfg: &mut web::ServiceConfig) {
    for prefix in [
        "/crm/v3/objects",
        "/crm/objects/2026-03",
        "/crm/objects/2026-09",
    ] {
        objects::routes(cfg, prefix);
    }
    for prefix in [
        "/crm/v3/properties",
        "/crm/properties/2026-03",
        "/crm/properties/2026-09",
    ] {
        properties::routes(cfg, prefix);
    }
    for prefix in [
        "/crm/v3/pipelines",
        "/crm/pipelines/2026-03",
        "/crm/pipelines/2026-09",
    ] {
        pipelines::routes(cfg, prefix);
    }
    for prefix in [
        "/crm/v4/associations",
        "/crm/associations/2026-03",
        "/crm/associations/2026-09",
    ] {
        associations::routes(cfg, prefix);
    }
    misc::routes(cfg);
    users::routes(cfg);
}

impl Simulator for HubspotSim {
    fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone()));
        control::routes(cfg);
        oauth::routes(cfg);
        let sim = self.clone();
        cfg.service(
            web::scope("")
                .wrap_fn(move |req, srv| {
                    sim.ensure_dispatcher();
                    match sim.admit(&req) {
                        gate::Admission::Reject(response, delay) => Either::Left(async move {
                            tokio::time::sleep(delay).await;
                            Ok(req.into_response(response).map_into_right_body())
                        }),
                        gate::Admission::Pass {
                            caller,
                            headers,
                            delay,
                            answer_instead,
                        } => {
                            let write = is_batch_write(&req)
                                .then(|| WriteInFlight::start(&sim, caller.portal_id));
                            req.extensions_mut().insert(caller);
                            let call = srv.call(req);
                            Either::Right(async move {
                                let mut response = call.await?;
                                if let Some(instead) = answer_instead {
                                    tokio::time::sleep(delay).await;
                                    let (req, _) = response.into_parts();
                                    return Ok(
                                        ServiceResponse::new(req, instead).map_into_right_body()
                                    );
                                }
                                for (name, value) in headers {
                                    if let Ok(value) = HeaderValue::from_str(&value) {
                                        response
                                            .headers_mut()
                                            .insert(HeaderName::from_static(name), value);
                                    }
                                }
                                tokio::time::sleep(delay).await;
                                drop(write);
                                Ok(response.map_into_left_body())
                            })
                        }
                    }
                })
                .configure(api_routes),
        );
    }
}

/// Whether a request writes a batch (`POST …/batch/…`, reads aside).
fn is_batch_write(req: &actix_web::dev::ServiceRequest) -> bool {
    let path = req.path();
    req.method() == actix_web::http::Method::POST
        && path.contains("/batch/")
        && !path.ends_with("/batch/read")
}

/// A batch write being answered: counted in its portal's
/// `peak_writes_in_flight` while it lasts.
struct WriteInFlight {
    sim: HubspotSim,
    portal_id: u64,
}

impl WriteInFlight {
    fn start(sim: &HubspotSim, portal_id: u64) -> Self {
        let mut state = sim.lock();
        let in_flight = state.writes_in_flight.entry(portal_id).or_default();
        *in_flight += 1;
        let now = *in_flight;
        let stats = state.stats.by_portal.entry(portal_id).or_default();
        stats.peak_writes_in_flight = stats.peak_writes_in_flight.max(now);
        Self {
            sim: sim.clone(),
            portal_id,
        }
    }
}

impl Drop for WriteInFlight {
    fn drop(&mut self) {
        let mut state = self.sim.lock();
        if let Some(in_flight) = state.writes_in_flight.get_mut(&self.portal_id) {
            *in_flight = in_flight.saturating_sub(1);
        }
    }
}
