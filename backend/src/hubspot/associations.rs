//! Associations between records (batch create and batch read).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    client::{ApiRequest, PortalClient},
    error::HubspotError,
    objects::ObjectType,
};

/// HubSpot-defined association type ids.
pub mod types {
    /// Deal → company (unlabeled).
    pub const DEAL_TO_COMPANY: u32 = 341;
    /// Deal → company (primary).
    pub const DEAL_TO_COMPANY_PRIMARY: u32 = 5;
    /// Deal → contact.
    pub const DEAL_TO_CONTACT: u32 = 3;
    /// Contact → company (unlabeled).
    pub const CONTACT_TO_COMPANY: u32 = 279;
    /// Contact → company (primary).
    pub const CONTACT_TO_COMPANY_PRIMARY: u32 = 1;
    /// Deal → line item.
    pub const DEAL_TO_LINE_ITEM: u32 = 19;
    /// Line item → deal.
    pub const LINE_ITEM_TO_DEAL: u32 = 20;
    /// Note → deal.
    pub const NOTE_TO_DEAL: u32 = 214;
}

/// Ids per batch read request.
pub const READ_LIMIT: usize = 1_000;
/// Inputs per batch create request (HubSpot does not publish one; we keep 100).
pub const CREATE_LIMIT: usize = 100;

/// One association to create.
#[derive(Debug, Clone)]
pub struct AssociationInput {
    /// From record id.
    pub from_id: String,
    /// To record id.
    pub to_id: String,
    /// HubSpot-defined type id.
    pub type_id: u32,
}

/// A record associated to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Associated {
    /// The associated record.
    pub to_id: String,
    /// Type ids linking them (e.g. 341 and 5 for a primary company).
    pub type_ids: Vec<u32>,
}

fn path(from: ObjectType, to: ObjectType, action: &str) -> String {
    format!(
        "/crm/associations/2026-09/{}/{}/batch/{action}",
        from.name(),
        to.name()
    )
}

#[derive(Deserialize)]
struct ReadResponse {
    #[serde(default)]
    results: Vec<ReadResult>,
}

#[derive(Deserialize)]
struct ReadResult {
    from: Id,
    #[serde(default)]
    to: Vec<To>,
    paging: Option<Value>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct To {
    to_object_id: Value,
    #[serde(default)]
    association_types: Vec<TypeRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeRef {
    type_id: u32,
}

impl PortalClient {
    /// Creates associations (`HUBSPOT_DEFINED`), 100 per request.
    pub async fn associate(
        &self,
        from: ObjectType,
        to: ObjectType,
        inputs: &[AssociationInput],
    ) -> Result<(), HubspotError> {
        for chunk in inputs.chunks(CREATE_LIMIT) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|a| json!({"from": {"id": a.from_id}, "to": {"id": a.to_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": a.type_id}]}))
                .collect();
            self.send(ApiRequest::post(
                path(from, to, "create"),
                json!({"inputs": inputs}),
            ))
            .await?;
        }
        Ok(())
    }

    /// The records of type `to` associated to each of `ids`, 1,000 ids per
    /// request, following per-record paging.
    pub async fn associations(
        &self,
        from: ObjectType,
        to: ObjectType,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<Associated>>, HubspotError> {
        let mut found: HashMap<String, Vec<Associated>> = HashMap::new();
        let mut pending: Vec<(String, Option<String>)> =
            ids.iter().map(|id| (id.clone(), None)).collect();
        while !pending.is_empty() {
            let take = pending.len().min(READ_LIMIT);
            let chunk: Vec<_> = pending.drain(..take).collect();
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|(id, after)| match after {
                    Some(after) => json!({"id": id, "after": after}),
                    None => json!({"id": id}),
                })
                .collect();
            let (_, response): (_, ReadResponse) = self
                .call(ApiRequest::post(
                    path(from, to, "read"),
                    json!({"inputs": inputs}),
                ))
                .await?;
            for result in response.results {
                let entry = found.entry(result.from.id.clone()).or_default();
                entry.extend(result.to.into_iter().map(|t| Associated {
                    to_id: match t.to_object_id {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                    type_ids: t.association_types.iter().map(|a| a.type_id).collect(),
                }));
                if let Some(after) = result
                    .paging
                    .as_ref()
                    .and_then(|p| p.pointer("/next/after"))
                    .and_then(Value::as_str)
                {
                    pending.push((result.from.id, Some(after.to_owned())));
                }
            }
        }
        Ok(found)
    }
}
