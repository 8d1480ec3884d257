//! `/crm/v3/pipelines/deals` and `/crm/pipelines/2026-09/deals`.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{
    HubspotSim,
    errors::{ApiError, ApiResult},
    gate::Caller,
    model::ObjType,
};

/// Registers pipeline routes under `prefix`.
pub fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.route(&format!("{prefix}/{{t}}"), web::get().to(list))
        .route(&format!("{prefix}/{{t}}/{{id}}"), web::get().to(get_one));
}

fn deals_only(t: &str) -> Result<(), ApiError> {
    match ObjType::parse(t) {
        Some(ObjType::Deals) => Ok(()),
        _ => Err(ApiError::validation(format!(
            "Pipelines are not supported for object type {t} in this simulator"
        ))),
    }
}

async fn list(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<String>,
) -> ApiResult {
    deals_only(&path)?;
    caller.require(&ObjType::Deals.scopes(false))?;
    let state = sim.lock();
    let results: Vec<_> = state.portals[&caller.portal_id]
        .pipelines
        .iter()
        .map(|p| p.to_json())
        .collect();
    Ok(HttpResponse::Ok().json(json!({"results": results})))
}

async fn get_one(
    sim: web::Data<HubspotSim>,
    caller: web::ReqData<Caller>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (t, id) = path.into_inner();
    deals_only(&t)?;
    let state = sim.lock();
    let pipeline = state.portals[&caller.portal_id]
        .pipelines
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::not_found(format!("Unable to find pipeline {id}")))?;
    Ok(HttpResponse::Ok().json(pipeline.to_json()))
}
