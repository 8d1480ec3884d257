//! End-to-end suites: the service and the simulators over real HTTP, on real
//! SQLite and PostgreSQL. One test binary with a module per area keeps linking
//! cheap.
//!
//! PostgreSQL tests connect to `HH_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and create a fresh database
//! per test.

mod support;

mod foundation;

mod budget;
mod console;
mod deals;
mod demo;
mod fault_matrix;
mod holded_contract;
mod holded_fidelity;
mod holded_webhook_contract;
mod holded_webhook_registration;
mod holded_webhooks;
mod hubspot_app;
mod hubspot_contract;
mod hubspot_fidelity;
mod install;
mod leases;
mod lifecycle;
mod refusals;
mod security;
mod settings_api;
mod sync;
mod timeline;
mod webhooks;
