//! Telling the story on the deal's Activity timeline: a note on the deal
//! prefixed "Holded ·" by default; a "Holded" app event when the operator has
//! configured the event type's fully qualified name
//! (`HH_TIMELINE_EVENT_TYPE`). An app event HubSpot refuses (any 4xx) is
//! written as a note instead, and that portal gets notes from then on: no
//! second refused call per portal until the setting changes (a restart).
//! Every entry is recorded in `timeline_entries`.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{Arc, Mutex},
};

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, NotSet};

use crate::{
    hubspot::{HubspotError, PortalClient, timeline::AppEvent},
    store::{Store, entities::timeline_entry},
};

/// Where the process writes deal activity, shared by all its jobs: app
/// events of the configured type, except on portals whose app events HubSpot
/// has refused; notes otherwise.
#[derive(Clone, Debug, Default)]
pub struct TimelineChannel {
    event_type: Option<Arc<str>>,
    refused: Arc<Mutex<HashSet<u64>>>,
}

impl TimelineChannel {
    /// App events named `event_type` (HubSpot's fully qualified name), or
    /// notes when `None`.
    pub fn new(event_type: Option<String>) -> Self {
        Self {
            event_type: event_type.map(Arc::from),
            refused: Arc::default(),
        }
    }

    /// The event type to send for `portal`, unless it gets notes.
    fn event_type_for(&self, portal: u64) -> Option<&str> {
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        self.event_type
            .as_deref()
            .filter(|_| !refused.contains(&portal))
    }

    /// `portal` gets notes from now on.
    fn refuse(&self, portal: u64) {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(portal);
    }
}

/// One step to show on a deal.
#[derive(Clone, Debug)]
pub struct Step {
    /// The deal.
    pub deal_id: String,
    /// One line, in Spanish ("Presupuesto E260012 creado en Holded por 1.210,00 €").
    pub title: String,
    /// More detail, if any.
    pub detail: Option<String>,
    /// A link to the Holded document, if any.
    pub link: Option<String>,
    /// Whether the step succeeded (`false` for errors).
    pub ok: bool,
}

/// Where a step ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// A HubSpot app event.
    AppEvent,
    /// A note on the deal.
    Note,
}

/// Why a step could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    /// HubSpot refused both channels.
    #[error(transparent)]
    Hubspot(#[from] HubspotError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Writes steps for one portal.
pub struct Timeline<'a> {
    /// Where steps go.
    pub channel: &'a TimelineChannel,
    /// HubSpot, as the portal.
    pub client: &'a PortalClient,
    /// Database.
    pub store: &'a Store,
}

impl Timeline<'_> {
    /// Writes `step` (for `request_id`, when it belongs to a document request).
    pub async fn write(
        &self,
        step: &Step,
        request_id: Option<i64>,
    ) -> Result<Channel, TimelineError> {
        let text = text(step);
        let portal = self.client.portal_id();
        if let Some(event_type) = self.channel.event_type_for(portal) {
            match self
                .client
                .send_app_events(&[app_event(event_type, step)])
                .await
            {
                Ok(_) => {
                    self.record(step, request_id, Channel::AppEvent, &text, None)
                        .await?;
                    return Ok(Channel::AppEvent);
                }
                Err(error) if refuses_app_events(&error) => {
                    self.channel.refuse(portal);
                    tracing::warn!(
                        portal_id = portal,
                        event_type,
                        %error,
                        "HubSpot refused app events: this portal's deal activity goes to notes until HH_TIMELINE_EVENT_TYPE changes (restart)"
                    );
                }
                Err(other) => return Err(other.into()),
            }
        }
        let note = self
            .client
            .add_deal_note(&step.deal_id, &text, Utc::now())
            .await?;
        self.record(step, request_id, Channel::Note, &text, Some(note.id))
            .await?;
        Ok(Channel::Note)
    }

    async fn record(
        &self,
        step: &Step,
        request_id: Option<i64>,
        channel: Channel,
        text: &str,
        hubspot_id: Option<String>,
    ) -> Result<(), DbErr> {
        timeline_entry::ActiveModel {
            id: NotSet,
            portal_id: Set(self.client.portal_id() as i64),
            deal_id: Set(step.deal_id.clone()),
            document_request_id: Set(request_id),
            channel: Set(match channel {
                Channel::AppEvent => "app_event",
                Channel::Note => "note",
            }
            .to_owned()),
            text: Set(text.to_owned()),
            hubspot_id: Set(hubspot_id),
            created_at: Set(Utc::now()),
        }
        .insert(self.store.db())
        .await
        .map(|_| ())
    }
}

/// The note text: "Holded · title", then the detail and the link.
fn text(step: &Step) -> String {
    let mut text = format!("Holded · {}", step.title);
    if let Some(detail) = &step.detail {
        text.push('\n');
        text.push_str(detail);
    }
    if let Some(link) = &step.link {
        text.push_str("\nAbrir en Holded: ");
        text.push_str(link);
    }
    text
}

/// Whether the events endpoint refused the call for good (a 4xx other than
/// a rate limit: unknown event type, app not approved, missing scope…).
fn refuses_app_events(error: &HubspotError) -> bool {
    error.refuses_data()
        || matches!(
            error,
            HubspotError::MissingScopes { .. } | HubspotError::Refused { .. }
        )
}

fn app_event(event_type: &str, step: &Step) -> AppEvent {
    let mut properties = BTreeMap::new();
    properties.insert("titulo".to_owned(), step.title.clone());
    properties.insert(
        "detalle".to_owned(),
        step.detail.clone().unwrap_or_default(),
    );
    properties.insert("enlace".to_owned(), step.link.clone().unwrap_or_default());
    properties.insert(
        "resultado".to_owned(),
        if step.ok { "ok" } else { "error" }.to_owned(),
    );
    AppEvent {
        event_type_name: event_type.to_owned(),
        id: uuid::Uuid::new_v4().to_string(),
        object_id: step.deal_id.clone(),
        timestamp: Utc::now(),
        properties,
    }
}
