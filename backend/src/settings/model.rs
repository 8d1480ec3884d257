//! Settings values as the rest of the product reads them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::holded::DocumentType;

/// The tax of deal lines that carry none, when the portal chose no other:
/// IVA general (21 %).
pub const DEFAULT_TAX: &str = "s_iva_21";

/// The default taxes the settings offer (Holded's standard Spanish sales
/// taxes), with their Spanish labels. Any sales tax of the account is accepted.
pub const OFFERED_DEFAULT_TAXES: [(&str, &str); 4] = [
    ("s_iva_21", "IVA 21 % (general)"),
    ("s_iva_10", "IVA 10 % (reducido)"),
    ("s_iva_4", "IVA 4 % (superreducido)"),
    ("s_iva_0", "IVA 0 % (exento)"),
];

/// Which Holded objects the nightly sync brings into HubSpot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncObjects {
    /// Holded persons → HubSpot contacts.
    pub contacts: bool,
    /// Holded companies → HubSpot companies.
    pub companies: bool,
    /// Holded products → HubSpot products.
    pub products: bool,
    /// Holded documents → HubSpot deals.
    pub documents: bool,
}

/// A deal pipeline stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRef {
    /// Pipeline id.
    pub pipeline_id: String,
    /// Stage id within the pipeline.
    pub stage_id: String,
}

/// Document type → the pipeline stage its deals live in (and whose entry
/// triggers the document's creation in Holded). Stored as JSON keyed by the
/// Holded v1 type name (`estimate`, `proform`, `waybill`, `invoice`, `salesorder`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocumentMapping(BTreeMap<String, StageRef>);

impl DocumentMapping {
    /// Parses the stored JSON; an unreadable value counts as empty.
    pub fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The stored JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("a map of strings serialises")
    }

    /// The stage mapped for `doc_type`, if any.
    pub fn stage(&self, doc_type: DocumentType) -> Option<&StageRef> {
        self.0.get(doc_type.v1_name())
    }

    /// Maps `doc_type` to `stage`.
    pub fn set(&mut self, doc_type: DocumentType, stage: StageRef) {
        self.0.insert(doc_type.v1_name().to_owned(), stage);
    }
}
