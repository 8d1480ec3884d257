//! Why a console request was refused, answered as a Spanish page (or, for a
//! missing session, as a redirect to the login form).

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use maud::html;

use super::{CONSOLE_PATH, layout};
use crate::web::ApiError;

/// A console request that cannot be answered with the page it asked for.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// `HH_ADMIN_TOKEN` is not set.
    #[error("la consola está desactivada")]
    Disabled,
    /// No valid session: the operator signs in first.
    #[error("hay que iniciar sesión")]
    LoginRequired,
    /// A form POST without this session's CSRF token or from another site.
    #[error("petición de otro origen o sin token CSRF")]
    Forgery,
    /// Nothing here (unknown page, portal or record), with the Spanish reason.
    #[error("{0}")]
    NotFound(String),
    /// An error the settings and sync APIs would answer (status and Spanish
    /// message kept).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Disabled | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::LoginRequired => StatusCode::SEE_OTHER,
            Self::Forgery => StatusCode::FORBIDDEN,
            Self::Api(err) => err.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            Self::LoginRequired => {
                return layout::see_other(&format!("{CONSOLE_PATH}/login")).finish();
            }
            Self::Disabled => (
                "Consola desactivada",
                "La consola del operador está desactivada en este servidor: define HH_ADMIN_TOKEN (al menos 16 caracteres) y reinicia el servicio.".to_owned(),
            ),
            Self::Forgery => (
                "Petición rechazada",
                "El formulario no venía de esta sesión de la consola (falta el token CSRF o el origen no coincide). Vuelve a cargar la página e inténtalo de nuevo.".to_owned(),
            ),
            Self::NotFound(message) => ("No encontrado", message.clone()),
            Self::Api(err) => ("No se pudo completar", err.to_string()),
        };
        let body = html! {
            p.error role="alert" { (message) }
            @if !matches!(self, Self::Disabled) {
                p { a href=(CONSOLE_PATH) { "Volver a la lista de portales" } }
            }
        };
        layout::html_response(self.status_code(), layout::plain_page(title, body))
    }
}
