//! Writing batches to HubSpot and settling the outcome: which inputs landed,
//! which failed and why, and the links and run items that follow.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::{
    hubspot::{BatchOutcome, CrmObject, HubspotError, Properties},
    install::manifest::Manifest,
    store::{RunItem, links::LinkWrite},
};

/// HubSpot's batch limit.
pub const BATCH: usize = 100;

/// A Holded record mapped and ready to write.
#[derive(Clone, Debug)]
pub struct Pending {
    /// Holded id.
    pub holded_id: String,
    /// Properties to write.
    pub props: Properties,
    /// Hash of the content (properties plus associations and lines).
    pub hash: String,
    /// Holded `updatedAt` (contacts).
    pub updated_at: Option<DateTime<Utc>>,
    /// HubSpot id from the link table, when linked.
    pub hubspot_id: Option<String>,
}

impl Pending {
    /// The link to save once `hubspot_id` holds this content.
    pub fn link(&self, hubspot_id: &str) -> LinkWrite {
        LinkWrite {
            holded_id: self.holded_id.clone(),
            hubspot_id: hubspot_id.to_owned(),
            content_hash: self.hash.clone(),
            holded_updated_at: self.updated_at,
            listed: true,
        }
    }

    /// A run item for this record (`failed`, or `create`/`update` in dry runs).
    pub fn item(
        &self,
        kind: &'static str,
        outcome: &'static str,
        reason: Option<String>,
    ) -> RunItem {
        RunItem {
            object_kind: kind,
            holded_id: self.holded_id.clone(),
            hubspot_id: self.hubspot_id.clone(),
            outcome,
            reason,
            payload_summary: Some(summary(&self.props)),
        }
    }
}

/// What was sent, for the run's record: sensitive values masked, long values
/// shortened.
pub fn summary(props: &Properties) -> String {
    let manifest = Manifest::get();
    let shown: serde_json::Map<String, serde_json::Value> = props
        .iter()
        .map(|(name, value)| {
            let value = if manifest.is_sensitive(name) {
                "•••".to_owned()
            } else if value.chars().count() > 80 {
                format!(
                    "{}… ({} caracteres)",
                    value.chars().take(80).collect::<String>(),
                    value.chars().count()
                )
            } else {
                value.clone()
            };
            (name.clone(), serde_json::Value::String(value))
        })
        .collect();
    serde_json::Value::Object(shown).to_string()
}

/// The Spanish reason recorded for a record of `kind` that HubSpot refused:
/// what HubSpot said, and for a property the portal made required, how to
/// fix it.
pub fn reason(kind: &str, error: &HubspotError) -> String {
    if let (Some(property), HubspotError::Validation { message, .. }) =
        (error.required_property(), error)
    {
        let object = kind_label(kind);
        return format!(
            "HubSpot exige la propiedad «{property}» para crear {}: en este portal es obligatoria y el registro llega sin ella (HubSpot: {message}). \
             Cómo arreglarlo: si es un dato que la app trae de Holded (email, teléfono, dirección, web…), rellénalo en la ficha de Holded; \
             si no, hazla opcional en HubSpot (Configuración › Objetos › {object} › formulario «Crear registro», y quita las reglas condicionales que la exijan). \
             Después pulsa «Reintentar».",
            object.to_lowercase()
        );
    }
    let text = error.to_string();
    text.split(" / ").next().unwrap_or(&text).trim().to_owned()
}

/// A kind of synced record in Spanish, for people (`contacts` → «Contactos»).
pub fn kind_label(kind: &str) -> &str {
    match kind {
        "contacts" => "Contactos",
        "companies" => "Empresas",
        "products" => "Productos",
        "deals" => "Negocios",
        "line_items" => "Líneas de pedido",
        other => other,
    }
}

/// A batch outcome matched back to its inputs by `objectWriteTraceId`.
#[derive(Default)]
pub struct Settled {
    /// Inputs that landed, with the record HubSpot returned.
    pub written: Vec<(usize, CrmObject)>,
    /// Inputs HubSpot refused, with its reason.
    pub refused: Vec<(usize, HubspotError)>,
}

/// Matches `outcome` to the inputs whose trace ids are `trace_ids` (in input order).
pub fn settle(outcome: BatchOutcome, trace_ids: &[String]) -> Settled {
    let position: HashMap<&str, usize> = trace_ids
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut written = Vec::with_capacity(outcome.results.len());
    for record in outcome.results {
        if let Some(&i) = record
            .object_write_trace_id
            .as_deref()
            .and_then(|t| position.get(t))
        {
            written.push((i, record));
        }
    }
    let mut refused = Vec::new();
    for error in outcome.errors {
        for trace in &error.trace_ids {
            if let Some(&i) = position.get(trace.as_str()) {
                refused.push((i, error.error.clone()));
            }
        }
    }
    Settled { written, refused }
}
