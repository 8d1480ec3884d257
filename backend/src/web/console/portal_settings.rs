//! A portal's settings — the Holded key, the Holded → HubSpot sync and
//! sensitive data — edited here and saved through the settings API's own
//! service and validation, audited as the console. A refused save shows each
//! Spanish message next to its field and keeps what the operator typed
//! (except the key, which is never written back into a page).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, ResponseError, get, http::StatusCode, post, web};
use maud::{Markup, html};
use secrecy::SecretString;

use super::{
    AUDIT_ACTOR,
    csrf::{self, FormFields, VerifiedForm},
    error::ConsoleError,
    layout::{self, Done, DoneQuery, PortalTab, Section},
    portal_or_404,
    runs::sync_now_path,
    session::Session,
};
use crate::{
    holded::DocumentType,
    i18n::spanish_count,
    quota::QuotaView,
    settings::{
        OFFERED_DEFAULT_TAXES, SensitiveDataUpdate, SettingsUpdate, SettingsView, StageRef,
        SyncObjects,
    },
    web::{
        ApiError, AppState,
        settings_api::{save_settings, settings_view},
        signed::connected_client,
    },
};

/// Separates the pipeline id from the stage id in a mapping option's value.
const STAGE_SEPARATOR: char = '/';

/// What the form shows: the stored settings, or what the operator just typed.
struct FormValues {
    next_sync_date: String,
    objects: SyncObjects,
    /// Document type (v1 name) → `pipeline/stage`, or empty when unassigned.
    mapping: BTreeMap<&'static str, String>,
    sensitive: bool,
    erase_existing: bool,
    default_tax: String,
}

fn mapping_field(doc_type: DocumentType) -> String {
    format!("mapping-{}", doc_type.v1_name())
}

impl FormValues {
    fn stored(view: &SettingsView) -> Self {
        Self {
            next_sync_date: view.next_sync_date.clone(),
            objects: view.objects,
            mapping: DocumentType::ALL
                .into_iter()
                .map(|doc_type| {
                    let value = view
                        .document_mapping
                        .stage(doc_type)
                        .map(|stage| {
                            format!("{}{STAGE_SEPARATOR}{}", stage.pipeline_id, stage.stage_id)
                        })
                        .unwrap_or_default();
                    (doc_type.v1_name(), value)
                })
                .collect(),
            sensitive: view.sensitive_data.enabled,
            erase_existing: false,
            default_tax: view.default_tax.clone(),
        }
    }

    fn typed(form: &FormFields) -> Self {
        Self {
            next_sync_date: form.text("next_sync_date"),
            objects: SyncObjects {
                contacts: form.checked("contacts"),
                companies: form.checked("companies"),
                products: form.checked("products"),
                documents: form.checked("documents"),
            },
            mapping: DocumentType::ALL
                .into_iter()
                .map(|doc_type| (doc_type.v1_name(), form.text(&mapping_field(doc_type))))
                .collect(),
            sensitive: form.checked("sensitive_data"),
            erase_existing: form.checked("erase_existing"),
            default_tax: form.text("default_tax"),
        }
    }

    /// The save these values (and a new key and signing secret, when typed) ask for.
    fn update(&self, new_key: String, new_webhook_secret: String) -> SettingsUpdate {
        SettingsUpdate {
            holded_api_key: (!new_key.is_empty()).then(|| SecretString::from(new_key)),
            holded_webhook_secret: (!new_webhook_secret.is_empty())
                .then(|| SecretString::from(new_webhook_secret)),
            next_sync_date: self.next_sync_date.clone(),
            objects: self.objects,
            document_mapping: self
                .mapping
                .iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(doc_type, value)| {
                    let (pipeline_id, stage_id) =
                        value.split_once(STAGE_SEPARATOR).unwrap_or((value, ""));
                    (
                        (*doc_type).to_owned(),
                        StageRef {
                            pipeline_id: pipeline_id.to_owned(),
                            stage_id: stage_id.to_owned(),
                        },
                    )
                })
                .collect(),
            sensitive_data: SensitiveDataUpdate {
                enabled: self.sensitive,
                erase_existing: self.erase_existing,
            },
            default_tax: Some(self.default_tax.clone()).filter(|t| !t.is_empty()),
            allowed_editors: None,
        }
    }
}

/// The refused fields of a save, by the settings API's field names.
struct Refused<'a>(&'a BTreeMap<String, String>);

