//! HubSpot OAuth: the install URL with a signed `state`, the code exchange,
//! refresh and introspection. Built on the `oauth2` crate, driven by our own
//! reqwest client (see [`ReqwestHttp`]).

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
    basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicTokenResponse},
};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Deserialize;

use super::{error::HubspotError, tokens::Tokens};
use crate::crypto::{TokenError, sign_expiring, verify_expiring};

/// How long an install link's `state` stays valid.
pub const STATE_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// Adapts our reqwest client to `oauth2`'s async HTTP client trait, so the
/// crate's own reqwest feature stays off and one reqwest is compiled.
#[derive(Clone, Debug)]
pub struct ReqwestHttp(pub reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for ReqwestHttp {
    type Error = reqwest::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = self.0.execute(request).await?;
            let mut builder = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(builder
                .body(body)
                .expect("status and headers come from a valid response"))
        })
    }
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The app's OAuth settings.
#[derive(Clone)]
pub struct OAuthSettings {
    /// App client id.
    pub client_id: String,
    /// App client secret (also the key of HubSpot's request signatures).
    pub client_secret: SecretString,
    /// The key that signs `state` values (derived from `HH_SECRET_KEY`).
    pub state_key: std::sync::Arc<SecretBox<[u8; 32]>>,
    /// Where HubSpot sends the user back, e.g. `https://app.example.com/oauth/callback`.
    pub redirect_url: String,
    /// Authorize page, e.g. `https://app.hubspot.com/oauth/authorize`.
    pub authorize_url: String,
    /// API base URL, e.g. `https://api.hubapi.com`.
    pub api_base: String,
    /// Required scopes.
    pub scopes: Vec<String>,
    /// Optional scopes: HubSpot grants those the portal's subscription allows
    /// (the sensitive-data scopes only on Enterprise) and drops the rest.
    pub optional_scopes: Vec<String>,
}

impl std::fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("state_key", &"[redacted]")
            .field("redirect_url", &self.redirect_url)
            .field("authorize_url", &self.authorize_url)
            .field("api_base", &self.api_base)
            .field("scopes", &self.scopes)
            .field("optional_scopes", &self.optional_scopes)
            .finish()
    }
}

/// What introspection tells about an access token.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenInfo {
    /// Whether the token is live.
    pub active: bool,
    /// The portal (HubSpot account) id.
    pub hub_id: u64,
    /// The app id.
    #[serde(default)]
    pub app_id: Option<u64>,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Seconds until expiry.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// OAuth operations for one app.
#[derive(Clone)]
pub struct OAuth {
    client: Client,
    settings: OAuthSettings,
    http: ReqwestHttp,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("settings", &self.settings)
            .finish()
    }
}

fn oauth_error(e: impl std::fmt::Display) -> HubspotError {
    HubspotError::OAuth(e.to_string())
}

