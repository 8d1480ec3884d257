//! Installing the app in a new HubSpot portal as its admin would: our
//! `/oauth/install`, HubSpot's authorization page, back to our
//! `/oauth/callback`, every redirect followed over HTTP.

use anyhow::Context;
use holded_hubspot_sim::hubspot::NewPortal;

use super::environment::Environment;
use crate::store::PortalStatus;

/// Creates a portal in the HubSpot simulator (Pro, Europe/Madrid), installs
/// the app into it through the real OAuth flow and checks that the service
/// recorded it as connected. Returns the portal's hub id.
pub async fn install_portal(env: &Environment) -> anyhow::Result<i64> {
    let portal = env.sims.hubspot.create_portal(NewPortal::default());
    let portal_id = i64::try_from(portal.portal_id)?;
    let response = env
        .service
        .http
        .get(format!("{}/oauth/install", env.service.url))
        .send()
        .await
        .context("la instalación no respondió")?;
    let landed = response.url().path().to_owned();
    let status = response.status();
    anyhow::ensure!(
        status.is_success() && landed == "/oauth/callback",
        "la instalación terminó en {landed} con HTTP {status}: {}",
        response.text().await.unwrap_or_default()
    );
    let installed = env
        .service
        .runtime
        .store
        .portal(portal_id)
        .await?
        .with_context(|| format!("el servicio no registró el portal {portal_id}"))?;
    anyhow::ensure!(
        installed.status == PortalStatus::Connected.as_str(),
        "el portal {portal_id} quedó en estado «{}»: {}",
        installed.status,
        installed.status_reason.unwrap_or_default()
    );
    println!(
        "   ✔ Portal {portal_id} conectado y preparado, zona horaria {} (portal connected and provisioned)",
        installed.time_zone
    );
    Ok(portal_id)
}
