//! Installing the app in a HubSpot portal: the OAuth callback's work (state
//! check, code exchange, introspection, sealed tokens) and provisioning the
//! portal's CRM properties. Installing again is safe and repairs what is
//! missing; a failure leaves the portal `installing` with the reason, and the
//! next install completes it.

pub mod manifest;
pub mod provision;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::{
    crypto::{Cipher, to_hex},
    hubspot::{Hubspot, HubspotError, PortalClient, oauth::STATE_TTL},
    store::{
        PortalStatus, Store,
        portal_tokens::{PortalTokens, portal_client},
    },
};
pub use provision::ProvisionReport;

/// Scopes that HubSpot grants only to Enterprise portals: with them, sensitive
/// properties can be created and written.
const SENSITIVE_SCOPES: [&str; 2] = [
    "crm.objects.contacts.sensitive.write.v2",
    "crm.objects.companies.sensitive.write.v2",
];

/// Why an install could not complete, in Spanish for the install page.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// HubSpot app credentials are not configured on this server.
    #[error(
        "Este servidor no tiene configurada la app de HubSpot (HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET, HUBSPOT_APP_ID)."
    )]
    NotConfigured,
    /// The `state` is forged, expired or already used.
    #[error(
        "El enlace de instalación no es válido o ha caducado. Vuelve a empezar la instalación desde HubSpot."
    )]
    BadState,
    /// HubSpot refused the code or the token.
    #[error("HubSpot no autorizó la instalación: {0}")]
    Refused(String),
    /// Provisioning or another HubSpot call failed; the install can be retried.
    #[error("La instalación no terminó: {0}. Vuelve a instalar la app para completarla.")]
    Incomplete(String),
    /// The database failed.
    #[error("Error interno al guardar la instalación. Inténtalo de nuevo en unos minutos.")]
    Database(#[from] sea_orm::DbErr),
}

/// What an install did, for the confirmation page.
#[derive(Debug, Clone)]
pub struct Installed {
    /// HubSpot hub id.
    pub portal_id: i64,
    /// The portal's time zone.
    pub time_zone: String,
    /// Properties and groups created or found.
    pub report: ProvisionReport,
    /// Deal pipelines found in the portal.
    pub pipelines: usize,
    /// Whether the portal can hold sensitive data.
    pub sensitive_supported: bool,
}

/// The pieces an install needs.
#[derive(Clone, Debug)]
pub struct Installer {
    store: Store,
    cipher: Cipher,
    hubspot: Hubspot,
}

impl Installer {
    /// An installer over the app's HubSpot client.
    pub fn new(store: Store, cipher: Cipher, hubspot: Hubspot) -> Self {
        Self {
            store,
            cipher,
            hubspot,
        }
    }

    /// The authorize URL to send an installing admin to (with a signed,
    /// expiring `state`).
    pub fn authorize_url(&self, now: DateTime<Utc>) -> Result<String, InstallError> {
        let oauth = self.hubspot.oauth().ok_or(InstallError::NotConfigured)?;
        Ok(oauth.authorize_url(now).0)
    }

    /// A client for an installed portal, with its sealed tokens.
    pub fn portal_client(&self, portal_id: i64) -> PortalClient {
        portal_client(&self.hubspot, &self.store, &self.cipher, portal_id)
    }

    /// Completes an install from the OAuth callback's `code` and `state`.
    pub async fn complete(&self, code: &str, state: &str) -> Result<Installed, InstallError> {
        let now = Utc::now();
        let oauth = self.hubspot.oauth().ok_or(InstallError::NotConfigured)?;
        oauth
            .verify_state(state, now)
            .map_err(|_| InstallError::BadState)?;
        let nonce = to_hex(&Sha256::digest(state.as_bytes()));
        if !self
            .store
            .consume_oauth_state(&nonce, now + STATE_TTL)
            .await?
        {
            return Err(InstallError::BadState);
        }
        let tokens = oauth
            .exchange_code(code, now)
            .await
            .map_err(|e| InstallError::Refused(e.to_string()))?;
        let info = oauth
            .introspect(&tokens)
            .await
            .map_err(|e| InstallError::Refused(e.to_string()))?;
        let portal_id = i64::try_from(info.hub_id)
            .map_err(|_| InstallError::Refused("identificador de portal fuera de rango".into()))?;
        let sensitive_supported = SENSITIVE_SCOPES
            .iter()
            .all(|scope| info.scopes.iter().any(|s| s == scope));
        self.store
            .record_install(portal_id, &info.scopes, sensitive_supported)
            .await?;
        PortalTokens::new(self.store.clone(), self.cipher.clone(), portal_id)
            .write(&tokens)
            .await
            .map_err(InstallError::Incomplete)?;
        tracing::info!(portal_id, "install authorised; provisioning");
        match self.provision(portal_id, sensitive_supported).await {
            Ok(installed) => {
                self.store
                    .audit(
                        Some(portal_id),
                        "hubspot-install",
                        "portal.installed",
                        serde_json::json!({
                            "propiedadesCreadas": installed.report.properties_created,
                            "propiedadesExistentes": installed.report.properties_existing,
                            "avisos": installed.report.warnings,
                        }),
                    )
                    .await?;
                Ok(installed)
            }
            Err(err) => {
                let reason = err.to_string();
                tracing::warn!(portal_id, %reason, "provisioning did not complete");
                self.store
                    .set_portal_status(portal_id, PortalStatus::Installing, Some(reason))
                    .await?;
                Err(err)
            }
        }
    }

    async fn provision(
        &self,
        portal_id: i64,
        sensitive_supported: bool,
    ) -> Result<Installed, InstallError> {
        let incomplete = |e: HubspotError| InstallError::Incomplete(e.to_string());
        let client = self.portal_client(portal_id);
        let account = client.account_details().await.map_err(incomplete)?;
        let settings = self
            .store
            .portal_settings(portal_id, &account.time_zone)
            .await?;
        let report = provision::provision(&client, settings.sensitive_data && sensitive_supported)
            .await
            .map_err(incomplete)?;
        client.forget_pipelines();
        let pipelines = client.deal_pipelines().await.map_err(incomplete)?;
        self.store
            .mark_provisioned(portal_id, &account.time_zone)
            .await?;
        Ok(Installed {
            portal_id,
            time_zone: account.time_zone,
            report,
            pipelines: pipelines.len(),
            sensitive_supported,
        })
    }
}
