//! Telling the story on the deal's Activity timeline: a "Holded" app event
//! where the portal's app has app events approved, otherwise (or with
//! `HH_TIMELINE=notes`) a note on the deal prefixed "Holded ·". Every entry is
//! recorded in `timeline_entries`.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, NotSet};

use crate::{
    config::TimelineMode,
    hubspot::{HubspotError, PortalClient, timeline::AppEvent},
    store::{Store, entities::timeline_entry},
};

/// The app event type (its `uid` in `hubspot-app/src/app/app-events/`).
pub const EVENT_TYPE: &str = "holded_deal_event";

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
    /// The configured channel.
    pub mode: TimelineMode,
    /// HubSpot, as the portal.
    pub client: &'a PortalClient,
    /// Database.
    pub store: &'a Store,
}

impl Timeline<'_> {
    /// Writes `step` (for `request_id`, when it belongs to a document request).
    /// App events that HubSpot refuses (not approved for this app) fall back to
    /// a note, so the rep always sees what happened.
    pub async fn write(
        &self,
        step: &Step,
        request_id: Option<i64>,
    ) -> Result<Channel, TimelineError> {
        let text = text(step);
        if self.mode == TimelineMode::AppEvents {
            match self.client.send_app_events(&[app_event(step)]).await {
                Ok(_) => {
                    self.record(step, request_id, Channel::AppEvent, &text, None)
                        .await?;
                    return Ok(Channel::AppEvent);
                }
                Err(HubspotError::Refused { .. } | HubspotError::MissingScopes { .. }) => {
                    tracing::info!(deal = %step.deal_id, "app events not available; writing a note");
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

fn app_event(step: &Step) -> AppEvent {
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
        event_type_name: EVENT_TYPE.to_owned(),
        id: uuid::Uuid::new_v4().to_string(),
        object_id: step.deal_id.clone(),
        timestamp: Utc::now(),
        properties,
    }
}
