//! Reading and saving a portal's settings.

use chrono::Utc;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::json;

use super::{
    DEFAULT_TAX, DocumentMapping, FieldErrors, HoldedAccess, HoldedWebhookView, SettingsAccess,
    SettingsUpdate, StoredKeyError, SyncObjects,
    editors::{allowed_editors, resolve_editors},
    update::CheckedUpdate,
};
use crate::{
    holded::{Generation, HoldedApi, HoldedClient, HoldedError},
    hubspot::{HubspotError, PortalClient},
    i18n::spanish_part,
    install::provision,
    quota::{Quota, QuotaView},
    schedule::{first_nightly_run, portal_time_zone},
    store::{
        RunSummary, Store,
        entities::{holded_webhook, portal, settings},
    },
};
use url::Url;

/// Why a save was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// Some fields are wrong; nothing was saved.
    #[error("revisa los campos marcados")]
    Invalid(FieldErrors),
    /// HubSpot could not be read (pipelines) or written (sensitive properties).
    #[error(transparent)]
    Hubspot(#[from] HubspotError),
    /// The database failed.
    #[error("error de base de datos: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// What the settings page and the console draw (`GET /api/settings`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// HubSpot hub id.
    pub portal_id: i64,
    /// The portal's IANA time zone (nightly runs at 01:00 there).
    pub time_zone: String,
    /// The Holded key, as far as it may be shown.
    pub holded: HoldedKeyView,
    /// First day of the nightly sync, `YYYY-MM-DD` (empty when unset).
    pub next_sync_date: String,
    /// Objects to sync.
    pub objects: SyncObjects,
    /// Document type → pipeline stage.
    pub document_mapping: DocumentMapping,
    /// The sensitive data switch and whether the portal allows it.
    pub sensitive_data: SensitiveView,
    /// Holded tax key of deal lines that carry none.
    pub default_tax: String,
    /// The portal's deal pipelines (not archived) and their stages.
    pub pipelines: Vec<PipelineView>,
    /// The portal's latest runs.
    pub last_runs: Vec<RunSummary>,
    /// This month's Holded calls against the account's quota (none without a
    /// usable key), with the warning or the pause to show.
    pub holded_usage: Option<QuotaView>,
    /// The portal's Holded webhook: endpoint, set-up steps, deliveries.
    pub holded_webhook: HoldedWebhookView,
    /// What the signed user may do (settings page only; the console's
    /// operator may do everything).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<SettingsAccess>,
}

/// The Holded key: never the key itself, only whether there is one, its API
/// generation and its last four characters.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldedKeyView {
    /// Whether a key is stored.
    pub configured: bool,
    /// `v1` or `v2`.
    pub generation: Option<String>,
    /// The key's last four characters.
    pub key_last4: Option<String>,
}

/// The sensitive data section.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SensitiveView {
    /// Whether NIF, VAT number, IBAN and SWIFT travel.
    pub enabled: bool,
    /// Whether the portal can turn it on (Enterprise with the scopes).
    pub available: bool,
    /// Why it cannot, in Spanish.
    pub reason: Option<&'static str>,
}

/// A deal pipeline to choose a stage from.
#[derive(Debug, Serialize)]
pub struct PipelineView {
    /// Pipeline id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Stages not archived, in order.
    pub stages: Vec<StageView>,
}

/// A pipeline stage.
#[derive(Debug, Serialize)]
pub struct StageView {
    /// Stage id.
    pub id: String,
    /// Label.
    pub label: String,
}

const SENSITIVE_UNAVAILABLE: &str = "Solo disponible en portales de HubSpot Enterprise que hayan concedido los permisos de datos sensibles.";

/// Reads and saves settings for the settings API and the console.
#[derive(Clone, Debug)]
pub struct SettingsService {
    store: Store,
    holded: HoldedAccess,
    public_url: Url,
}

impl SettingsService {
    /// A service over `store`, sealing and testing Holded keys through
    /// `holded`, for a service reachable at `public_url` (`HH_PUBLIC_URL`:
    /// the Holded webhook endpoints are under it).
    pub fn new(store: Store, holded: HoldedAccess, public_url: Url) -> Self {
        Self {
            store,
            holded,
            public_url,
        }
    }

