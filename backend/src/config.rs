//! Configuration from the environment and command-line flags (DESIGN §4).
//!
//! Clap reads every value as text; [`Config::from_args`] then validates each one
//! and returns a [`ConfigError`] that names the variable in one line. Secret
//! values never appear in those messages.

use std::{fmt, net::SocketAddr, num::NonZeroU32, path::PathBuf, sync::Arc};

use clap::{Args, ValueEnum};
use reqwest::Url;
use secrecy::SecretString;

use crate::crypto::SecretKey;

/// Every setting, as flags with their environment variables.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Database: `postgres://…` for PostgreSQL; unset means SQLite at
    /// `<data dir>/holded-hubspot.db`, created and migrated on start.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory for the embedded default's SQLite database and generated key.
    #[arg(long, env = "HH_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Address the HTTP server listens on.
    #[arg(long, env = "HH_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,
    /// Public base URL of this service as HubSpot and browsers reach it
    /// (OAuth redirect, webhook signatures). Defaults to `http://<HH_BIND>`.
    #[arg(long, env = "HH_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Key for secrets at rest: base64 of 32 bytes. Required with PostgreSQL; on
    /// the embedded default a key is generated into `<data dir>/secret.key`.
    #[arg(long, env = "HH_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,
    /// The key secrets were sealed with before `HH_SECRET_KEY` (rotation):
    /// read, never written; `rotate-secrets` re-seals everything under the
    /// current key.
    #[arg(
        long,
        env = "HH_SECRET_KEY_PREVIOUS",
        global = true,
        hide_env_values = true
    )]
    pub secret_key_previous: Option<String>,
    /// Token that opens the operator console (`/console`) and `/metrics`
    /// (`Authorization: Bearer …`); unset disables both.
    #[arg(long, env = "HH_ADMIN_TOKEN", global = true, hide_env_values = true)]
    pub admin_token: Option<String>,
    /// HubSpot app OAuth client id.
    #[arg(long, env = "HUBSPOT_CLIENT_ID", global = true)]
    pub hubspot_client_id: Option<String>,
    /// HubSpot app OAuth client secret (also signs HubSpot's requests to us).
    #[arg(
        long,
        env = "HUBSPOT_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub hubspot_client_secret: Option<String>,
    /// HubSpot app id (recognises events caused by this app's own writes).
    #[arg(long, env = "HUBSPOT_APP_ID", global = true)]
    pub hubspot_app_id: Option<String>,
    /// HubSpot API base URL.
    #[arg(
        long,
        env = "HUBSPOT_API_BASE",
        default_value = "https://api.hubapi.com",
        global = true
    )]
    pub hubspot_api_base: String,
    /// HubSpot OAuth authorization page.
    #[arg(
        long,
        env = "HUBSPOT_AUTH_URL",
        default_value = "https://app.hubspot.com/oauth/authorize",
        global = true
    )]
    pub hubspot_auth_url: String,
    /// Holded API base URL.
    #[arg(
        long,
        env = "HOLDED_API_BASE",
        default_value = "https://api.holded.com",
        global = true
    )]
    pub holded_api_base: String,
    /// The fully qualified name HubSpot assigned to the app's "Holded" app
    /// event type (deployed and approved): deal activity then goes to the
    /// deal's timeline as app events. Unset: as notes «Holded · …».
    #[arg(long, env = "HH_TIMELINE_EVENT_TYPE", global = true)]
    pub timeline_event_type: Option<String>,
    /// Replaced by `HH_TIMELINE_EVENT_TYPE`; set, it stops start-up saying so.
    #[arg(long, env = "HH_TIMELINE", global = true, hide = true)]
    pub timeline: Option<String>,
    /// A second address serving only `/metrics`, without a token (bind it
    /// where only Prometheus reaches, e.g. a private network).
    #[arg(long, env = "HH_METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,
    /// Days that journals (handled webhook events, timeline entries, expired
    /// sessions and signatures) are kept before they are pruned.
    #[arg(long, env = "HH_RETENTION_DAYS", default_value = "30", global = true)]
    pub retention_days: String,
    /// Log format: `human` or `json`. Levels come from `RUST_LOG` (default `info`).
    #[arg(long, env = "HH_LOG_FORMAT", default_value = "human", global = true)]
    pub log_format: String,
    /// Holded calls a month each customer's plan allows (v1 and v2 together;
    /// Holded's own limit, where a v2 token may read it, lowers it).
    #[arg(
        long,
        env = "HH_HOLDED_MONTHLY_QUOTA",
        default_value = "5000",
        global = true
    )]
    pub holded_monthly_quota: String,
    /// Holded v1 requests a minute per key (v1 documents no limit; a 429 or
    /// a 5xx halves the pace for a minute). v2 keeps Holded's documented 100.
    #[arg(
        long,
        env = "HH_HOLDED_V1_RATE",
        default_value_t = crate::holded::DEFAULT_V1_REQUESTS_PER_MINUTE.to_string(),
        global = true
    )]
    pub holded_v1_rate: String,
}

