//! Database migrations for `holded-hubspot`.
//!
//! One migration set serves SQLite (the embedded default) and PostgreSQL: every
//! migration is written with sea-query's schema builder, never raw SQL of one
//! dialect. Shipped migrations are never edited; later changes add new ones.

pub use sea_orm_migration::prelude::*;

mod columns;

mod m20261128_000001_initial;
mod m20261128_000002_install;
mod m20261128_000003_sync_lock;
mod m20261128_000004_sensitive_erase;
mod m20261202_000005_deal_documents;
mod m20261204_000006_security;
mod m20261204_000007_refused_records;
mod m20261204_000008_holded_fidelity;
mod m20261204_000009_party_claims;
mod m20261207_000010_holded_webhooks;
mod m20261207_000011_holded_webhook_registration;

/// The project's migrator: applies every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_initial::Migration),
            Box::new(m20261128_000002_install::Migration),
            Box::new(m20261128_000003_sync_lock::Migration),
            Box::new(m20261128_000004_sensitive_erase::Migration),
            Box::new(m20261202_000005_deal_documents::Migration),
            Box::new(m20261204_000006_security::Migration),
            Box::new(m20261204_000007_refused_records::Migration),
            Box::new(m20261204_000008_holded_fidelity::Migration),
            Box::new(m20261204_000009_party_claims::Migration),
            Box::new(m20261207_000010_holded_webhooks::Migration),
            Box::new(m20261207_000011_holded_webhook_registration::Migration),
        ]
    }
}
