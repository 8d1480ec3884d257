//! Liveness, readiness and metrics.
//!
//! `/readyz` answers a reason code, never an error's text. `/metrics` is for
//! the operator: on the public address it needs `Authorization: Bearer
//! <HH_ADMIN_TOKEN>`; `HH_METRICS_BIND` serves it on a second, private address
//! without a token ([`metrics_only`]).

use super::{
    ApiError, AppState,
    operator::{bearer_token, is_admin_token},
};
use actix_web::{HttpRequest, HttpResponse, get, http::StatusCode, web};

/// The process is alive.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The database answers and is fully migrated; 503 with a reason code otherwise.
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.readiness().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({
                "error": "not_ready",
                "reason": reason.code(),
                "message": "El servicio aún no está listo.",
            }))
        }
    }
}

/// Prometheus text exposition, for the operator's token only.
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if state.config.admin_token.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics_disabled",
            "Las métricas están desactivadas en esta dirección: define HH_ADMIN_TOKEN o HH_METRICS_BIND.",
        ));
    }
    if !is_admin_token(&state.config, bearer_token(&req).unwrap_or_default()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Las métricas son solo para el operador: Authorization: Bearer <HH_ADMIN_TOKEN>.",
        ));
    }
    Ok(exposition(&state))
}

/// `/metrics` on the private `HH_METRICS_BIND` address: no token.
pub async fn metrics_only(state: web::Data<AppState>) -> HttpResponse {
    exposition(&state)
}

fn exposition(state: &AppState) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