    /// The signing secret of a portal's Holded webhook, if one is saved.
    pub fn holded_webhook_secret(
        &self,
        row: &holded_webhook::Model,
    ) -> Result<Option<secrecy::SecretString>, crate::crypto::CryptoError> {
        self.holded.webhook_secret(row)
    }

    /// The Holded webhook section of `portal_id`'s settings.
    pub async fn holded_webhook_view(
        &self,
        portal_id: i64,
    ) -> Result<HoldedWebhookView, sea_orm::DbErr> {
        let row = self.store.holded_webhook(portal_id).await?;
        Ok(HoldedWebhookView::new(&row, &self.public_url))
    }

    /// The store (for the settings' sibling modules).
    pub(super) fn store(&self) -> &Store {
        &self.store
    }

    /// How the service reaches Holded.
    pub(super) fn holded(&self) -> &HoldedAccess {
        &self.holded
    }

    /// `HH_PUBLIC_URL`.
    pub(super) fn public_url(&self) -> &Url {
        &self.public_url
    }

    async fn row(&self, portal: &portal::Model) -> Result<settings::Model, sea_orm::DbErr> {
        self.store
            .portal_settings(portal.id, &portal.time_zone)
            .await
    }

    /// The settings page's view of `portal` (reads its pipelines through `client`).
    pub async fn view(
        &self,
        portal: &portal::Model,
        client: &PortalClient,
    ) -> Result<SettingsView, UpdateError> {
        let row = self.row(portal).await?;
        self.render(portal, client, row).await
    }

    async fn render(
        &self,
        portal: &portal::Model,
        client: &PortalClient,
        row: settings::Model,
    ) -> Result<SettingsView, UpdateError> {
        let pipelines = client.deal_pipelines().await?;
        let last_runs = self.store.recent_runs(portal.id, 5).await?;
        let holded_webhook = self.holded_webhook_view(portal.id).await?;
        let holded_usage = match self.holded.stored_client(&row) {
            Ok(holded) => Some(self.quota().view(holded.account_id()).await?),
            Err(_) => None,
        };
        Ok(SettingsView {
            portal_id: portal.id,
            time_zone: portal.time_zone.clone(),
            holded: HoldedKeyView {
                configured: row.holded_key_enc.is_some(),
                generation: row.holded_api_generation.clone(),
                key_last4: row.holded_key_last4.clone(),
            },
            next_sync_date: row
                .next_sync_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            objects: SyncObjects {
                contacts: row.sync_contacts,
                companies: row.sync_companies,
                products: row.sync_products,
                documents: row.sync_documents,
            },
            document_mapping: DocumentMapping::from_json(&row.document_mapping),
            sensitive_data: SensitiveView {
                enabled: row.sensitive_data,
                available: portal.sensitive_supported,
                reason: (!portal.sensitive_supported).then_some(SENSITIVE_UNAVAILABLE),
            },
            default_tax: row
                .default_tax
                .clone()
                .unwrap_or_else(|| DEFAULT_TAX.to_owned()),
            pipelines: pipelines
                .iter()
                .filter(|p| !p.archived)
                .map(|p| PipelineView {
                    id: p.id.clone(),
                    label: p.label.clone(),
                    stages: p
                        .stages
                        .iter()
                        .filter(|s| !s.archived)
                        .map(|s| StageView {
                            id: s.id.clone(),
                            label: s.label.clone(),
                        })
                        .collect(),
                })
                .collect(),
            last_runs,
            holded_usage,
            holded_webhook,
            access: None,
        })
    }

