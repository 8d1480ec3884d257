//! Installing the app in a new HubSpot portal as its admin would: our
//! `/oauth/install`, HubSpot's authorization page, back to our
//! `/oauth/callback`, every redirect followed over HTTP.

use anyhow::Context;
use holded_hubspot_sim::hubspot::{NewPortal, model::User};

use super::environment::Environment;
use crate::store::PortalStatus;

/// The demo's portal and its super admin (who saves the settings).
#[derive(Debug, Clone)]
pub struct InstalledPortal {
    /// Hub id.
    pub id: i64,
    /// The portal's super admin in the simulator.
    pub admin: User,
}

/// Creates a portal in the HubSpot simulator (Pro, Europe/Madrid), installs
/// the app into it through the real OAuth flow and checks that the service
/// recorded it as connected.
pub async fn install_portal(env: &Environment) -> anyhow::Result<InstalledPortal> {
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
    Ok(InstalledPortal {
        id: portal_id,
        admin: portal.super_admin,
    })
}
