//! Holded ⇄ HubSpot: a HubSpot public app backend that keeps Holded (the ERP
//! where invoices live) and HubSpot (the CRM where sales happen) in step.
//!
//! Layout (see the README's architecture section):
//! - [`config`], [`cli`], [`runtime`]: configuration and process wiring;
//!   [`healthcheck`]: the container health check;
//! - [`store`]: database, migrations, entities and queries;
//! - [`crypto`]: secrets at rest; [`http`]: outgoing HTTP clients; [`i18n`]: bilingual messages;
//! - [`holded`], [`hubspot`]: the two API clients (they know nothing of each other);
//!   [`quota`]: Holded's monthly request quota per account; [`contact_index`]:
//!   the last contact scan's index the deal flow looks Holded contacts up in;
//! - [`install`]: OAuth install and CRM provisioning of a portal;
//! - [`settings`]: a portal's settings, validated and audited;
//! - [`sync`]: Holded → HubSpot; [`deals`]: HubSpot deal → Holded document;
//! - [`jobs`]: the queue, the scheduler tick and the workers; [`lease`]: keeping a lease while work runs;
//!   [`pace`]: pacing requests under a provider's rolling-window limit;
//! - [`web`]: the HTTP surface;
//! - [`schedule`]: when nightly runs happen;
//! - `demo`: `holded-hubspot demo`, the whole product against the simulators
//!   (the `demo` feature, on by default; production builds leave it out).

pub mod cli;
pub mod config;
pub mod contact_index;
pub mod crypto;
pub mod deals;
#[cfg(feature = "demo")]
pub mod demo;
pub mod healthcheck;
pub mod holded;
pub mod http;
pub mod hubspot;
pub mod i18n;
pub mod install;
pub mod jobs;
pub mod lease;
pub mod pace;
pub mod quota;
pub mod runtime;
pub mod schedule;
pub mod settings;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod web;
