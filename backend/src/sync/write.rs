//! Writing batches to HubSpot and settling the outcome: which inputs landed,
//! which failed and why, and the links and run items that follow.

use std::collections::{HashMap, HashSet};

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

/// Matches `outcome` to the inputs whose trace ids are `trace_ids` (in input
/// order). An input HubSpot's answer does not name — an error without trace
/// ids, or no word at all — is refused with that error (or a note that the
/// batch said nothing of it), so that a run's counts always add up.
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
    for error in &outcome.errors {
        for trace in &error.trace_ids {
            if let Some(&i) = position.get(trace.as_str()) {
                refused.push((i, error.error.clone()));
            }
        }
    }
    let unnamed = outcome
        .errors
        .into_iter()
        .find(|e| e.trace_ids.is_empty())
        .map_or_else(|| HubspotError::Decode(UNANSWERED.to_owned()), |e| e.error);
    let answered: HashSet<usize> = written
        .iter()
        .map(|(i, _)| *i)
        .chain(refused.iter().map(|(i, _)| *i))
        .collect();
    refused.extend(
        (0..trace_ids.len())
            .filter(|i| !answered.contains(i))
            .map(|i| (i, unnamed.clone())),
    );
    Settled { written, refused }
}

/// Why an input the batch's answer says nothing about is counted as failed.
const UNANSWERED: &str = "HubSpot no devolvió resultado ni error para este registro del lote";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hubspot::RecordError;

    fn record(id: &str, trace: &str) -> CrmObject {
        CrmObject {
            id: id.to_owned(),
            properties: Default::default(),
            created_at: None,
            updated_at: None,
            archived: false,
            object_write_trace_id: Some(trace.to_owned()),
            new: Some(true),
            properties_with_history: Default::default(),
        }
    }

    #[test]
    fn every_input_is_written_or_refused_even_when_the_answer_names_it_not() {
        let traces: Vec<String> = ["a", "b", "c", "d"].map(str::to_owned).to_vec();
        let invalid = HubspotError::Validation {
            property: Some("email".into()),
            reason: None,
            message: "Email address roto@@ejemplo is invalid".into(),
        };
        let outcome = BatchOutcome {
            results: vec![record("101", "a")],
            errors: vec![
                RecordError {
                    trace_ids: vec!["b".into()],
                    error: invalid.clone(),
                },
                RecordError {
                    trace_ids: Vec::new(),
                    error: invalid,
                },
            ],
        };
        let settled = settle(outcome, &traces);
        assert_eq!(settled.written.len(), 1);
        let mut refused: Vec<usize> = settled.refused.iter().map(|(i, _)| *i).collect();
        refused.sort_unstable();
        assert_eq!(
            refused,
            [1, 2, 3],
            "b by its trace id; c and d by the unnamed error"
        );

        let silent = settle(
            BatchOutcome {
                results: vec![record("101", "a")],
                errors: Vec::new(),
            },
            &traces[..2],
        );
        assert_eq!(silent.refused.len(), 1);
        assert!(
            silent.refused[0]
                .1
                .to_string()
                .contains("no devolvió resultado")
        );
    }
}