/// Where the data lives.
#[derive(Clone)]
pub enum DatabaseTarget {
    /// SQLite file (the embedded default).
    Sqlite(PathBuf),
    /// PostgreSQL server, by URL.
    Postgres(Arc<SecretString>),
}

impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
            Self::Postgres(_) => f.write_str("Postgres([REDACTED])"),
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// HubSpot app credentials, present only when all of them are configured.
#[derive(Clone)]
pub struct HubspotApp {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Arc<SecretString>,
    /// App id.
    pub app_id: u64,
}

impl fmt::Debug for HubspotApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubspotApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("app_id", &self.app_id)
            .finish()
    }
}

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Database to use.
    pub database: DatabaseTarget,
    /// Directory for local data (SQLite file, generated key).
    pub data_dir: PathBuf,
    /// HTTP listen address.
    pub bind: SocketAddr,
    /// Public base URL.
    pub public_url: Url,
    /// Explicit secret key, if configured.
    pub secret_key: Option<SecretKey>,
    /// The key before the last rotation, read only.
    pub previous_secret_key: Option<SecretKey>,
    /// Console token, if configured.
    pub admin_token: Option<Arc<SecretString>>,
    /// HubSpot app credentials, if configured.
    pub hubspot_app: Option<HubspotApp>,
    /// HubSpot API base.
    pub hubspot_api_base: Url,
    /// HubSpot OAuth authorization page.
    pub hubspot_auth_url: Url,
    /// Holded API base.
    pub holded_api_base: Url,
    /// The app event type's fully qualified name; `None` writes notes.
    pub timeline_event_type: Option<String>,
    /// Address serving only `/metrics`, unauthenticated, if configured.
    pub metrics_bind: Option<SocketAddr>,
    /// Days journals are kept.
    pub retention_days: u32,
    /// Log format.
    pub log_format: LogFormat,
    /// Holded calls a month an account's plan allows.
    pub holded_monthly_quota: u64,
    /// Holded v1 requests a minute per key.
    pub holded_v1_rate: NonZeroU32,
}

/// A configuration value that is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    /// Environment variable (and flag) at fault.
    pub variable: &'static str,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl ConfigError {
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

fn parse_url(variable: &'static str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim())
        .map_err(|e| ConfigError::new(variable, format!("`{text}` is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            variable,
            format!("`{text}` must be an http:// or https:// URL"),
        ));
    }
    Ok(url)
}

fn parse_enum<T: ValueEnum>(variable: &'static str, text: &str) -> Result<T, ConfigError> {
    T::from_str(text.trim(), true).map_err(|_| {
        let allowed: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        ConfigError::new(
            variable,
            format!("`{text}` is not one of: {}", allowed.join(", ")),
        )
    })
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn parse_database(args: &ConfigArgs) -> Result<DatabaseTarget, ConfigError> {
    const VAR: &str = "DATABASE_URL";
    let Some(url) = non_empty(args.database_url.as_ref()) else {
        return Ok(DatabaseTarget::Sqlite(
            args.data_dir.join("holded-hubspot.db"),
        ));
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Url::parse(url)
            .map_err(|e| ConfigError::new(VAR, format!("not a valid PostgreSQL URL ({e})")))?;
        Ok(DatabaseTarget::Postgres(Arc::new(SecretString::from(
            url.to_owned(),
        ))))
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(ConfigError::new(VAR, "a sqlite: URL needs a file path"));
        }
        Ok(DatabaseTarget::Sqlite(PathBuf::from(path)))
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        Err(ConfigError::new(
            VAR,
            format!(
                "unsupported database `{scheme}:`; use postgres://… or leave it unset for SQLite"
            ),
        ))
    }
}

fn parse_hubspot_app(args: &ConfigArgs) -> Result<Option<HubspotApp>, ConfigError> {
    let id = non_empty(args.hubspot_client_id.as_ref());
    let secret = non_empty(args.hubspot_client_secret.as_ref());
    let app_id = non_empty(args.hubspot_app_id.as_ref());
    match (id, secret, app_id) {
        (None, None, None) => Ok(None),
        (Some(id), Some(secret), Some(app_id)) => {
            let app_id = app_id.parse::<u64>().map_err(|_| {
                ConfigError::new("HUBSPOT_APP_ID", format!("`{app_id}` is not a number"))
            })?;
            Ok(Some(HubspotApp {
                client_id: id.to_owned(),
                client_secret: Arc::new(SecretString::from(secret.to_owned())),
                app_id,
            }))
        }
        (None, _, _) => Err(ConfigError::new(
            "HUBSPOT_CLIENT_ID",
            "missing: set it together with HUBSPOT_CLIENT_SECRET and HUBSPOT_APP_ID",
        )),
        (_, None, _) => Err(ConfigError::new(
            "HUBSPOT_CLIENT_SECRET",
            "missing: set it together with HUBSPOT_CLIENT_ID and HUBSPOT_APP_ID",
        )),
        (_, _, None) => Err(ConfigError::new(
            "HUBSPOT_APP_ID",
            "missing: set it together with HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET",
        )),
    }
}

