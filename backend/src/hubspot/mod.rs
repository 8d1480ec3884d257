//! HubSpot API client for the app: OAuth, CRM objects (batch, upsert,
//! search), properties, pipelines, associations, timeline (app events and
//! notes), account details and tax rates, with per-portal rate limiting,
//! retries, typed errors and request-signature verification.
//!
//! Start with [`Hubspot::new`], then [`Hubspot::portal`] with the portal's
//! [`TokenStore`] (the backend implements it over encrypted storage; the
//! client saves refreshed tokens through it).

pub mod account;
pub mod associations;
pub mod client;
pub mod error;
pub mod limits;
pub mod oauth;
pub mod objects;
pub mod pipelines;
pub mod properties;
pub mod search;
pub mod search_in;
pub mod signature;
pub mod timeline;
pub mod tokens;
pub mod users;

pub use client::{Hubspot, HubspotConfig, PortalClient, RetryPolicy};
pub use error::HubspotError;
pub use limits::RateLimits;
pub use oauth::{OAuth, OAuthSettings, TokenInfo};
pub use objects::{
    BatchOutcome, CreateInput, CrmObject, ObjectType, Properties, RecordError, UpdateInput,
    UpsertInput,
};
pub use tokens::{AccessEvent, MemoryTokenStore, TokenStore, Tokens};
pub use users::HubspotUser;
