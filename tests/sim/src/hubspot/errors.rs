//! HubSpot's error bodies as the simulator sends them.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde_json::{Value, json};

/// An error answer: status plus HubSpot's JSON body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: Value,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(&self.body)
    }
}

/// Handler result.
pub type ApiResult = Result<HttpResponse, ApiError>;

fn body(category: &str, message: &str) -> Value {
    json!({"status": "error", "message": message, "correlationId": uuid::Uuid::new_v4().to_string(), "category": category})
}

impl ApiError {
    /// An error with `category`.
    pub fn new(status: u16, category: &str, message: impl AsRef<str>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: body(category, message.as_ref()),
        }
    }

    /// 400 `VALIDATION_ERROR`.
    pub fn validation(message: impl AsRef<str>) -> Self {
        Self::new(400, "VALIDATION_ERROR", message)
    }

    /// 404 `OBJECT_NOT_FOUND`.
    pub fn not_found(message: impl AsRef<str>) -> Self {
        Self::new(404, "OBJECT_NOT_FOUND", message)
    }

    /// 409 `CONFLICT`.
    pub fn conflict(message: impl AsRef<str>) -> Self {
        Self::new(409, "CONFLICT", message)
    }

    /// 403 `MISSING_SCOPES` naming the scopes.
    pub fn missing_scopes(scopes: &[String]) -> Self {
        let mut e = Self::new(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        );
        e.body["errors"] = json!([{"message": "One or more of the following scopes are required.", "context": {"requiredGranularScopes": scopes}}]);
        e
    }

    /// Invalid JSON body, worded as HubSpot does.
    pub fn bad_json(e: &serde_json::Error) -> Self {
        Self::validation(format!(
            "Invalid input JSON on line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    }

    /// Adds `context`.
    pub fn with_context(mut self, context: Value) -> Self {
        self.body["context"] = context;
        self
    }
}

/// One invalid property value, as listed in HubSpot's message.
#[derive(Debug, Clone)]
pub struct PropertyIssue {
    /// Property name.
    pub name: String,
    /// Machine code (`PROPERTY_DOESNT_EXIST`, `INVALID_OPTION`, …).
    pub code: &'static str,
    /// Human message.
    pub message: String,
}

/// 400 "Property values were not valid: [...]".
pub fn invalid_properties(issues: &[PropertyIssue]) -> ApiError {
    let listed: Vec<Value> = issues
        .iter()
        .map(|i| json!({"isValid": false, "message": i.message, "error": i.code, "name": i.name}))
        .collect();
    let mut e = ApiError::validation(format!(
        "Property values were not valid: {}",
        Value::Array(listed)
    ));
    e.body["errors"] = issues
        .iter()
        .map(|i| json!({"message": i.message, "code": i.code, "context": {"propertyName": [i.name]}}))
        .collect();
    e
}
