//! Who may use the console. The operator trades `HH_ADMIN_TOKEN` at the login
//! form for a session cookie: an unguessable token signed (HMAC-SHA256) with
//! the console's own key (derived from `HH_SECRET_KEY`), expiring after
//! [`SESSION_LIFETIME`], and recorded in the database, so that signing out
//! ends it on every web process and a new admin token ends every session
//! opened with the old one. The cookie is `HttpOnly`, `SameSite=Strict`,
//! scoped to the console's path, and `Secure` when the public URL is https.
//!
//! Failed sign-ins are throttled ([`Throttle`]): per client address, and for
//! the admin token as a whole, across every web process.

use actix_web::{
    FromRequest, HttpRequest,
    cookie::{Cookie, SameSite, time},
    dev::Payload,
    web,
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use futures::future::LocalBoxFuture;
use secrecy::ExposeSecret;

use super::{CONSOLE_PATH, error::ConsoleError};
use crate::{
    config::Config,
    crypto::{hmac_sha256, sign_expiring, to_hex, verify_expiring},
    web::{AppState, signed::internal},
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hh_console";

/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::hours(12);

/// The console's keys: the session signing key, and the fingerprint of the
/// admin token sessions are opened with.
pub struct ConsoleKeys {
    session_key: [u8; 32],
    token_fingerprint: String,
}

impl ConsoleKeys {
    /// The keys of `state`'s configuration; `None` when the console is
    /// disabled (no admin token).
    pub fn of(state: &AppState) -> Option<Self> {
        let token = state.config.admin_token.as_ref()?;
        let session_key = *state.keys.console_session_key();
        let token_fingerprint =
            to_hex(&hmac_sha256(&session_key, token.expose_secret().as_bytes()));
        Some(Self {
            session_key,
            token_fingerprint,
        })
    }

    /// Opens a session valid for [`SESSION_LIFETIME`] from now.
    pub async fn open_session(&self, state: &AppState) -> Result<Session, ConsoleError> {
        let expires_at = Utc::now() + SESSION_LIFETIME;
        let token = sign_expiring(&self.session_key, expires_at);
        let session = self
            .signed_session(&token)
            .expect("a token signed just now verifies");
        state
            .store
            .open_console_session(&session.nonce, &self.token_fingerprint, expires_at)
            .await
            .map_err(internal)?;
        Ok(session)
    }

    /// The session a cookie value stands for, if its signature and expiry hold.
    fn signed_session(&self, token: &str) -> Option<Session> {
        let nonce = verify_expiring(&self.session_key, token, Utc::now()).ok()?;
        Some(Session {
            nonce: nonce.to_owned(),
            token: token.to_owned(),
            key: self.session_key,
        })
    }

    /// The session a cookie value stands for, if it is genuine, unexpired,
    /// not signed out, and opened with the current admin token.
    async fn live_session(
        &self,
        state: &AppState,
        token: &str,
    ) -> Result<Option<Session>, ConsoleError> {
        let Some(session) = self.signed_session(token) else {
            return Ok(None);
        };
        let live = state
            .store
            .console_session_is_live(&session.nonce, &self.token_fingerprint, Utc::now())
            .await
            .map_err(internal)?;
        Ok(live.then_some(session))
    }
}

/// A signed-in operator's session (an extractor: pages that take one redirect
/// to the login form without it).
pub struct Session {
    nonce: String,
    token: String,
    key: [u8; 32],
}

impl Session {
    /// A value only this session can present, for `purpose` (its CSRF token).
    pub fn bound_value(&self, purpose: &str) -> String {
        let message = format!("{purpose}.{}", self.nonce);
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.key, message.as_bytes()))
    }

    /// The `Set-Cookie` that stores this session in the browser.
    pub fn cookie(&self, config: &Config) -> Cookie<'static> {
        session_cookie(config, self.token.clone(), SESSION_LIFETIME.num_seconds())
    }

    /// Ends this session for every web process (signing out).
    pub async fn revoke(&self, state: &AppState) -> Result<(), ConsoleError> {
        Ok(state
            .store
            .revoke_console_session(&self.nonce)
            .await
            .map_err(internal)?)
    }
}

/// The `Set-Cookie` that removes the session from the browser (logout).
pub fn removal_cookie(config: &Config) -> Cookie<'static> {
    session_cookie(config, String::new(), 0)
}

