//! CRM objects: get, batch read/create/update/upsert/archive. Batches are cut
//! into requests of at most 100 inputs; every input carries an
//! `objectWriteTraceId` so that one bad record comes back as a per-record
//! error (HTTP 207) instead of failing its 99 neighbours.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    client::{ApiRequest, PortalClient},
    error::{ErrorBody, HubspotError},
};

/// Largest batch HubSpot accepts.
pub const BATCH_LIMIT: usize = 100;

/// The CRM object types the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    /// Contacts (`0-1`).
    Contacts,
    /// Companies (`0-2`).
    Companies,
    /// Deals (`0-3`).
    Deals,
    /// Products (`0-7`).
    Products,
    /// Line items (`0-8`).
    LineItems,
    /// Notes (`0-46`).
    Notes,
}

impl ObjectType {
    /// The name used in paths (`line_items`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
            Self::Deals => "deals",
            Self::Products => "products",
            Self::LineItems => "line_items",
            Self::Notes => "notes",
        }
    }

    /// HubSpot's object type id, e.g. `0-3`.
    pub fn type_id(self) -> &'static str {
        match self {
            Self::Contacts => "0-1",
            Self::Companies => "0-2",
            Self::Deals => "0-3",
            Self::Products => "0-7",
            Self::LineItems => "0-8",
            Self::Notes => "0-46",
        }
    }

    /// The last-modified property (contacts differ from the rest).
    pub fn last_modified_property(self) -> &'static str {
        match self {
            Self::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }

    pub(crate) fn path(self) -> String {
        format!("/crm/objects/2026-09/{}", self.name())
    }
}

/// Property values to write (HubSpot takes every value as a string).
pub type Properties = BTreeMap<String, String>;

/// A CRM record as HubSpot returns it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CrmObject {
    /// Record id.
    pub id: String,
    /// Property values (`null` when unset).
    #[serde(default)]
    pub properties: BTreeMap<String, Option<String>>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    pub updated_at: Option<DateTime<Utc>>,
    /// Archived (in the recycle bin).
    #[serde(default)]
    pub archived: bool,
    /// The trace id of the input that produced it (batch writes).
    pub object_write_trace_id: Option<String>,
    /// Upserts: whether the record was created.
    pub new: Option<bool>,
    /// Every value of the properties asked with `propertiesWithHistory`,
    /// newest first.
    #[serde(default)]
    pub properties_with_history: BTreeMap<String, Vec<PropertyVersion>>,
}

/// One value a property had (`propertiesWithHistory`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertyVersion {
    /// The value.
    pub value: Option<String>,
    /// When it was set.
    pub timestamp: DateTime<Utc>,
    /// Who set it (`CRM_UI`, `INTEGRATION`, …).
    pub source_type: Option<String>,
}

