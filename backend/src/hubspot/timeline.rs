//! The deal's Activity timeline: app events (needs HubSpot's approval) or,
//! until then, notes on the deal.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    associations::types::NOTE_TO_DEAL,
    client::{ApiRequest, PortalClient},
    error::HubspotError,
    objects::{CreateInput, CrmObject, NewAssociation, ObjectType},
};

/// One app event occurrence.
#[derive(Debug, Clone)]
pub struct AppEvent {
    /// The event type's fully qualified name.
    pub event_type_name: String,
    /// Our id for the occurrence (idempotency: HubSpot answers 409 on reuse).
    pub id: String,
    /// The record (deal) id.
    pub object_id: String,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Values for the event type's properties.
    pub properties: BTreeMap<String, String>,
}

impl AppEvent {
    fn to_json(&self) -> Value {
        json!({
            "eventTypeName": self.event_type_name,
            "id": self.id,
            "objectId": self.object_id,
            "timestamp": self.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true),
            "properties": self.properties,
        })
    }
}

/// Ids of the occurrences HubSpot stored.
#[derive(Debug, Clone, Deserialize)]
struct BatchResponse {
    #[serde(default)]
    results: Vec<Value>,
}

impl PortalClient {
    /// Sends app events in one batch call. A portal whose app events are
    /// not approved answers 403 (a `Refused`/`MissingScopes` error).
    pub async fn send_app_events(&self, events: &[AppEvent]) -> Result<usize, HubspotError> {
        let inputs: Vec<Value> = events.iter().map(AppEvent::to_json).collect();
        let (_, response): (_, BatchResponse) = self
            .call(ApiRequest::post(
                "/integrators/timeline/2026-03/events/batch",
                json!({"inputs": inputs}),
            ))
            .await?;
        Ok(response.results.len())
    }

    /// Writes a note on a deal (the timeline fallback).
    pub async fn add_deal_note(
        &self,
        deal_id: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<CrmObject, HubspotError> {
        let mut input = CreateInput::new(
            [
                ("hs_note_body".to_owned(), body.to_owned()),
                (
                    "hs_timestamp".to_owned(),
                    at.to_rfc3339_opts(SecondsFormat::Millis, true),
                ),
            ]
            .into(),
        );
        input.associations.push(NewAssociation {
            to_id: deal_id.to_owned(),
            type_id: NOTE_TO_DEAL,
        });
        self.create_object(ObjectType::Notes, &input).await
    }
}
