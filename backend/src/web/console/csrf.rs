//! Cross-site request forgery. Every form POST carries the session's CSRF
//! token in a hidden field, checked in constant time; and when the browser
//! says where the form came from (`Origin`, `Sec-Fetch-Site`), it must be the
//! console's own origin.

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures::future::LocalBoxFuture;
use maud::{Markup, html};
use subtle::ConstantTimeEq;

use super::{error::ConsoleError, session::Session};
use crate::{config::Config, web::AppState};

/// The hidden field's name.
pub const CSRF_FIELD: &str = "csrf";

/// The hidden field every console form includes.
pub fn hidden_field(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.bound_value("csrf")); }
}

/// The fields of a submitted form (`application/x-www-form-urlencoded`).
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Reads a form body.
    pub fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The value of field `name` (the first, when repeated).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The trimmed value of `name`, empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    /// Whether the checkbox `name` was ticked (sent at all).
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Refuses a request that the browser says comes from another site. Requests
/// without those headers (not from a browser) pass this check.
pub fn check_same_origin(req: &HttpRequest, config: &Config) -> Result<(), ConsoleError> {
    let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or(""));
    if let Some(site) = header("Sec-Fetch-Site")
        && site != "same-origin"
    {
        tracing::warn!(sec_fetch_site = site, "console: refused a cross-site form");
        return Err(ConsoleError::Forgery);
    }
    if let Some(origin) = header("Origin")
        && origin != config.public_url.origin().ascii_serialization()
    {
        tracing::warn!(origin, "console: refused a form from another origin");
        return Err(ConsoleError::Forgery);
    }
    Ok(())
}

/// A form POSTed from the console by a signed-in operator: same origin, and
/// carrying the session's CSRF token (an extractor; without a session it
/// redirects to the login form, and a forged form is answered 403).
pub struct VerifiedForm {
    /// Who posted it.
    pub session: Session,
    /// Its fields.
    pub fields: FormFields,
}

impl VerifiedForm {
    fn verify(req: &HttpRequest, session: Session, body: &[u8]) -> Result<Self, ConsoleError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .expect("the application state is registered");
        check_same_origin(req, &state.config)?;
        let fields = FormFields::parse(body);
        let expected = session.bound_value("csrf");
        let given = fields.get(CSRF_FIELD).unwrap_or_default();
        if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            Ok(Self { session, fields })
        } else {
            tracing::warn!("console: refused a form without this session's CSRF token");
            Err(ConsoleError::Forgery)
        }
    }
}

impl FromRequest for VerifiedForm {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = Session::extract(req);
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let session = session.await?;
            let body = body.await?;
            Ok(Self::verify(&req, session, &body)?)
        })
    }
}