    /// Validates `update` completely (the key against Holded last) and only
    /// then saves it, audits it as `actor`, and reschedules the nightly run.
    pub async fn update(
        &self,
        portal: &portal::Model,
        client: &PortalClient,
        mut update: SettingsUpdate,
        actor: &str,
    ) -> Result<SettingsView, UpdateError> {
        let tz = portal_time_zone(&portal.time_zone);
        let now = Utc::now();
        client.forget_pipelines();
        let pipelines = client.deal_pipelines().await?;
        let mut errors = FieldErrors::default();
        let editors = match update.allowed_editors.take() {
            Some(entries) => Some(resolve_editors(client, &entries, &mut errors).await?),
            None => None,
        };
        let checked = update.check(
            &pipelines,
            portal.sensitive_supported,
            now.with_timezone(&tz).date_naive(),
            &mut errors,
        );
        let Some(checked) = checked else {
            return Err(UpdateError::Invalid(errors));
        };
        let generation = match &checked.new_key {
            Some(key) => Some(self.test_key(key).await.map_err(|message| {
                let mut errors = FieldErrors::default();
                errors.add("holdedApiKey", message);
                UpdateError::Invalid(errors)
            })?),
            None => None,
        };

        let before = self.row(portal).await?;
        let current_tax = before.default_tax.as_deref().unwrap_or(DEFAULT_TAX);
        if let Some(tax) = checked.default_tax.as_deref()
            && tax != current_tax
        {
            self.check_default_tax(&before, checked.new_key.as_ref(), tax)
                .await
                .map_err(|message| {
                    let mut errors = FieldErrors::default();
                    errors.add("defaultTax", message);
                    UpdateError::Invalid(errors)
                })?;
        }
        if checked.sensitive && !before.sensitive_data {
            provision::provision(client, true).await?;
        }
        let mut after = self.apply(before.clone(), &checked, generation);
        if let Some(editors) = editors {
            after.allowed_editors =
                Some(serde_json::to_string(&editors).expect("a list of strings serialises"));
        }
        let saved = self.store.save_settings(after).await?;
        let mut details = audit_details(&before, &saved, checked.erase_existing);
        if let Some(secret) = &checked.new_webhook_secret {
            self.store
                .save_holded_webhook_secret(
                    portal.id,
                    self.holded.seal_webhook_secret(secret, portal.id),
                )
                .await?;
            details["holdedWebhookSecret"] = json!("cambiado");
        }
        self.store
            .audit(Some(portal.id), actor, "settings.updated", details)
            .await?;
        let next_run = saved
            .holded_key_enc
            .as_ref()
            .and(saved.next_sync_date)
            .map(|date| first_nightly_run(tz, date, now));
        self.store.schedule_portal(portal.id, next_run).await?;
        self.render(portal, client, saved).await
    }

    fn apply(
        &self,
        mut row: settings::Model,
        checked: &CheckedUpdate,
        generation: Option<Generation>,
    ) -> settings::Model {
        if let (Some(key), Some(generation)) = (&checked.new_key, generation) {
            let text = key.expose_secret();
            row.holded_key_enc = Some(self.holded.seal(key, row.portal_id));
            row.holded_key_last4 = Some(
                text.chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect(),
            );
            row.holded_api_generation = Some(generation.as_str().to_owned());
        }
        row.next_sync_date = Some(checked.next_sync_date);
        row.sync_contacts = checked.objects.contacts;
        row.sync_companies = checked.objects.companies;
        row.sync_products = checked.objects.products;
        row.sync_documents = checked.objects.documents;
        row.document_mapping = checked.mapping.to_json();
        row.erase_sensitive_pending = if checked.sensitive {
            false
        } else {
            row.erase_sensitive_pending || (row.sensitive_data && checked.erase_existing)
        };
        row.sensitive_data = checked.sensitive;
        if let Some(tax) = &checked.default_tax
            && tax != row.default_tax.as_deref().unwrap_or(DEFAULT_TAX)
        {
            row.default_tax = Some(tax.clone());
        }
        row
    }

    /// Checks that `tax` is a sales tax of the Holded account (the new key's,
    /// else the stored one's); on refusal returns the Spanish message.
    async fn check_default_tax(
        &self,
        row: &settings::Model,
        new_key: Option<&secrecy::SecretString>,
        tax: &str,
    ) -> Result<(), String> {
        let client = match new_key {
            Some(key) => self
                .holded
                .client(key.clone())
                .map_err(|e| spanish_part(&e.to_string()))?,
            None => match self.holded.stored_client(row) {
                Ok(client) => client,
                Err(StoredKeyError::Missing) => {
                    return Err(
                        "Guarda primero la clave de Holded: el impuesto se comprueba en tu cuenta."
                            .to_owned(),
                    );
                }
                Err(other) => return Err(spanish_part(&other.to_string())),
            },
        };
        let taxes = client.taxes().await;
        self.count_calls(&client).await;
        let taxes = taxes.map_err(|e| {
            format!(
                "No se pudieron leer los impuestos de Holded ({}).",
                spanish_part(&e.to_string())
            )
        })?;
        if taxes.iter().any(|t| t.key == tax) {
            Ok(())
        } else {
            Err(format!(
                "Tu cuenta de Holded no tiene el impuesto «{tax}». Elige uno de los que aparecen en Holded › Configuración › Impuestos."
            ))
        }
    }

