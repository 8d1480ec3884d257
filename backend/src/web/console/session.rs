//! Who may use the console. The operator trades `HH_ADMIN_TOKEN` at the login
//! form for a session cookie: an unguessable token signed (HMAC-SHA256) with a
//! key derived from the admin token, so changing the token ends every session,
//! and expiring after [`SESSION_LIFETIME`]. The cookie is `HttpOnly`,
//! `SameSite=Strict`, scoped to the console's path, and `Secure` when the
//! public URL is https.

use std::future::{Ready, ready};

use actix_web::{
    FromRequest, HttpRequest,
    cookie::{Cookie, SameSite, time},
    dev::Payload,
    web,
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{CONSOLE_PATH, error::ConsoleError};
use crate::{
    config::Config,
    crypto::{hmac_sha256, sign_expiring, verify_expiring},
    web::AppState,
};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "hh_console";

/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::hours(12);

/// The console's secrets, derived from the admin token.
pub struct ConsoleKeys {
    token_digest: [u8; 32],
    session_key: [u8; 32],
}

impl ConsoleKeys {
    /// The keys of the configured admin token; `None` when the console is disabled.
    pub fn from_config(config: &Config) -> Option<Self> {
        let token = config.admin_token.as_ref()?;
        Some(Self::from_token(token.expose_secret().as_bytes()))
    }

    fn from_token(token: &[u8]) -> Self {
        Self {
            token_digest: Sha256::digest(token).into(),
            session_key: hmac_sha256(token, b"holded-hubspot console session v1"),
        }
    }

    /// Whether `given` is the admin token. Both are hashed first, so the
    /// constant-time comparison leaks neither content nor length.
    pub fn is_admin_token(&self, given: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        digest.ct_eq(&self.token_digest).into()
    }

    /// A new session, valid for [`SESSION_LIFETIME`] from now.
    pub fn open_session(&self) -> Session {
        let token = sign_expiring(&self.session_key, Utc::now() + SESSION_LIFETIME);
        self.session(&token)
            .expect("a token signed just now verifies")
    }

    /// The session a cookie value stands for, if it is genuine and unexpired.
    fn session(&self, token: &str) -> Option<Session> {
        let nonce = verify_expiring(&self.session_key, token, Utc::now()).ok()?;
        Some(Session {
            nonce: nonce.to_owned(),
            token: token.to_owned(),
            key: self.session_key,
        })
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

/// The console's keys, or [`ConsoleError::Disabled`].
pub fn console_keys(req: &HttpRequest) -> Result<ConsoleKeys, ConsoleError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("the application state is registered");
    ConsoleKeys::from_config(&state.config).ok_or(ConsoleError::Disabled)
}

/// The request's session, if its cookie holds a valid one.
pub fn current_session(req: &HttpRequest) -> Result<Option<Session>, ConsoleError> {
    let keys = console_keys(req)?;
    Ok(req
        .cookie(SESSION_COOKIE)
        .and_then(|cookie| keys.session(cookie.value())))
}

impl FromRequest for Session {
    type Error = ConsoleError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(current_session(req).and_then(|session| session.ok_or(ConsoleError::LoginRequired)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &[u8] = b"operator-token-0123456789";

    #[test]
    fn only_the_admin_token_opens_a_session() {
        let keys = ConsoleKeys::from_token(TOKEN);
        assert!(keys.is_admin_token("operator-token-0123456789"));
        assert!(
            keys.is_admin_token(" operator-token-0123456789\n"),
            "pasted with spaces"
        );
        assert!(!keys.is_admin_token("operator-token-012345678"));
        assert!(!keys.is_admin_token("operator-token-01234567890"));
        assert!(!keys.is_admin_token(""));
    }

    #[test]
    fn sessions_verify_under_their_token_only_and_each_has_its_own_csrf_token() {
        let keys = ConsoleKeys::from_token(TOKEN);
        let session = keys.open_session();
        let again = keys
            .session(&session.token)
            .expect("its own cookie verifies");
        assert_eq!(again.bound_value("csrf"), session.bound_value("csrf"));
        assert_ne!(session.bound_value("csrf"), session.bound_value("other"));
        let other = keys.open_session();
        assert_ne!(other.bound_value("csrf"), session.bound_value("csrf"));

        let rotated = ConsoleKeys::from_token(b"a-new-operator-token-987");
        assert!(
            rotated.session(&session.token).is_none(),
            "a new token ends old sessions"
        );
        let mut tampered = session.token.clone();
        tampered.replace_range(0..1, if tampered.starts_with('a') { "b" } else { "a" });
        assert!(keys.session(&tampered).is_none());
        assert!(keys.session("").is_none());
    }
}
