//! The body of `PUT /api/settings` and its validation.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{DocumentMapping, StageRef, SyncObjects};
use crate::{
    holded::{DocumentType, webhook::is_signing_secret},
    hubspot::pipelines::Pipeline,
};

/// A settings save as the settings page sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsUpdate {
    /// A new Holded key, only when the user typed one.
    #[serde(default)]
    pub holded_api_key: Option<SecretString>,
    /// A new Holded webhook signing secret (`whsec_…`), only when typed.
    #[serde(default)]
    pub holded_webhook_secret: Option<SecretString>,
    /// First day of the nightly sync, `YYYY-MM-DD`.
    pub next_sync_date: String,
    /// Objects to sync.
    pub objects: SyncObjects,
    /// Document type → stage; an entry with an empty pipeline is unassigned.
    #[serde(default)]
    pub document_mapping: BTreeMap<String, StageRef>,
    /// Sensitive data switch.
    pub sensitive_data: SensitiveDataUpdate,
    /// Holded tax key for deal lines without a tax (`s_iva_21`); unset keeps the current one.
    #[serde(default)]
    pub default_tax: Option<String>,
    /// Emails or HubSpot user ids allowed to change the settings besides the
    /// super admins (only a super admin may send it); unset keeps the list.
    #[serde(default)]
    pub allowed_editors: Option<Vec<String>>,
}

/// The sensitive data section of a save.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SensitiveDataUpdate {
    /// Whether NIF, VAT number, IBAN and SWIFT may travel.
    pub enabled: bool,
    /// When turning it off: erase the values already written to HubSpot.
    #[serde(default)]
    pub erase_existing: bool,
}

/// One Spanish message per refused field, keyed like the page's field names
/// (`holdedApiKey`, `nextSyncDate`, `documentMapping.invoice`, `sensitiveData`).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    /// Adds the message for `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.insert(field.into(), message.into());
    }

    /// Whether no field was refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The parts of an update that need no remote check, validated.
#[derive(Debug)]
pub(super) struct CheckedUpdate {
    pub next_sync_date: NaiveDate,
    pub objects: SyncObjects,
    pub mapping: DocumentMapping,
    pub sensitive: bool,
    pub erase_existing: bool,
    pub new_key: Option<SecretString>,
    pub new_webhook_secret: Option<SecretString>,
    pub default_tax: Option<String>,
}

/// Earliest back-fill date accepted.
const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

impl SettingsUpdate {
    /// Validates everything that needs no call to Holded, against the portal's
    /// `pipelines`, whether it supports sensitive data, and `today` (portal time).
    pub(super) fn check(
        self,
        pipelines: &[Pipeline],
        sensitive_supported: bool,
        today: NaiveDate,
        errors: &mut FieldErrors,
    ) -> Option<CheckedUpdate> {
        let next_sync_date = match NaiveDate::parse_from_str(self.next_sync_date.trim(), "%Y-%m-%d")
        {
            Ok(date) if date < EARLIEST => {
                errors.add(
                    "nextSyncDate",
                    "La fecha no puede ser anterior al 1 de enero de 2000.",
                );
                None
            }
            Ok(date) if date > today + chrono::Days::new(366) => {
                errors.add(
                    "nextSyncDate",
                    "La fecha no puede estar a más de un año vista.",
                );
                None
            }
            Ok(date) => Some(date),
            Err(_) => {
                errors.add(
                    "nextSyncDate",
                    "Fecha no válida: usa el formato AAAA-MM-DD.",
                );
                None
            }
        };
        let mapping = check_mapping(&self.document_mapping, pipelines, errors);
        if self.sensitive_data.enabled && !sensitive_supported {
            errors.add(
                "sensitiveData",
                "Los datos sensibles solo se pueden activar en portales de HubSpot Enterprise que hayan concedido los permisos de datos sensibles. Si el portal es Enterprise, vuelve a instalar la app para concederlos.",
            );
        }
        let new_key = self
            .holded_api_key
            .filter(|key| !key.expose_secret().trim().is_empty())
            .map(|key| SecretString::from(key.expose_secret().trim().to_owned()));
        if let Some(key) = &new_key
            && key.expose_secret().chars().any(char::is_whitespace)
        {
            errors.add(
                "holdedApiKey",
                "La clave no puede contener espacios: cópiala de nuevo desde Holded.",
            );
        }
        let new_webhook_secret = self
            .holded_webhook_secret
            .filter(|s| !s.expose_secret().trim().is_empty())
            .map(|s| SecretString::from(s.expose_secret().trim().to_owned()));
        if let Some(secret) = &new_webhook_secret
            && !is_signing_secret(secret.expose_secret())
        {
            errors.add(
                "holdedWebhookSecret",
                "El secreto de firma de Holded empieza por whsec_ y no lleva espacios: cópialo de Holded › Configuración › Desarrolladores › Webhooks.",
            );
        }
        let default_tax = self.default_tax.map(|t| t.trim().to_owned());
        if let Some(tax) = &default_tax
            && !is_sales_tax_key(tax)
        {
            errors.add(
                "defaultTax",
                "El impuesto por defecto debe ser una clave de impuesto de ventas de Holded, p. ej. s_iva_21.",
            );
        }
        Some(CheckedUpdate {
            next_sync_date: next_sync_date?,
            objects: self.objects,
            mapping: mapping?,
            sensitive: self.sensitive_data.enabled,
            erase_existing: self.sensitive_data.erase_existing,
            new_key,
            new_webhook_secret,
            default_tax,
        })
        .filter(|_| errors.is_empty())
    }
}

/// Whether `key` looks like a Holded sales tax key (`s_iva_21`, `s_igic_7`).
fn is_sales_tax_key(key: &str) -> bool {
    key.strip_prefix("s_").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
}

fn check_mapping(
    requested: &BTreeMap<String, StageRef>,
    pipelines: &[Pipeline],
    errors: &mut FieldErrors,
) -> Option<DocumentMapping> {
    let mut mapping = DocumentMapping::default();
    let mut ok = true;
    for (name, stage) in requested {
        let field = format!("documentMapping.{name}");
        let Some(doc_type) = DocumentType::from_v1_name(name) else {
            errors.add(field, "Tipo de documento desconocido.");
            ok = false;
            continue;
        };
        if stage.pipeline_id.is_empty() && stage.stage_id.is_empty() {
            continue;
        }
        let Some(pipeline) = pipelines
            .iter()
            .find(|p| p.id == stage.pipeline_id && !p.archived)
        else {
            errors.add(
                field,
                "El pipeline elegido no existe en este portal de HubSpot.",
            );
            ok = false;
            continue;
        };
        if stage.stage_id.is_empty() {
            errors.add(
                field,
                format!("Elige una etapa del pipeline «{}».", pipeline.label),
            );
            ok = false;
        } else if pipeline.stage(&stage.stage_id).is_none_or(|s| s.archived) {
            errors.add(
                field,
                format!(
                    "La etapa elegida no existe en el pipeline «{}».",
                    pipeline.label
                ),
            );
            ok = false;
        } else {
            mapping.set(doc_type, stage.clone());
        }
    }
    ok.then_some(mapping)
}