impl CrmObject {
    /// A property's value, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)?
            .as_deref()
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
impl CrmObject {
    /// A record with these property values (for tests of what reads records).
    pub(crate) fn with_properties(id: &str, pairs: &[(&str, &str)]) -> Self {
        Self {
            id: id.to_owned(),
            properties: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
                .collect(),
            created_at: None,
            updated_at: None,
            archived: false,
            object_write_trace_id: None,
            new: None,
            properties_with_history: BTreeMap::new(),
        }
    }
}

/// One association to create together with a record.
#[derive(Debug, Clone)]
pub struct NewAssociation {
    /// The other record's id.
    pub to_id: String,
    /// HubSpot-defined association type id (see [`super::associations::types`]).
    pub type_id: u32,
}

fn associations_json(associations: &[NewAssociation]) -> Value {
    associations
        .iter()
        .map(|a| {
            json!({"to": {"id": a.to_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": a.type_id}]})
        })
        .collect()
}

fn new_trace_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A record to create.
#[derive(Debug, Clone)]
pub struct CreateInput {
    /// Values.
    pub properties: Properties,
    /// Associations created with it.
    pub associations: Vec<NewAssociation>,
    /// Identifies this input in per-record errors.
    pub trace_id: String,
}

impl CreateInput {
    /// An input with a fresh trace id.
    pub fn new(properties: Properties) -> Self {
        Self {
            properties,
            associations: Vec::new(),
            trace_id: new_trace_id(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"properties": self.properties, "associations": associations_json(&self.associations), "objectWriteTraceId": self.trace_id})
    }
}

/// A record to update by id (or by a unique property).
#[derive(Debug, Clone)]
pub struct UpdateInput {
    /// Record id, or the value of `id_property`.
    pub id: String,
    /// A unique property identifying the record instead of its id.
    pub id_property: Option<String>,
    /// New values (empty string clears).
    pub properties: Properties,
    /// Identifies this input in per-record errors.
    pub trace_id: String,
}

impl UpdateInput {
    /// An update of record `id` with a fresh trace id.
    pub fn new(id: impl Into<String>, properties: Properties) -> Self {
        Self {
            id: id.into(),
            id_property: None,
            properties,
            trace_id: new_trace_id(),
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"id": self.id, "properties": self.properties, "objectWriteTraceId": self.trace_id});
        if let Some(p) = &self.id_property {
            v["idProperty"] = json!(p);
        }
        v
    }
}

/// A record to create or update by a unique property (`holded_id`, `email`).
#[derive(Debug, Clone)]
pub struct UpsertInput {
    /// The unique property's value.
    pub id: String,
    /// The unique property.
    pub id_property: String,
    /// Values.
    pub properties: Properties,
    /// Identifies this input in per-record errors.
    pub trace_id: String,
}

impl UpsertInput {
    /// An upsert keyed by `id_property = id`, with a fresh trace id.
    pub fn new(
        id_property: impl Into<String>,
        id: impl Into<String>,
        properties: Properties,
    ) -> Self {
        Self {
            id: id.into(),
            id_property: id_property.into(),
            properties,
            trace_id: new_trace_id(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"id": self.id, "idProperty": self.id_property, "properties": self.properties, "objectWriteTraceId": self.trace_id})
    }
}

/// A record HubSpot refused inside an otherwise successful batch.
#[derive(Debug, Clone)]
pub struct RecordError {
    /// Trace ids of the inputs concerned.
    pub trace_ids: Vec<String>,
    /// Why.
    pub error: HubspotError,
}

/// The result of a batch: what landed and what was refused.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    /// Records written or read.
    pub results: Vec<CrmObject>,
    /// Per-record errors.
    pub errors: Vec<RecordError>,
}

#[derive(Deserialize)]
struct BatchResponse {
    #[serde(default)]
    results: Vec<CrmObject>,
    #[serde(default)]
    errors: Vec<Value>,
}

fn record_error(value: Value) -> RecordError {
    let body: ErrorBody = serde_json::from_value(value).unwrap_or_default();
    let status = match body.category.as_deref() {
        Some("CONFLICT") => 409,
        Some("OBJECT_NOT_FOUND") => 404,
        _ => 400,
    };
    RecordError {
        trace_ids: body.trace_ids(),
        error: body.into_error(status),
    }
}

impl PortalClient {
    /// Reads one record (`properties` empty = HubSpot's defaults).
    pub async fn get_object(
        &self,
        object: ObjectType,
        id: &str,
        properties: &[&str],
    ) -> Result<CrmObject, HubspotError> {
        self.get_object_with_history(object, id, properties, &[])
            .await
    }

    /// [`Self::get_object`], with every value `history` properties have had.
    pub async fn get_object_with_history(
        &self,
        object: ObjectType,
        id: &str,
        properties: &[&str],
        history: &[&str],
    ) -> Result<CrmObject, HubspotError> {
        let mut request = ApiRequest::get(format!("{}/{}", object.path(), id));
        if !properties.is_empty() {
            request = request.query("properties", properties.join(","));
        }
        if !history.is_empty() {
            request = request.query("propertiesWithHistory", history.join(","));
        }
        Ok(self.call(request).await?.1)
    }

    /// Reads records by id (or by `id_property`), 100 per request. Unknown
    /// ids come back as per-record errors.
    pub async fn batch_read(
        &self,
        object: ObjectType,
        ids: &[String],
        properties: &[&str],
        id_property: Option<&str>,
    ) -> Result<BatchOutcome, HubspotError> {
        let mut outcome = BatchOutcome::default();
        for chunk in ids.chunks(BATCH_LIMIT) {
            let mut body = json!({
                "inputs": chunk.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
                "properties": properties,
                "propertiesWithHistory": [],
            });
            if let Some(p) = id_property {
                body["idProperty"] = json!(p);
            }
            self.batch(
                ApiRequest::post(format!("{}/batch/read", object.path()), body),
                &mut outcome,
            )
            .await?;
        }
        Ok(outcome)
    }

    /// Creates records, 100 per request.
    pub async fn batch_create(
        &self,
        object: ObjectType,
        inputs: &[CreateInput],
    ) -> Result<BatchOutcome, HubspotError> {
        self.batch_write(object, "create", inputs, CreateInput::to_json)
            .await
    }

    /// Updates records, 100 per request.
    pub async fn batch_update(
        &self,
        object: ObjectType,
        inputs: &[UpdateInput],
    ) -> Result<BatchOutcome, HubspotError> {
        self.batch_write(object, "update", inputs, UpdateInput::to_json)
            .await
    }

    /// Creates or updates records by a unique property, 100 per request.
    pub async fn batch_upsert(
        &self,
        object: ObjectType,
        inputs: &[UpsertInput],
    ) -> Result<BatchOutcome, HubspotError> {
        self.batch_write(object, "upsert", inputs, UpsertInput::to_json)
            .await
    }

    /// Moves records to the recycle bin, 100 per request (HubSpot answers 204
    /// whatever their state).
    pub async fn batch_archive(
        &self,
        object: ObjectType,
        ids: &[String],
    ) -> Result<(), HubspotError> {
        for chunk in ids.chunks(BATCH_LIMIT) {
            let inputs: Vec<Value> = chunk.iter().map(|id| json!({"id": id})).collect();
            self.send(ApiRequest::post(
                format!("{}/batch/archive", object.path()),
                json!({"inputs": inputs}),
            ))
            .await?;
        }
        Ok(())
    }

    /// Changes properties of one record (an empty string clears a value).
    pub async fn update_object(
        &self,
        object: ObjectType,
        id: &str,
        properties: &Properties,
    ) -> Result<CrmObject, HubspotError> {
        Ok(self
            .call(ApiRequest::patch(
                format!("{}/{}", object.path(), id),
                json!({ "properties": properties }),
            ))
            .await?
            .1)
    }

    /// Moves a record to the recycle bin.
    pub async fn archive(&self, object: ObjectType, id: &str) -> Result<(), HubspotError> {
        self.send(ApiRequest::delete(format!("{}/{}", object.path(), id)))
            .await?;
        Ok(())
    }

    /// Creates one record (with its associations).
    pub async fn create_object(
        &self,
        object: ObjectType,
        input: &CreateInput,
    ) -> Result<CrmObject, HubspotError> {
        let mut body = input.to_json();
        if let Some(map) = body.as_object_mut() {
            map.remove("objectWriteTraceId");
        }
        Ok(self
            .call(ApiRequest::post(object.path(), body).non_idempotent())
            .await?
            .1)
    }

    async fn batch_write<I>(
        &self,
        object: ObjectType,
        action: &str,
        inputs: &[I],
        to_json: fn(&I) -> Value,
    ) -> Result<BatchOutcome, HubspotError> {
        let mut outcome = BatchOutcome::default();
        for chunk in inputs.chunks(BATCH_LIMIT) {
            let body = json!({"inputs": chunk.iter().map(to_json).collect::<Vec<_>>()});
            let request = ApiRequest::post(format!("{}/batch/{action}", object.path()), body);
            let request = if action == "create" {
                request.non_idempotent()
            } else {
                request
            };
            self.batch(request, &mut outcome).await?;
        }
        Ok(outcome)
    }

    async fn batch(
        &self,
        request: ApiRequest,
        outcome: &mut BatchOutcome,
    ) -> Result<(), HubspotError> {
        let (_, response): (_, BatchResponse) = self.call(request).await?;
        outcome.results.extend(response.results);
        outcome
            .errors
            .extend(response.errors.into_iter().map(record_error));
        Ok(())
    }
}