/// `HH_TIMELINE_EVENT_TYPE`, refusing the replaced `HH_TIMELINE`.
fn parse_event_type(args: &ConfigArgs) -> Result<Option<String>, ConfigError> {
    const VAR: &str = "HH_TIMELINE_EVENT_TYPE";
    if args.timeline.is_some() {
        return Err(ConfigError::new(
            "HH_TIMELINE",
            "no longer used: remove it, and set HH_TIMELINE_EVENT_TYPE to the app event's fully qualified name for app events (unset: notes)",
        ));
    }
    match non_empty(args.timeline_event_type.as_ref()) {
        Some(name) if name.chars().any(char::is_whitespace) => Err(ConfigError::new(
            VAR,
            format!("`{name}` is not a fully qualified name like ae1234567_holded-deal-event-1"),
        )),
        name => Ok(name.map(str::to_owned)),
    }
}

impl Config {
    /// Validates the raw flags and environment values.
    pub fn from_args(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let database = parse_database(args)?;
        let bind: SocketAddr = args.bind.trim().parse().map_err(|_| {
            ConfigError::new(
                "HH_BIND",
                format!("`{}` is not an address like 127.0.0.1:8080", args.bind),
            )
        })?;
        let public_url = match non_empty(args.public_url.as_ref()) {
            Some(text) => parse_url("HH_PUBLIC_URL", text)?,
            None => Url::parse(&format!("http://{bind}")).expect("socket address forms a URL"),
        };
        let secret_key = non_empty(args.secret_key.as_ref())
            .map(|text| {
                SecretKey::from_base64(text)
                    .map_err(|e| ConfigError::new("HH_SECRET_KEY", e.to_string()))
            })
            .transpose()?;
        let previous_secret_key = non_empty(args.secret_key_previous.as_ref())
            .map(|text| {
                SecretKey::from_base64(text)
                    .map_err(|e| ConfigError::new("HH_SECRET_KEY_PREVIOUS", e.to_string()))
            })
            .transpose()?;
        if previous_secret_key.is_some() && secret_key.is_none() {
            return Err(ConfigError::new(
                "HH_SECRET_KEY_PREVIOUS",
                "set HH_SECRET_KEY too: the previous key is only read, the current one seals",
            ));
        }
        let metrics_bind = non_empty(args.metrics_bind.as_ref())
            .map(|text| {
                text.parse::<SocketAddr>().map_err(|_| {
                    ConfigError::new(
                        "HH_METRICS_BIND",
                        format!("`{text}` is not an address like 10.0.0.5:9100"),
                    )
                })
            })
            .transpose()?;
        let retention_days = args
            .retention_days
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|days| (1..=3650).contains(days))
            .ok_or_else(|| {
                ConfigError::new(
                    "HH_RETENTION_DAYS",
                    format!(
                        "`{}` is not a number of days between 1 and 3650",
                        args.retention_days
                    ),
                )
            })?;
        let holded_monthly_quota = args
            .holded_monthly_quota
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|calls| *calls >= 1)
            .ok_or_else(|| {
                ConfigError::new(
                    "HH_HOLDED_MONTHLY_QUOTA",
                    format!(
                        "`{}` is not a number of calls (1 or more)",
                        args.holded_monthly_quota
                    ),
                )
            })?;
        let holded_v1_rate = args
            .holded_v1_rate
            .trim()
            .parse::<NonZeroU32>()
            .ok()
            .ok_or_else(|| {
                ConfigError::new(
                    "HH_HOLDED_V1_RATE",
                    format!(
                        "`{}` is not a number of requests a minute (1 or more)",
                        args.holded_v1_rate
                    ),
                )
            })?;
        if secret_key.is_none() && matches!(database, DatabaseTarget::Postgres(_)) {
            return Err(ConfigError::new(
                "HH_SECRET_KEY",
                "missing: required when DATABASE_URL points to PostgreSQL (base64 of 32 bytes)",
            ));
        }
        let admin_token = non_empty(args.admin_token.as_ref())
            .map(|token| {
                if token.len() < 16 {
                    Err(ConfigError::new(
                        "HH_ADMIN_TOKEN",
                        "too short: use at least 16 characters",
                    ))
                } else {
                    Ok(Arc::new(SecretString::from(token.to_owned())))
                }
            })
            .transpose()?;
        Ok(Self {
            database,
            data_dir: args.data_dir.clone(),
            bind,
            public_url,
            secret_key,
            previous_secret_key,
            admin_token,
            hubspot_app: parse_hubspot_app(args)?,
            hubspot_api_base: parse_url("HUBSPOT_API_BASE", &args.hubspot_api_base)?,
            hubspot_auth_url: parse_url("HUBSPOT_AUTH_URL", &args.hubspot_auth_url)?,
            holded_api_base: parse_url("HOLDED_API_BASE", &args.holded_api_base)?,
            timeline_event_type: parse_event_type(args)?,
            metrics_bind,
            retention_days,
            log_format: parse_enum("HH_LOG_FORMAT", &args.log_format)?,
            holded_monthly_quota,
            holded_v1_rate,
        })
    }
}
