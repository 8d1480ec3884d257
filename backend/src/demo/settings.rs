//! Saving the demo portal's settings the way the HubSpot settings page does:
//! it loads them, then saves them, both through `hubspot.fetch`, which signs
//! every request to our backend.

use anyhow::Context;
use chrono::{Datelike, Utc};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::{environment::Service, install::InstalledPortal, seed::SeededHolded};
use crate::hubspot::signature::{FetchIdentity, SignedRequest, hubspot_fetch_url, sign_v3};

/// Document type → stage of the default pipeline where its deals go. None of
/// these is the stage demo deals are created in
/// ([`super::deals::SEEDED_STAGE`]).
pub const DOCUMENT_STAGES: [(&str, &str); 5] = [
    ("estimate", "qualifiedtobuy"),
    ("proform", "presentationscheduled"),
    ("waybill", "decisionmakerboughtin"),
    ("invoice", "closedwon"),
    ("salesorder", "contractsent"),
];

/// How many years of history the demo back-fills (from 1 January).
const BACKFILL_YEARS: i32 = 3;

/// Loads the settings page's data, then saves: the Holded v2 token, a start
/// date in the past (back-fill), every object, every document type mapped,
/// sensitive data off.
pub async fn save_settings(
    service: &Service,
    portal: &InstalledPortal,
    holded: &SeededHolded,
) -> anyhow::Result<()> {
    let page = hubspot_fetch(service, Method::GET, portal, None).await?;
    let default_pipeline = page["pipelines"]
        .as_array()
        .and_then(|pipelines| pipelines.iter().find(|p| p["id"] == "default"))
        .context("la página de configuración no muestra el pipeline por defecto")?;
    let update = settings_update(holded);
    let saved = hubspot_fetch(service, Method::PUT, portal, Some(&update)).await?;
    println!(
        "   ✔ Clave de Holded …{} ({}), desde {}, todos los objetos, {} tipos de documento en «{}» (Holded key, start date, objects, document types mapped)",
        saved["holded"]["keyLast4"].as_str().unwrap_or("?"),
        saved["holded"]["generation"].as_str().unwrap_or("?"),
        update["nextSyncDate"].as_str().unwrap_or("?"),
        DOCUMENT_STAGES.len(),
        default_pipeline["label"].as_str().unwrap_or("default"),
    );
    Ok(())
}

/// The demo's settings save: the Holded v2 token, a start date in the past
/// (back-fill), every object, every document type mapped, sensitive data off.
pub fn settings_update(holded: &SeededHolded) -> Value {
    let start = format!("{}-01-01", Utc::now().year() - BACKFILL_YEARS);
    let mapping: serde_json::Map<String, Value> = DOCUMENT_STAGES
        .iter()
        .map(|(doc_type, stage)| {
            (
                (*doc_type).to_owned(),
                json!({"pipelineId": "default", "stageId": stage}),
            )
        })
        .collect();
    json!({
        "holdedApiKey": holded.account.v2_token,
        "nextSyncDate": start,
        "objects": {"contacts": true, "companies": true, "products": true, "documents": true},
        "documentMapping": mapping,
        "sensitiveData": {"enabled": false, "eraseExisting": false},
    })
}

/// Calls the settings API as HubSpot's `hubspot.fetch` does for the portal's
/// super admin: the URL the page asked for with the identity HubSpot appends
/// (`portalId`, `userId`, `userEmail`, `appId`), the body serialised as
/// compact JSON, and `X-HubSpot-Signature-v3` over method, URL, body and the
/// millisecond timestamp. Returns the JSON answer; any non-2xx is an error
/// with the service's message.
pub async fn hubspot_fetch(
    service: &Service,
    method: Method,
    portal: &InstalledPortal,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let app = service
        .runtime
        .config
        .hubspot_app
        .as_ref()
        .context("la configuración de la demo no tiene app de HubSpot")?;
    let url = hubspot_fetch_url(
        &format!("{}/api/settings", service.url),
        &FetchIdentity {
            portal_id: u64::try_from(portal.id)?,
            user_id: portal.admin.id,
            user_email: &portal.admin.email,
            app_id: app.app_id,
        },
    );
    let body = body.map(Value::to_string).unwrap_or_default();
    let timestamp = Utc::now().timestamp_millis();
    let secret: &SecretString = &app.client_secret;
    let signature = sign_v3(
        secret,
        &SignedRequest {
            method: method.as_str(),
            uri: &url,
            body: body.as_bytes(),
        },
        timestamp,
    );
    let mut request = service
        .http
        .request(method.clone(), &url)
        .header("X-HubSpot-Signature-v3", signature)
        .header("X-HubSpot-Request-Timestamp", timestamp.to_string());
    if !body.is_empty() {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("{method} /api/settings no respondió"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(
        status.is_success(),
        "{method} /api/settings respondió HTTP {status}: {answer}"
    );
    Ok(answer)
}
