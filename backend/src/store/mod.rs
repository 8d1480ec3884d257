//! Storage: the database connection, migrations, entities and queries.
//!
//! SQLite is the embedded default (one file, created and migrated on start);
//! PostgreSQL is used when `DATABASE_URL=postgres://…`. Both share one schema and
//! one migration set (`holded-hubspot-migrations`).

pub mod audit;
pub mod budget;
pub mod console_sessions;
pub mod contact_index;
pub mod document_requests;
pub mod document_states;
pub mod entities;
pub mod holded_usage;
pub mod holded_webhooks;
pub mod links;
pub mod oauth_states;
pub mod overview;
pub mod party_claims;
pub mod portal_tokens;
pub mod portals;
pub mod privacy;
pub mod retention;
pub mod rotation;
pub mod runs;
pub mod settings;
pub mod signed_requests;
pub mod uninstall;
pub mod webhooks;

pub use document_requests::{RequestState, RequestTrigger};
pub use overview::PortalOverview;
pub use portals::PortalStatus;
pub use runs::{RunDetail, RunItem, RunSummary, RunTrigger};

use std::time::Duration;

use holded_hubspot_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    sea_query::Expr,
};
use secrecy::ExposeSecret;

use crate::config::DatabaseTarget;

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

/// Why the service is not ready, for `/readyz` (which answers only
/// [`NotReady::code`]; the detail goes to the log).
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// The database did not answer.
    #[error("database unreachable: {0}")]
    Unreachable(String),
    /// Some migrations have not been applied.
    #[error("database not migrated: pending {0}")]
    Pending(String),
}

impl NotReady {
    /// A stable reason code, safe to show to anyone.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "database_unreachable",
            Self::Pending(_) => "migrations_pending",
        }
    }
}

impl Store {
    /// Connects to `target`. For SQLite the file and its directory are created
    /// when missing; WAL mode, a busy timeout and foreign keys are turned on.
    pub async fn connect(target: &DatabaseTarget) -> Result<Self, DbErr> {
        let mut options = match target {
            DatabaseTarget::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        DbErr::Custom(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                let mut options = ConnectOptions::new(format!("sqlite://{}", path.display()));
                options
                    .map_sqlx_sqlite_opts(|opts| {
                        opts.create_if_missing(true)
                            .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                            .busy_timeout(Duration::from_secs(10))
                            .foreign_keys(true)
                    })
                    .max_connections(8);
                options
            }
            DatabaseTarget::Postgres(url) => {
                let mut options = ConnectOptions::new(url.expose_secret().to_owned());
                options.max_connections(16);
                options
            }
        };
        options
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        Ok(Self {
            db: Database::connect(options).await?,
        })
    }

    /// Applies every pending migration (idempotent).
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await
    }

    /// The sea-orm connection.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// The database's clock `offset` from now, for a statement to judge
    /// leases by one clock whichever process runs it: `clock_timestamp()` on
    /// PostgreSQL; on SQLite (one machine, one clock) this process's clock.
    pub fn db_now(&self, offset: chrono::Duration) -> Expr {
        match self.backend() {
            DbBackend::Postgres => Expr::cust(format!(
                "(clock_timestamp() + interval '{} milliseconds')",
                offset.num_milliseconds()
            )),
            _ => Expr::value(chrono::Utc::now() + offset),
        }
    }

    /// Checks that the database answers and that every migration is applied.
    pub async fn readiness(&self) -> Result<(), NotReady> {
        self.db
            .execute_unprepared("SELECT 1")
            .await
            .map_err(|e| NotReady::Unreachable(e.to_string()))?;
        let pending = Migrator::get_pending_migrations(&self.db)
            .await
            .map_err(|e| NotReady::Unreachable(e.to_string()))?;
        if pending.is_empty() {
            Ok(())
        } else {
            let names: Vec<&str> = pending.iter().map(|m| m.name()).collect();
            Err(NotReady::Pending(names.join(", ")))
        }
    }
}
