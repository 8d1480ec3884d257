//! OAuth tokens and the hook through which the caller persists them.

use std::{fmt, sync::Mutex};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use secrecy::SecretString;

/// A portal's tokens. `Debug` never shows them.
#[derive(Clone)]
pub struct Tokens {
    /// Bearer token for API calls (30 minutes for OAuth apps).
    pub access_token: SecretString,
    /// Refresh token; `None` for static tokens that cannot be refreshed.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires; `None` if it does not.
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Tokens {
    /// A token that never expires and cannot be refreshed (static/test tokens).
    pub fn fixed(access_token: SecretString) -> Self {
        Self {
            access_token,
            refresh_token: None,
            expires_at: None,
        }
    }

    /// Whether the access token expires within `margin` of `now`.
    pub fn expires_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.expires_at.is_some_and(|at| at - now <= margin)
    }
}

/// What the client learned about an installation's access, for the token
/// store's owner to record (the backend keeps it on the portal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessEvent {
    /// Refreshing failed for a reason that may pass; the Spanish reason.
    RefreshFailed(String),
    /// HubSpot refused the refresh token (`invalid_grant`): uninstalled or
    /// revoked; the Spanish reason.
    Revoked(String),
    /// A call needed scopes the installation was not granted.
    MissingScopes(Vec<String>),
}

/// Where a portal's tokens live. The backend implements it over encrypted
/// storage; the client calls [`TokenStore::save`] after every refresh so
/// rotated tokens are never lost, and [`TokenStore::note`] when it learns
/// something about the installation's access.
pub trait TokenStore: Send + Sync {
    /// The current tokens.
    fn load(&self) -> BoxFuture<'_, Result<Tokens, String>>;
    /// Persists new tokens (after a refresh).
    fn save(&self, tokens: Tokens) -> BoxFuture<'_, Result<(), String>>;
    /// Records what the client learned about the access (default: nothing).
    fn note(&self, _event: AccessEvent) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Tokens kept in memory (tests, one-off tools).
#[derive(Debug)]
pub struct MemoryTokenStore(Mutex<Tokens>);

impl MemoryTokenStore {
    /// A store holding `tokens`.
    pub fn new(tokens: Tokens) -> Self {
        Self(Mutex::new(tokens))
    }

    /// The tokens held now.
    pub fn current(&self) -> Tokens {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, Result<Tokens, String>> {
        let tokens = self.current();
        Box::pin(async move { Ok(tokens) })
    }

    fn save(&self, tokens: Tokens) -> BoxFuture<'_, Result<(), String>> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = tokens;
        Box::pin(async { Ok(()) })
    }
}
