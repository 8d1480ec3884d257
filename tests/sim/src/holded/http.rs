//! The simulator's view of a request and a reply, independent of actix.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web::Bytes};
use serde_json::{Value, json};

/// A request as the handlers see it.
#[derive(Debug, Clone)]
pub struct SimRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Query parameters (last value wins).
    pub query: HashMap<String, String>,
    /// Header `key` (v1).
    pub key: Option<String>,
    /// Header `Authorization`.
    pub authorization: Option<String>,
    /// Raw body.
    pub body: Bytes,
}

impl SimRequest {
    /// From an actix request.
    pub fn from_actix(req: &HttpRequest, body: Bytes) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let query = url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();
        Self {
            method: req.method().as_str().to_owned(),
            path: req.path().to_owned(),
            query,
            key: header("key"),
            authorization: header("authorization"),
            body,
        }
    }

    /// Path segments after `prefix` (`None` if the path is not under it).
    pub fn segments(&self, prefix: &str) -> Option<Vec<&str>> {
        let rest = self.path.strip_prefix(prefix)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        Some(rest.split('/').filter(|s| !s.is_empty()).collect())
    }

    /// The body as JSON (`Null` when empty).
    pub fn json(&self) -> Result<Value, String> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| e.to_string())
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }
}

/// A reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

/// Holded's web page, which v1 serves with HTTP 200 for unknown routes.
const HTML_PAGE: &str = "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>Holded</title></head><body><div id=\"app\"><h1>Página no encontrada</h1><p>La página que buscas no existe.</p></div></body></html>";

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.to_string(),
            headers: Vec::new(),
        }
    }

    /// A JSON reply from any serialisable value.
    pub fn serialize(status: u16, body: &impl serde::Serialize) -> Self {
        match serde_json::to_string(body) {
            Ok(body) => Self {
                status,
                content_type: "application/json",
                body,
                headers: Vec::new(),
            },
            Err(e) => Self::problem(500, &e.to_string()),
        }
    }

    /// An RFC 7807 problem (v2).
    pub fn problem(status: u16, detail: &str) -> Self {
        let (kind, title) = match status {
            400 => ("bad-request", "Bad request"),
            401 => ("unauthorized", "Unauthorized"),
            403 => ("forbidden", "Forbidden"),
            404 => ("not-found", "Not found"),
            409 => ("conflict", "Conflict"),
            422 => ("unprocessable-entity", "Unprocessable entity"),
            429 => ("too-many-requests", "Too many requests"),
            _ => ("internal-server-error", "Internal server error"),
        };
        Self {
            content_type: "application/problem+json",
            ..Self::json(
                status,
                json!({
                    "type": format!("https://api.holded.com/problems/{kind}"),
                    "title": title,
                    "status": status,
                    "detail": detail,
                }),
            )
        }
    }

    /// The refusal of a call beyond the account's monthly quota. No source
    /// shows Holded's real one; this is the harsher reading: the same 429
    /// problem as the per-minute limit (a naive client retries it), told
    /// apart only by its detail and an `X-RateLimit-Window: month` header
    /// (a public design note of 2026-08 says `X-RateLimit-*` headers name the
    /// tripped window, minute or month), and no `Retry-After`.
    pub fn quota_exceeded(limit: u64, period: &str) -> Self {
        Self::problem(
            429,
            &format!("Monthly API quota exceeded: {limit} requests in {period}."),
        )
        .with_header("x-ratelimit-window", "month".to_owned())
        .with_header("x-ratelimit-remaining", "0".to_owned())
    }

    /// Holded's HTML page with HTTP 200.
    pub fn html() -> Self {
        Self {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: HTML_PAGE.to_owned(),
            headers: Vec::new(),
        }
    }

    /// A bare status with an empty body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: "text/plain",
            body: String::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// As an actix response.
    pub fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::build(status);
        response.content_type(self.content_type);
        for (name, value) in self.headers {
            response.insert_header((name, value));
        }
        response.body(self.body)
    }
}