fn session_cookie(config: &Config, value: String, max_age_seconds: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path(CONSOLE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(config.public_url.scheme() == "https")
        .max_age(time::Duration::seconds(max_age_seconds))
        .finish()
}

fn app_state(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>()
        .expect("the application state is registered")
        .clone()
}

/// The console's keys, or [`ConsoleError::Disabled`].
pub fn console_keys(state: &AppState) -> Result<ConsoleKeys, ConsoleError> {
    ConsoleKeys::of(state).ok_or(ConsoleError::Disabled)
}

/// The request's session, if its cookie holds a live one.
pub async fn current_session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<Session>, ConsoleError> {
    let keys = console_keys(state)?;
    match req.cookie(SESSION_COOKIE) {
        Some(cookie) => keys.live_session(state, cookie.value()).await,
        None => Ok(None),
    }
}

impl FromRequest for Session {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req);
            current_session(&state, &req)
                .await?
                .ok_or(ConsoleError::LoginRequired)
        })
    }
}

/// Failed sign-ins allowed from one address within [`THROTTLE_WINDOW`].
pub const FAILURES_PER_ADDRESS: i32 = 5;
/// Failed sign-ins allowed from all addresses together within the window.
pub const FAILURES_PER_TOKEN: i32 = 20;
/// The window failures are counted in, and how long an address is locked.
pub const THROTTLE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
/// How long every sign-in waits once the token itself is under attack
/// (short, so that an attacker cannot keep the operator out for long).
pub const TOKEN_LOCK: chrono::Duration = chrono::Duration::minutes(1);

/// Throttles sign-ins: [`FAILURES_PER_ADDRESS`] from one address lock that
/// address for [`THROTTLE_WINDOW`]; [`FAILURES_PER_TOKEN`] from anywhere lock
/// every sign-in for [`TOKEN_LOCK`].
pub struct Throttle<'a> {
    state: &'a AppState,
    address_key: String,
}

/// The key under which all failures against the admin token are counted.
const TOKEN_KEY: &str = "token:admin";

impl<'a> Throttle<'a> {
    /// The throttle for a sign-in from `req`'s client address (the
    /// `Forwarded`/`X-Forwarded-For` address when a proxy sets one).
    pub fn for_request(state: &'a AppState, req: &HttpRequest) -> Self {
        let address = req
            .connection_info()
            .realip_remote_addr()
            .unwrap_or("unknown")
            .to_owned();
        Self {
            state,
            address_key: format!("addr:{address}"),
        }
    }

    /// Until when sign-ins are refused for this request, if they are.
    pub async fn locked_until(&self) -> Result<Option<DateTime<Utc>>, ConsoleError> {
        let now = Utc::now();
        let mut until = None;
        for key in [self.address_key.as_str(), TOKEN_KEY] {
            let locked = self
                .state
                .store
                .login_locked_until(key, now)
                .await
                .map_err(internal)?;
            until = until.max(locked);
        }
        Ok(until)
    }

    /// Counts a failed sign-in against the address and the token.
    pub async fn failed(&self) -> Result<(), ConsoleError> {
        let now = Utc::now();
        let store = &self.state.store;
        store
            .record_login_failure(
                &self.address_key,
                now,
                THROTTLE_WINDOW,
                FAILURES_PER_ADDRESS,
                THROTTLE_WINDOW,
            )
            .await
            .map_err(internal)?;
        Ok(store
            .record_login_failure(
                TOKEN_KEY,
                now,
                THROTTLE_WINDOW,
                FAILURES_PER_TOKEN,
                TOKEN_LOCK,
            )
            .await
            .map_err(internal)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(session_key: u8, token: &str) -> ConsoleKeys {
        ConsoleKeys {
            session_key: [session_key; 32],
            token_fingerprint: token.to_owned(),
        }
    }

    #[test]
    fn sessions_verify_under_their_key_only_and_each_has_its_own_csrf_token() {
        let keys = keys(1, "fp");
        let token = sign_expiring(&keys.session_key, Utc::now() + SESSION_LIFETIME);
        let session = keys
            .signed_session(&token)
            .expect("its own cookie verifies");
        let again = keys.signed_session(&session.token).unwrap();
        assert_eq!(again.bound_value("csrf"), session.bound_value("csrf"));
        assert_ne!(session.bound_value("csrf"), session.bound_value("other"));
        let other_token = sign_expiring(&keys.session_key, Utc::now() + SESSION_LIFETIME);
        let other = keys.signed_session(&other_token).unwrap();
        assert_ne!(other.bound_value("csrf"), session.bound_value("csrf"));

        assert!(
            self::keys(2, "fp").signed_session(&token).is_none(),
            "another key refuses it"
        );
        let mut tampered = token.clone();
        tampered.replace_range(0..1, if tampered.starts_with('a') { "b" } else { "a" });
        assert!(keys.signed_session(&tampered).is_none());
        assert!(keys.signed_session("").is_none());
        let expired = sign_expiring(&keys.session_key, Utc::now() - chrono::Duration::seconds(1));
        assert!(keys.signed_session(&expired).is_none());
    }
}
