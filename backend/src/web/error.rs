//! JSON error bodies: `{"error": "<code>", "message": "<Spanish text>"}`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

/// An error answered to an API caller.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a BTreeMap<String, String>>,
}

impl ApiError {
    /// An error with an HTTP status, a stable machine code and a human message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: None,
        }
    }

    /// A 422 refusing some fields, with one Spanish message per field.
    pub fn invalid_fields(fields: BTreeMap<String, String>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation",
            message: "Revisa los campos marcados.".to_owned(),
            fields: Some(fields),
        }
    }

    /// The refused fields and their Spanish messages, for a 422 from
    /// [`ApiError::invalid_fields`].
    pub fn fields(&self) -> Option<&BTreeMap<String, String>> {
        self.fields.as_ref()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(Body {
            error: self.code,
            message: &self.message,
            fields: self.fields.as_ref(),
        })
    }
}

/// Answer for unknown routes.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("No existe la ruta {} {}", req.method(), req.path()),
    ))
}

/// Turns a JSON body that cannot be read into a JSON error.
pub fn json_error(err: actix_web::error::JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "El cuerpo de la petición es demasiado grande",
        ),
        E::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Se esperaba Content-Type: application/json",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("JSON no válido: {err}"),
        ),
    };
    api.into()
}