impl Refused<'_> {
    /// The page element that shows the API field `field`.
    fn element_id(field: &str) -> Option<String> {
        match field {
            "holdedApiKey" => Some("holded-api-key".to_owned()),
            "holdedWebhookSecret" => Some("holded-webhook-secret".to_owned()),
            "nextSyncDate" => Some("next-sync-date".to_owned()),
            "sensitiveData" => Some("sensitive-data".to_owned()),
            "defaultTax" => Some("default-tax".to_owned()),
            _ => field
                .strip_prefix("documentMapping.")
                .and_then(DocumentType::from_v1_name)
                .map(mapping_field),
        }
    }

    /// The message for the element `id`, shown next to it.
    fn message_for(&self, id: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| Self::element_id(field).as_deref() == Some(id))
            .map(|(_, message)| message.as_str())
    }

    /// `aria-describedby` for the element `id` with a hint `hint_id`.
    fn described_by(&self, id: &str, hint_id: Option<&str>) -> Option<String> {
        let error = self.message_for(id).map(|_| format!("{id}-error"));
        let ids: Vec<String> = hint_id
            .map(str::to_owned)
            .into_iter()
            .chain(error)
            .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn invalid(&self, id: &str) -> Option<&'static str> {
        self.message_for(id).map(|_| "true")
    }

    /// The message under the element `id`, if it was refused.
    fn error_text(&self, id: &str) -> Markup {
        html! {
            @if let Some(message) = self.message_for(id) {
                p.field-error id={ (id) "-error" } { (message) }
            }
        }
    }

    /// Every refused field, linked to its element, at the top of the form.
    fn summary(&self) -> Markup {
        html! {
            @if !self.0.is_empty() {
                div.error-summary role="alert" {
                    h2 { "No se ha guardado: revisa los campos marcados" }
                    ul {
                        @for (field, message) in self.0 {
                            li {
                                @if let Some(id) = Self::element_id(field) {
                                    a href={ "#" (id) } { (message) }
                                } @else {
                                    (message)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn checkbox(name: &str, label: &str, checked: bool) -> Markup {
    html! {
        div.check {
            input type="checkbox" id=(name) name=(name) value="1" checked[checked];
            label for=(name) { (label) }
        }
    }
}

/// This month's Holded calls against the account's quota, and the warning or
/// the pause when there is one.
pub fn usage_status(usage: &QuotaView) -> Markup {
    html! {
        p #holded-usage {
            "Peticiones a la API de Holded este mes (" (usage.period) "): "
            strong { (spanish_count(usage.used)) " de " (spanish_count(usage.limit)) }
            " (" (usage.percent) " %"
            @if usage.counted_by_holded { ", según Holded" }
            ")."
        }
        @if let Some(message) = &usage.message {
            p.warning #holded-usage-message role="status" { (message) }
        }
    }
}

fn holded_section(view: &SettingsView, refused: &Refused) -> Markup {
    let id = "holded-api-key";
    html! {
        fieldset {
            legend { "Holded" }
            p #holded-key-status {
                @if view.holded.configured {
                    "Clave guardada: termina en "
                    strong { "…" (view.holded.key_last4.as_deref().unwrap_or("????")) }
                    @if let Some(generation) = &view.holded.generation { " (API " (generation) ")" }
                    "."
                } @else {
                    strong.error { "Sin clave de Holded" } ": la sincronización no se ejecuta hasta que se añada una."
                }
            }
            @if let Some(usage) = &view.holded_usage {
                (usage_status(usage))
            }
            div.field {
                label for=(id) { "Nueva clave de API de Holded" }
                p.hint #holded-api-key-hint { "Déjala vacía para conservar la actual. Se comprueba con Holded al guardar; nunca se muestra." }
                (refused.error_text(id))
                input id=(id) type="password" name="holded_api_key" autocomplete="new-password" spellcheck="false"
                    aria-describedby=[refused.described_by(id, Some("holded-api-key-hint holded-key-status"))]
                    aria-invalid=[refused.invalid(id)];
            }
        }
    }
}

/// The Holded webhook: the endpoint, the set-up steps in Holded, whether
/// deliveries arrive and the refused ones, and the signing secret field.
fn webhook_section(view: &SettingsView, refused: &Refused) -> Markup {
    let hook = &view.holded_webhook;
    let id = "holded-webhook-secret";
    html! {
        fieldset #holded-webhook {
            legend { "Cambios de Holded en tiempo real (webhooks)" }
            p { "Dirección del webhook: " code #holded-webhook-url { (hook.url) } }
            ol #holded-webhook-steps {
                @for step in hook.steps { li { (step) } }
            }
            p #holded-webhook-status role="status" {
                @if hook.connected {
                    strong { "Conectado" }
                    @if let Some(at) = hook.last_delivery_at {
                        ". Último envío recibido: " (at.format("%d/%m/%Y %H:%M:%S UTC")) "."
                    }
                } @else if hook.secret_configured {
                    "Secreto guardado; esperando el primer envío de Holded."
                } @else {
                    "Sin configurar: los cambios de Holded llegan con la sincronización nocturna."
                }
            }
            @if hook.refused > 0 {
                p.warning #holded-webhook-refused {
                    "Envíos rechazados: " (hook.refused)
                    @if let Some(reason) = &hook.last_refusal { ". Último motivo: " (reason) }
                    "."
                }
            }
            div.field {
                label for=(id) { "Secreto de firma del webhook (whsec_…)" }
                p.hint #holded-webhook-secret-hint { "Déjalo vacío para conservar el actual. Se guarda cifrado; nunca se muestra." }
                (refused.error_text(id))
                input id=(id) type="password" name="holded_webhook_secret" autocomplete="new-password" spellcheck="false"
                    aria-describedby=[refused.described_by(id, Some("holded-webhook-secret-hint"))]
                    aria-invalid=[refused.invalid(id)];
            }
        }
    }
}

fn stage_select(
    view: &SettingsView,
    doc_type: DocumentType,
    selected: &str,
    refused: &Refused,
) -> Markup {
    let id = mapping_field(doc_type);
    let known = selected.is_empty()
        || view.pipelines.iter().any(|pipeline| {
            pipeline
                .stages
                .iter()
                .any(|stage| selected == format!("{}{STAGE_SEPARATOR}{}", pipeline.id, stage.id))
        });
    html! {
        div.field {
            label for=(id) { (doc_type.spanish_name()) }
            (refused.error_text(&id))
            select id=(id) name=(id) aria-describedby=[refused.described_by(&id, None)] aria-invalid=[refused.invalid(&id)] {
                option value="" selected[selected.is_empty()] { "Sin asignar (no se sincroniza)" }
                @if !known {
                    option value=(selected) selected { "Etapa que ya no existe (" (selected) ")" }
                }
                @for pipeline in &view.pipelines {
                    optgroup label=(pipeline.label) {
                        @for stage in &pipeline.stages {
                            @let value = format!("{}{STAGE_SEPARATOR}{}", pipeline.id, stage.id);
                            option value=(value) selected[value == selected] { (pipeline.label) " › " (stage.label) }
                        }
                    }
                }
            }
        }
    }
}

fn sync_section(view: &SettingsView, values: &FormValues, refused: &Refused) -> Markup {
    let date_id = "next-sync-date";
    html! {
        fieldset {
            legend { "Holded → HubSpot" }
            div.field {
                label for=(date_id) { "Próxima sincronización desde" }
                p.hint #next-sync-date-hint {
                    "Día en la zona horaria del portal (" (view.time_zone) "). Una fecha pasada recupera el histórico desde ese día."
                }
                (refused.error_text(date_id))
                input id=(date_id) type="date" name="next_sync_date" value=(values.next_sync_date) required
                    aria-describedby=[refused.described_by(date_id, Some("next-sync-date-hint"))]
                    aria-invalid=[refused.invalid(date_id)];
            }
            fieldset.inner {
                legend { "Objetos que se sincronizan" }
                (checkbox("contacts", "Contactos (personas de Holded)", values.objects.contacts))
                (checkbox("companies", "Empresas", values.objects.companies))
                (checkbox("products", "Productos", values.objects.products))
                (checkbox("documents", "Documentos (como negocios)", values.objects.documents))
            }
            fieldset.inner {
                legend { "Tipo de documento → pipeline y etapa de negocio" }
                @for doc_type in DocumentType::ALL {
                    (stage_select(view, doc_type, values.mapping.get(doc_type.v1_name()).map_or("", String::as_str), refused))
                }
            }
            (default_tax_select(values, refused))
        }
    }
}

fn default_tax_select(values: &FormValues, refused: &Refused) -> Markup {
    let id = "default-tax";
    let offered = OFFERED_DEFAULT_TAXES
        .iter()
        .any(|(key, _)| *key == values.default_tax);
    html! {
        div.field {
            label for=(id) { "Impuesto por defecto de los documentos" }
            p.hint #default-tax-hint { "Para las líneas de negocio sin impuesto propio ni de su producto." }
            (refused.error_text(id))
            select id=(id) name="default_tax"
                aria-describedby=[refused.described_by(id, Some("default-tax-hint"))]
                aria-invalid=[refused.invalid(id)] {
                @if !offered {
                    option value=(values.default_tax) selected { (values.default_tax) }
                }
                @for (key, label) in OFFERED_DEFAULT_TAXES {
                    option value=(key) selected[key == values.default_tax] { (label) }
                }
            }
        }
    }
}

fn sensitive_section(view: &SettingsView, values: &FormValues, refused: &Refused) -> Markup {
    let id = "sensitive-data";
    let available = view.sensitive_data.available;
    html! {
        fieldset {
            legend { "Datos sensibles" }
            (refused.error_text(id))
            div.check {
                input id=(id) type="checkbox" name="sensitive_data" value="1"
                    checked[values.sensitive] disabled[!available]
                    aria-describedby=[refused.described_by(id, Some("sensitive-data-hint"))]
                    aria-invalid=[refused.invalid(id)];
                label for=(id) { "Enviar NIF/DNI, número de IVA, IBAN y SWIFT entre Holded y HubSpot" }
            }
            p.hint #sensitive-data-hint {
                @if let Some(reason) = view.sensitive_data.reason { (reason) } @else { "Desactivado por defecto." }
            }
            @if view.sensitive_data.enabled {
                (checkbox("erase_existing", "Al desactivarlos, borrar de HubSpot los valores ya enviados", values.erase_existing))
            }
        }
    }
}

fn settings_page(
    status: StatusCode,
    session: &Session,
    view: &SettingsView,
    values: &FormValues,
    refused: &Refused,
    notice: Markup,
) -> HttpResponse {
    let portal_id = view.portal_id;
    let body = html! {
        (notice)
        (refused.summary())
        form.settings method="post" action=(PortalTab::Settings.href(portal_id)) novalidate {
            (csrf::hidden_field(session))
            (holded_section(view, refused))
            (webhook_section(view, refused))
            (sync_section(view, values, refused))
            (sensitive_section(view, values, refused))
            button type="submit" { "Guardar" }
        }
        section aria-labelledby="sync-now-heading" {
            h2 #sync-now-heading { "Sincronizar ahora" }
            p { "Pone en cola una ejecución de este portal con la configuración guardada." }
            (layout::post_button(session, &sync_now_path(portal_id), "Sincronizar ahora", &[], "secondary"))
        }
    };
    layout::console_page(
        status,
        session,
        Section::Portal(portal_id, PortalTab::Settings),
        "Configuración",
        body,
    )
}

/// The settings tab when the settings cannot be read or saved (disconnected
/// portal, HubSpot unreachable, app not configured), with the reason.
fn unavailable(session: &Session, portal_id: i64, err: ApiError) -> HttpResponse {
    let body = html! { p.error role="alert" { (err.to_string()) } };
    layout::console_page(
        err.status_code(),
        session,
        Section::Portal(portal_id, PortalTab::Settings),
        "Configuración",
        body,
    )
}

/// The settings form with the stored values.
#[get("/portals/{portal_id}/settings")]
pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let portal = portal_or_404(&state, path.into_inner()).await?;
    let view = match connected_client(&state, &portal) {
        Ok(client) => settings_view(&state, &portal, &client).await,
        Err(err) => Err(err),
    };
    Ok(match view {
        Ok(view) => settings_page(
            StatusCode::OK,
            &session,
            &view,
            &FormValues::stored(&view),
            &Refused(&BTreeMap::new()),
            done.notice(),
        ),
        Err(err) => unavailable(&session, portal.id, err),
    })
}

/// Saves the form: a redirect to the form with "Configuración guardada", or
/// the form again (422) with each refused field's message.
#[post("/portals/{portal_id}/settings")]
pub async fn save(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: VerifiedForm,
) -> Result<HttpResponse, ConsoleError> {
    let VerifiedForm { session, fields } = form;
    let portal = portal_or_404(&state, path.into_inner()).await?;
    let client = match connected_client(&state, &portal) {
        Ok(client) => client,
        Err(err) => return Ok(unavailable(&session, portal.id, err)),
    };
    let values = FormValues::typed(&fields);
    let update = values.update(
        fields.text("holded_api_key"),
        fields.text("holded_webhook_secret"),
    );
    let err = match save_settings(&state, &portal, &client, update, AUDIT_ACTOR).await {
        Ok(_) => return Ok(Done::Saved.redirect(&PortalTab::Settings.href(portal.id))),
        Err(err) => err,
    };
    let Some(refused) = err.fields() else {
        return Ok(unavailable(&session, portal.id, err));
    };
    Ok(match settings_view(&state, &portal, &client).await {
        Ok(view) => settings_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &session,
            &view,
            &values,
            &Refused(refused),
            html! {},
        ),
        Err(err) => unavailable(&session, portal.id, err),
    })
}
