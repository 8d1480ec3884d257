//! Signing in with the admin token and signing out.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use chrono::Utc;
use maud::{Markup, html};

use super::{
    CONSOLE_PATH,
    csrf::{FormFields, VerifiedForm, check_same_origin},
    error::ConsoleError,
    layout,
    session::{Throttle, console_keys, current_session, removal_cookie},
};
use crate::web::{AppState, operator::is_admin_token};

/// Why the login form is shown again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// It is not.
    None,
    /// The token was wrong.
    WrongToken,
    /// Too many failed sign-ins: wait this many minutes.
    Throttled(i64),
}

/// The login form, with the refusal's message.
fn login_page(refusal: Refusal, signed_out: bool) -> Markup {
    let refused = refusal != Refusal::None;
    layout::plain_page(
        "Iniciar sesión",
        html! {
            @if signed_out {
                p.notice role="status" { "Has cerrado la sesión." }
            }
            form.card method="post" action={ (CONSOLE_PATH) "/login" } {
                div.field {
                    label for="token" { "Token de administración" }
                    p.hint #token-hint { "El valor de HH_ADMIN_TOKEN configurado en el servidor." }
                    @match refusal {
                        Refusal::WrongToken => p.field-error #token-error role="alert" { "El token no es correcto. Compruébalo e inténtalo de nuevo." },
                        Refusal::Throttled(minutes) => p.field-error #token-error role="alert" {
                            "Demasiados intentos fallidos. Vuelve a intentarlo dentro de " (minutes) " minuto" @if minutes != 1 { "s" } "."
                        },
                        Refusal::None => {},
                    }
                    input #token type="password" name="token" required autocomplete="current-password"
                        aria-describedby=(if refused { "token-hint token-error" } else { "token-hint" })
                        aria-invalid=[refused.then_some("true")];
                }
                button type="submit" { "Entrar" }
            }
        },
    )
}

/// What the login page may be reached with.
#[derive(Debug, serde::Deserialize)]
pub struct LoginQuery {
    salida: Option<String>,
}

/// The login form (or the portals, when already signed in).
#[get("/login")]
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, ConsoleError> {
    if current_session(&state, &req).await?.is_some() {
        return Ok(layout::see_other(CONSOLE_PATH).finish());
    }
    Ok(layout::html_response(
        StatusCode::OK,
        login_page(Refusal::None, query.salida.is_some()),
    ))
}

/// Checks the token and opens a session: 401 with a Spanish message when the
/// token is wrong, 429 while the address (or the token) is throttled, even
/// for the right token.
#[post("/login")]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let keys = console_keys(&state)?;
    check_same_origin(&req, &state.config)?;
    let throttle = Throttle::for_request(&state, &req);
    if let Some(until) = throttle.locked_until().await? {
        let minutes = ((until - Utc::now()).num_seconds() + 59) / 60;
        tracing::warn!(%until, "console: sign-in refused (throttled)");
        return Ok(layout::html_response(
            StatusCode::TOO_MANY_REQUESTS,
            login_page(Refusal::Throttled(minutes.max(1)), false),
        ));
    }
    let form = FormFields::parse(&body);
    if !is_admin_token(&state.config, form.get("token").unwrap_or_default()) {
        throttle.failed().await?;
        tracing::warn!("console: sign-in refused (wrong admin token)");
        return Ok(layout::html_response(
            StatusCode::UNAUTHORIZED,
            login_page(Refusal::WrongToken, false),
        ));
    }
    tracing::info!("console: operator signed in");
    let session = keys.open_session(&state).await?;
    Ok(layout::see_other(CONSOLE_PATH)
        .cookie(session.cookie(&state.config))
        .finish())
}

/// Ends the session on every web process, removes the cookie, and goes back
/// to the login form.
#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    form: VerifiedForm,
) -> Result<HttpResponse, ConsoleError> {
    form.session.revoke(&state).await?;
    Ok(layout::see_other(&format!("{CONSOLE_PATH}/login?salida"))
        .cookie(removal_cookie(&state.config))
        .finish())
}
