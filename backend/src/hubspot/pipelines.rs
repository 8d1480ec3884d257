//! Deal pipelines and stages, cached per portal (HubSpot asks apps to cache
//! settings such as pipelines).

use std::{collections::BTreeMap, sync::Arc};

use serde::Deserialize;

use super::{
    client::{ApiRequest, PortalClient},
    error::HubspotError,
};

/// A deal pipeline.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Pipeline {
    /// Id (`default` for the default pipeline).
    pub id: String,
    /// Label.
    pub label: String,
    /// Position.
    #[serde(default)]
    pub display_order: i32,
    /// Stages.
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// Archived.
    #[serde(default)]
    pub archived: bool,
}

/// A pipeline stage.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// Id (what `dealstage` holds).
    pub id: String,
    /// Label.
    pub label: String,
    /// Position.
    #[serde(default)]
    pub display_order: i32,
    /// `probability`, `isClosed` (strings).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Archived.
    #[serde(default)]
    pub archived: bool,
}

impl Pipeline {
    /// The stage with `id`, if this pipeline has it.
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }
}

impl PortalClient {
    /// The portal's deal pipelines (cached after the first read; see
    /// [`PortalClient::forget_pipelines`]).
    pub async fn deal_pipelines(&self) -> Result<Arc<Vec<Pipeline>>, HubspotError> {
        if let Some(cached) = self.cached_pipelines() {
            return Ok(cached);
        }
        #[derive(Deserialize)]
        struct List {
            results: Vec<Pipeline>,
        }
        let (_, list): (_, List) = self
            .call(ApiRequest::get("/crm/pipelines/2026-09/deals"))
            .await?;
        let pipelines = Arc::new(list.results);
        self.cache_pipelines(pipelines.clone());
        Ok(pipelines)
    }
}
