//! Signing in with the admin token and signing out.

use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, post, web};
use maud::{Markup, html};

use super::{
    CONSOLE_PATH,
    csrf::{FormFields, VerifiedForm, check_same_origin},
    error::ConsoleError,
    layout,
    session::{console_keys, current_session, removal_cookie},
};
use crate::web::AppState;

/// The login form; `refused` shows the wrong-token message.
fn login_page(refused: bool, signed_out: bool) -> Markup {
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
                    @if refused {
                        p.field-error #token-error role="alert" { "El token no es correcto. Compruébalo e inténtalo de nuevo." }
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
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, ConsoleError> {
    if current_session(&req)?.is_some() {
        return Ok(layout::see_other(CONSOLE_PATH).finish());
    }
    Ok(layout::html_response(
        StatusCode::OK,
        login_page(false, query.salida.is_some()),
    ))
}

/// Checks the token (401 with a Spanish message when wrong) and opens a session.
#[post("/login")]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let keys = console_keys(&req)?;
    check_same_origin(&req, &state.config)?;
    let form = FormFields::parse(&body);
    if !keys.is_admin_token(form.get("token").unwrap_or_default()) {
        tracing::warn!("console: sign-in refused (wrong admin token)");
        return Ok(layout::html_response(
            StatusCode::UNAUTHORIZED,
            login_page(true, false),
        ));
    }
    tracing::info!("console: operator signed in");
    let session = keys.open_session();
    Ok(layout::see_other(CONSOLE_PATH)
        .cookie(session.cookie(&state.config))
        .finish())
}

/// Ends the session (removes the cookie) and goes back to the login form.
#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    _: VerifiedForm,
) -> Result<HttpResponse, ConsoleError> {
    Ok(layout::see_other(&format!("{CONSOLE_PATH}/login?salida"))
        .cookie(removal_cookie(&state.config))
        .finish())
}