    fn quota(&self) -> Quota {
        Quota::new(self.store.clone(), self.holded.monthly_quota())
    }

    /// Counts `client`'s calls against its account's monthly quota (a
    /// database failure only loses the count).
    pub(super) async fn count_calls(&self, client: &HoldedClient) {
        if let Err(err) = self.quota().record(client).await {
            tracing::warn!(error = %err, "Holded calls could not be counted");
        }
    }

    /// Tests a Holded key; on refusal returns the Spanish message for the field.
    async fn test_key(&self, key: &secrecy::SecretString) -> Result<Generation, String> {
        let client = self.holded.client(key.clone()).map_err(|e| e.to_string())?;
        let checked = client.check_key().await;
        self.count_calls(&client).await;
        match checked {
            Ok(check) if check.missing_permissions.is_empty() => Ok(check.generation),
            Ok(check) => Err(format!(
                "Al token de Holded le faltan permisos: {}. Crea uno nuevo en Holded › Configuración › Desarrolladores con esos permisos.",
                check.missing_permissions.join(", ")
            )),
            Err(HoldedError::Unauthorized { .. }) => Err(
                "Holded no reconoce esta clave. Cópiala de nuevo desde Holded › Configuración › Desarrolladores.".to_owned(),
            ),
            Err(err @ (HoldedError::WrongKeyGeneration { .. } | HoldedError::MissingPermission { .. })) => {
                Err(spanish_part(&err.to_string()))
            }
            Err(err) => Err(format!(
                "No se pudo comprobar la clave con Holded ahora mismo ({}). Inténtalo de nuevo en unos minutos.",
                spanish_part(&err.to_string())
            )),
        }
    }
}

/// What changed, for the audit log; the key appears only as its last four characters.
fn audit_details(
    before: &settings::Model,
    after: &settings::Model,
    erase: bool,
) -> serde_json::Value {
    let mut changes = serde_json::Map::new();
    if before.holded_key_enc != after.holded_key_enc {
        let masked = |row: &settings::Model| row.holded_key_last4.as_ref().map(|l| format!("…{l}"));
        changes.insert(
            "holdedApiKey".to_owned(),
            json!({"antes": masked(before), "después": masked(after)}),
        );
    }
    let mut note = |field: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            changes.insert(field.to_owned(), json!({"antes": old, "después": new}));
        }
    };
    note(
        "nextSyncDate",
        json!(before.next_sync_date),
        json!(after.next_sync_date),
    );
    note(
        "objects",
        json!([
            before.sync_contacts,
            before.sync_companies,
            before.sync_products,
            before.sync_documents
        ]),
        json!([
            after.sync_contacts,
            after.sync_companies,
            after.sync_products,
            after.sync_documents
        ]),
    );
    note(
        "documentMapping",
        serde_json::from_str(&before.document_mapping).unwrap_or_default(),
        serde_json::from_str(&after.document_mapping).unwrap_or_default(),
    );
    note(
        "defaultTax",
        json!(before.default_tax),
        json!(after.default_tax),
    );
    note(
        "allowedEditors",
        json!(allowed_editors(before.allowed_editors.as_deref())),
        json!(allowed_editors(after.allowed_editors.as_deref())),
    );
    note(
        "sensitiveData",
        json!(before.sensitive_data),
        json!(after.sensitive_data),
    );
    if erase && before.sensitive_data && !after.sensitive_data {
        changes.insert("borrarDatosSensibles".to_owned(), json!(true));
    }
    serde_json::Value::Object(changes)
}
