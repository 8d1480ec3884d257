//! Custom properties and property groups, created idempotently at install.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    client::{ApiRequest, PortalClient},
    error::HubspotError,
    objects::ObjectType,
};

/// An enumeration option.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    /// Label shown to users.
    pub label: String,
    /// Stored value (what writes send).
    pub value: String,
    /// Position.
    #[serde(default)]
    pub display_order: i32,
    /// Hidden in forms.
    #[serde(default)]
    pub hidden: bool,
}

/// A property to create (HubSpot's `PropertyCreate`; also the shape of the
/// properties manifest in `hubspot-app/crm-properties.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyDefinition {
    /// Internal name, e.g. `holded_id`.
    pub name: String,
    /// Label.
    pub label: String,
    /// `string`, `number`, `date`, `datetime`, `enumeration`, `bool`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `text`, `select`, `radio`, …
    pub field_type: String,
    /// Group name.
    pub group_name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether values are unique (immutable once set).
    #[serde(default)]
    pub has_unique_value: bool,
    /// Options for enumerations.
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    /// `non_sensitive`, `sensitive` or `highly_sensitive` (Enterprise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_sensitivity: Option<String>,
}

/// A property as HubSpot describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    /// Internal name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Field type.
    pub field_type: String,
    /// Group.
    #[serde(default)]
    pub group_name: String,
    /// Unique values enforced.
    #[serde(default)]
    pub has_unique_value: bool,
    /// Options.
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    /// Sensitivity (absent means non-sensitive).
    pub data_sensitivity: Option<String>,
    /// Built into HubSpot.
    #[serde(default)]
    pub hubspot_defined: bool,
}

/// A property group.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertyGroup {
    /// Internal name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Position (-1 = after the others).
    #[serde(default)]
    pub display_order: i32,
}

fn path(object: ObjectType) -> String {
    format!("/crm/properties/2026-09/{}", object.name())
}

impl PortalClient {
    /// Creates a group unless it exists; returns it either way.
    pub async fn ensure_property_group(
        &self,
        object: ObjectType,
        group: &PropertyGroup,
    ) -> Result<PropertyGroup, HubspotError> {
        let create = ApiRequest::post(format!("{}/groups", path(object)), json!(group));
        match self.call(create).await {
            Ok((_, created)) => Ok(created),
            Err(HubspotError::Conflict { .. }) => Ok(self
                .call(ApiRequest::get(format!(
                    "{}/groups/{}",
                    path(object),
                    group.name
                )))
                .await?
                .1),
            Err(e) => Err(e),
        }
    }

    /// Creates a property unless it exists; returns the property as HubSpot
    /// has it (so the caller can check an existing one's unique flag and
    /// sensitivity, which cannot be changed afterwards).
    pub async fn ensure_property(
        &self,
        object: ObjectType,
        definition: &PropertyDefinition,
    ) -> Result<Property, HubspotError> {
        let create = ApiRequest::post(path(object), json!(definition));
        match self.call(create).await {
            Ok((_, created)) => Ok(created),
            Err(HubspotError::Conflict { .. }) => {
                self.get_property(
                    object,
                    &definition.name,
                    definition.data_sensitivity.as_deref(),
                )
                .await
            }
            Err(e) => Err(e),
        }
    }

    /// Reads one property of `data_sensitivity` (`sensitive`,
    /// `highly_sensitive`; `None` for an ordinary one): HubSpot finds a
    /// sensitive property only when asked for its sensitivity.
    pub async fn get_property(
        &self,
        object: ObjectType,
        name: &str,
        data_sensitivity: Option<&str>,
    ) -> Result<Property, HubspotError> {
        let request = ApiRequest::get(format!("{}/{}", path(object), name));
        Ok(self.call(sensitivity(request, data_sensitivity)).await?.1)
    }

    /// Lists an object's properties of `data_sensitivity` (`None`: the
    /// ordinary ones, HubSpot's default; sensitive ones are listed only when
    /// asked for).
    pub async fn list_properties(
        &self,
        object: ObjectType,
        data_sensitivity: Option<&str>,
    ) -> Result<Vec<Property>, HubspotError> {
        #[derive(Deserialize)]
        struct List {
            results: Vec<Property>,
        }
        let request = ApiRequest::get(path(object));
        let (_, list): (_, List) = self.call(sensitivity(request, data_sensitivity)).await?;
        Ok(list.results)
    }
}

/// Asks for properties of `data_sensitivity`, when given.
fn sensitivity(request: ApiRequest, data_sensitivity: Option<&str>) -> ApiRequest {
    match data_sensitivity {
        Some(level) => request.query("dataSensitivity", level),
        None => request,
    }
}
