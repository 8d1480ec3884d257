//! The Holded webhook section of the settings page and the console: the
//! portal's endpoint, the step-by-step set-up in Holded (Spanish), and
//! whether deliveries arrive.

use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

use crate::store::entities::holded_webhook;

/// The events to tick in Holded, as Holded names them (§5.6): what the
/// sync brings into HubSpot.
pub const EVENTS: [&str; 25] = [
    "contact.create",
    "contact.update",
    "contact.delete",
    "product.create",
    "product.update",
    "product.delete",
    "estimate.create",
    "estimate.update",
    "estimate.delete",
    "proform.create",
    "proform.update",
    "proform.delete",
    "waybill.create",
    "waybill.update",
    "waybill.delete",
    "salesorder.create",
    "salesorder.update",
    "salesorder.delete",
    "invoice.create",
    "invoice.update",
    "invoice.delete",
    "invoice.approve",
    "payment.create",
    "payment.update",
    "payment.delete",
];

/// The set-up in Holded, step by step.
pub const STEPS: [&str; 5] = [
    "En Holded, abre Configuración › Desarrolladores › Webhooks y pulsa «Nuevo webhook».",
    "Descripción: «HubSpot». URL del endpoint: copia la dirección de arriba.",
    "Marca estos eventos: Contactos (crear, actualizar, eliminar); Productos (crear, actualizar, eliminar); Presupuestos, Proformas, Albaranes y Pedidos de venta (crear, actualizar, eliminar); Facturas (crear, actualizar, eliminar, aprobar); Pagos (crear, actualizar, eliminar).",
    "Guarda el webhook y copia el secreto de firma que Holded muestra (empieza por whsec_).",
    "Pégalo en «Secreto de firma» y guarda. El webhook queda conectado con el primer envío verificado.",
];

/// What the settings page and the console show of the portal's webhook.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldedWebhookView {
    /// The endpoint to paste in Holded.
    pub url: String,
    /// Whether a signing secret is saved (never the secret).
    pub secret_configured: bool,
    /// Whether a verified delivery arrived since the secret was saved.
    pub connected: bool,
    /// When the last verified delivery arrived.
    pub last_delivery_at: Option<DateTime<Utc>>,
    /// Deliveries refused so far.
    pub refused: i64,
    /// Why the last one was refused.
    pub last_refusal: Option<String>,
    /// When.
    pub last_refused_at: Option<DateTime<Utc>>,
    /// The id Holded gave the webhook when the app registered it.
    pub holded_id: Option<String>,
    /// The events to tick in Holded.
    pub events: &'static [&'static str],
    /// The set-up, step by step (Spanish).
    pub steps: &'static [&'static str],
}

impl HoldedWebhookView {
    /// The view of `row` for a service public at `public_url`.
    pub fn new(row: &holded_webhook::Model, public_url: &Url) -> Self {
        Self {
            url: endpoint(public_url, &row.token),
            secret_configured: row.secret_enc.is_some(),
            connected: row.secret_enc.is_some() && row.account_id.is_some(),
            last_delivery_at: row.last_delivery_at,
            refused: row.refused,
            last_refusal: row.last_refusal.clone(),
            last_refused_at: row.last_refused_at,
            holded_id: row.holded_id.clone(),
            events: &EVENTS,
            steps: &STEPS,
        }
    }
}

/// `<public URL>/webhooks/holded/<token>`.
pub fn endpoint(public_url: &Url, token: &str) -> String {
    format!(
        "{}/webhooks/holded/{token}",
        public_url.as_str().trim_end_matches('/')
    )
}