impl OAuth {
    /// Sets up the OAuth client (token endpoint `/oauth/2026-03/token`).
    pub fn new(settings: OAuthSettings, http: reqwest::Client) -> Result<Self, HubspotError> {
        let base = settings.api_base.trim_end_matches('/');
        let client = BasicClient::new(ClientId::new(settings.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                settings.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(AuthUrl::new(settings.authorize_url.clone()).map_err(oauth_error)?)
            .set_token_uri(
                TokenUrl::new(format!("{base}/oauth/2026-03/token")).map_err(oauth_error)?,
            )
            .set_redirect_uri(RedirectUrl::new(settings.redirect_url.clone()).map_err(oauth_error)?)
            .set_auth_type(AuthType::RequestBody);
        Ok(Self {
            client,
            settings,
            http: ReqwestHttp(http),
        })
    }

    /// The install link: scopes, redirect and a signed `state` valid for
    /// [`STATE_TTL`]. Returns the URL and the state.
    pub fn authorize_url(&self, now: DateTime<Utc>) -> (String, String) {
        let state = sign_state(self.settings.state_key.expose_secret(), now + STATE_TTL);
        let mut request = self
            .client
            .authorize_url(|| CsrfToken::new(state))
            .add_scopes(self.settings.scopes.iter().cloned().map(Scope::new));
        if !self.settings.optional_scopes.is_empty() {
            request =
                request.add_extra_param("optional_scope", self.settings.optional_scopes.join(" "));
        }
        let (url, csrf) = request.url();
        (url.to_string(), csrf.secret().clone())
    }

    /// Checks a `state` returned by HubSpot: our signature and not expired.
    pub fn verify_state(&self, state: &str, now: DateTime<Utc>) -> Result<(), HubspotError> {
        verify_state(self.settings.state_key.expose_secret(), state, now)
    }

    /// Exchanges the authorization code for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Tokens, HubspotError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(oauth_error)?;
        Ok(tokens_from(&response, None, now))
    }

    /// Exchanges a refresh token for a new access token (and keeps the
    /// refresh token if HubSpot does not rotate it).
    pub async fn refresh(
        &self,
        tokens: &Tokens,
        now: DateTime<Utc>,
    ) -> Result<Tokens, HubspotError> {
        let refresh = tokens
            .refresh_token
            .as_ref()
            .ok_or_else(|| HubspotError::Auth {
                message: "token sin refresh token".into(),
            })?;
        let refresh = RefreshToken::new(refresh.expose_secret().to_owned());
        let response = self
            .client
            .exchange_refresh_token(&refresh)
            .request_async(&self.http)
            .await
            .map_err(refresh_error)?;
        Ok(tokens_from(&response, tokens.refresh_token.clone(), now))
    }

    /// Posts a token-management form (`introspect`, `revoke`) with the app's credentials.
    async fn token_form(
        &self,
        action: &str,
        token: &SecretString,
        hint: &str,
    ) -> Result<Vec<u8>, HubspotError> {
        let base = self.settings.api_base.trim_end_matches('/');
        let transport = |e: reqwest::Error| HubspotError::Transport(e.without_url().to_string());
        let response = self
            .http
            .0
            .post(format!("{base}/oauth/2026-03/token/{action}"))
            .form(&[
                ("client_id", self.settings.client_id.as_str()),
                ("client_secret", self.settings.client_secret.expose_secret()),
                ("token", token.expose_secret()),
                ("token_type_hint", hint),
            ])
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(HubspotError::OAuth(format!(
                "{action} HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )));
        }
        Ok(bytes.to_vec())
    }

    /// Revokes the refresh token (uninstall); its access tokens stop working too.
    pub async fn revoke(&self, tokens: &Tokens) -> Result<(), HubspotError> {
        let refresh = tokens
            .refresh_token
            .as_ref()
            .ok_or_else(|| HubspotError::OAuth("sin refresh token / no refresh token".into()))?;
        self.token_form("revoke", refresh, "refresh_token")
            .await
            .map(drop)
    }

    /// Introspects an access token: its portal (hub id) and granted scopes.
    pub async fn introspect(&self, tokens: &Tokens) -> Result<TokenInfo, HubspotError> {
        let bytes = self
            .token_form("introspect", &tokens.access_token, "access_token")
            .await?;
        let info: TokenInfo =
            serde_json::from_slice(&bytes).map_err(|e| HubspotError::Decode(e.to_string()))?;
        if info.active {
            Ok(info)
        } else {
            Err(HubspotError::Auth {
                message: "token inactivo / inactive token".into(),
            })
        }
    }
}

/// Only `invalid_grant` means the installation is gone (uninstalled, or the
/// refresh token revoked); a timeout, a 5xx or 429 (whose bodies are not
/// OAuth errors) and any other refusal may pass and are tried again.
fn refresh_error(err: RequestTokenError<reqwest::Error, BasicErrorResponse>) -> HubspotError {
    match err {
        RequestTokenError::ServerResponse(response)
            if *response.error() == BasicErrorResponseType::InvalidGrant =>
        {
            HubspotError::Auth {
                message: format!(
                    "HubSpot rechazó el refresh token (invalid_grant{})",
                    response
                        .error_description()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
            }
        }
        RequestTokenError::ServerResponse(response) => {
            HubspotError::RefreshFailed(format!("HubSpot respondió {}", response.error()))
        }
        RequestTokenError::Request(e) => {
            HubspotError::RefreshFailed(format!("sin respuesta de HubSpot ({})", e.without_url()))
        }
        // The body is not echoed: an unreadable success could carry tokens.
        RequestTokenError::Parse(_, body) => HubspotError::RefreshFailed(format!(
            "respuesta inesperada de HubSpot ({} bytes)",
            body.len()
        )),
        RequestTokenError::Other(message) => HubspotError::RefreshFailed(message),
    }
}

fn tokens_from(
    response: &BasicTokenResponse,
    previous_refresh: Option<SecretString>,
    now: DateTime<Utc>,
) -> Tokens {
    Tokens {
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|r| SecretString::from(r.secret().clone()))
            .or(previous_refresh),
        expires_at: response
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| now + d),
    }
}

/// A `state` value `{nonce}.{expiry}.{hmac}` signed with `key`.
pub fn sign_state(key: &[u8], expires_at: DateTime<Utc>) -> String {
    sign_expiring(key, expires_at)
}

/// Verifies a `state` made by [`sign_state`].
pub fn verify_state(key: &[u8], state: &str, now: DateTime<Utc>) -> Result<(), HubspotError> {
    match verify_expiring(key, state, now) {
        Ok(_) => Ok(()),
        Err(TokenError::Malformed) => Err(oauth_error("state mal formado / malformed state")),
        Err(TokenError::BadSignature) => Err(oauth_error(
            "state con firma no válida / state signature mismatch",
        )),
        Err(TokenError::Expired) => Err(oauth_error(
            "el enlace de instalación caducó / state expired",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_expiry_and_tampering() {
        let secret = b"s3cret";
        let now = Utc::now();
        let state = sign_state(secret, now + STATE_TTL);
        assert!(verify_state(secret, &state, now).is_ok());
        assert!(
            verify_state(
                secret,
                &state,
                now + STATE_TTL + chrono::Duration::seconds(1)
            )
            .is_err()
        );
        assert!(verify_state(b"other", &state, now).is_err());
        let (payload, mac) = state.rsplit_once('.').expect("three parts");
        let (nonce, _) = payload.rsplit_once('.').expect("nonce and expiry");
        let forged = format!(
            "{nonce}.{}.{mac}",
            (now + chrono::Duration::days(9)).timestamp()
        );
        assert!(verify_state(secret, &forged, now).is_err());
        let other = sign_state(secret, now + STATE_TTL);
        assert_ne!(state, other, "each state carries its own nonce");
    }
}
