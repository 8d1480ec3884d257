//! «Registrar automáticamente en Holded»: the app registers the portal's
//! webhook through Holded's API (`POST /api/v2/webhooks`, reported by one
//! source and unconfirmed), where Holded allows it. Whatever Holded answers,
//! the guided set-up stays: a refusal only says so, and a registration
//! still needs the signing secret, which Holded shows on its screen only.

use serde::Serialize;
use serde_json::json;

use super::{
    HoldedWebhookView, StoredKeyError,
    holded_webhooks::{EVENTS, endpoint},
    service::SettingsService,
};
use crate::holded::Generation;

/// Holded took the webhook.
pub const REGISTERED: &str = "Holded ha creado el webhook. Copia su secreto de firma (empieza por whsec_) de Holded › Configuración › Desarrolladores › Webhooks, pégalo en «Secreto de firma» aquí abajo y guarda.";
/// The app registered it before.
pub const ALREADY: &str = "El webhook ya se registró en Holded. Si aún no lo has hecho, copia su secreto de firma de Holded › Configuración › Desarrolladores › Webhooks, pégalo en «Secreto de firma» aquí abajo y guarda.";
/// Holded refused (or does not offer) automatic registration.
pub const REFUSED: &str = "Holded no ha aceptado el registro automático del webhook. Sigue los pasos guiados de abajo para crearlo en Holded › Configuración › Desarrolladores › Webhooks.";
/// The portal's key is a v1 key.
pub const NEEDS_V2: &str = "El registro automático necesita un token de la API v2 de Holded (empieza por «pat_»); con una clave v1 no es posible. Sigue los pasos guiados de abajo para crear el webhook en Holded.";
/// No key saved.
pub const NO_KEY: &str = "Guarda primero la clave de Holded: el webhook se registra en la cuenta de esa clave. También puedes seguir los pasos guiados de abajo.";

/// What the settings page shows after «Registrar automáticamente en Holded».
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// Whether the webhook exists in Holded now.
    pub registered: bool,
    /// What happened and what to do next (Spanish).
    pub message: &'static str,
    /// The webhook section as it is now.
    pub holded_webhook: HoldedWebhookView,
}

impl SettingsService {
    /// Registers `portal_id`'s webhook in Holded with the portal's v2 token,
    /// for the events the guided steps tick, as `actor` (audited). Holded's
    /// refusal is an answer, not an error; nothing saved changes but the id
    /// Holded gives the webhook.
    pub async fn register_holded_webhook(
        &self,
        portal_id: i64,
        actor: &str,
    ) -> Result<Registration, sea_orm::DbErr> {
        let row = self.store().holded_webhook(portal_id).await?;
        let settings = self.store().settings_row(portal_id).await?;
        let v2 = settings
            .as_ref()
            .and_then(|s| s.holded_api_generation.as_deref())
            == Some(Generation::V2.as_str());
        let client = settings
            .as_ref()
            .ok_or(StoredKeyError::Missing)
            .and_then(|s| self.holded().stored_client(s));
        let (registered, message, outcome) = match client {
            _ if row.holded_id.is_some() => (true, ALREADY, json!("ya_registrado")),
            Err(_) => (false, NO_KEY, json!("sin_clave")),
            Ok(_) if !v2 => (false, NEEDS_V2, json!("clave_v1")),
            Ok(client) => {
                let url = endpoint(self.public_url(), &row.token);
                let answer = client.register_webhook(&url, &EVENTS, "HubSpot").await;
                self.count_calls(&client).await;
                match answer {
                    Ok(id) => {
                        self.store()
                            .note_holded_registration(portal_id, &id)
                            .await?;
                        (true, REGISTERED, json!({"registrado": id}))
                    }
                    Err(err) => {
                        tracing::warn!(portal_id, error = %err, "Holded refused to register the webhook");
                        (false, REFUSED, json!({"rechazado": err.to_string()}))
                    }
                }
            }
        };
        self.store()
            .audit(
                Some(portal_id),
                actor,
                "holded_webhook.register",
                json!({"resultado": outcome}),
            )
            .await?;
        Ok(Registration {
            registered,
            message,
            holded_webhook: self.holded_webhook_view(portal_id).await?,
        })
    }
}
