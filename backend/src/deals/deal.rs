//! What the flow reads from HubSpot about a deal: its properties, the company
//! or contact the document is for, and its line items with their products.

use chrono::{DateTime, Utc};

use super::error::DealError;
use crate::{
    holded::DocumentType,
    hubspot::{CrmObject, HubspotError, ObjectType, PortalClient, associations::types},
};

/// Deal properties the flow reads.
pub const DEAL_PROPERTIES: [&str; 10] = [
    "dealname",
    "pipeline",
    "dealstage",
    "amount",
    "deal_currency_code",
    "closedate",
    "holded_tipo_documento",
    "holded_asociar_documento_a",
    "holded_id",
    "holded_numero_documento",
];

/// Who the Holded document is for ("Asociar documento a").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssociateTo {
    /// "Empresa": the deal's company.
    Company,
    /// "Contacto": the deal's contact.
    Contact,
}

impl AssociateTo {
    /// The property value (`company`, `contact`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Company => "company",
            Self::Contact => "contact",
        }
    }

    /// The value of a property value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "company" => Some(Self::Company),
            "contact" => Some(Self::Contact),
            _ => None,
        }
    }

    /// The HubSpot object it reads.
    pub fn object(self) -> ObjectType {
        match self {
            Self::Company => ObjectType::Companies,
            Self::Contact => ObjectType::Contacts,
        }
    }
}

/// A deal as the flow sees it.
#[derive(Clone, Debug)]
pub struct Deal {
    /// Deal id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Pipeline id.
    pub pipeline: Option<String>,
    /// Stage id.
    pub stage: Option<String>,
    /// "Tipo de documento (Holded)".
    pub document_type: Option<DocumentType>,
    /// "Asociar documento a".
    pub associate_to: Option<AssociateTo>,
    /// Amount (net) as HubSpot gives it, if set (parsed where it is used,
    /// so that a value too large for exact decimals is named, not ignored).
    pub amount: Option<String>,
    /// Currency (ISO 4217, upper case), if set.
    pub currency: Option<String>,
    /// The Holded document the deal stands for, if any (`holded_id`: written
    /// by the nightly sync for deals that came from Holded, and by this flow).
    pub holded_id: Option<String>,
    /// The stages it entered and when, newest first (HubSpot's history of
    /// `dealstage`).
    pub stage_history: Vec<(String, DateTime<Utc>)>,
}

impl Deal {
    fn from_object(object: &CrmObject) -> Self {
        Self {
            id: object.id.clone(),
            name: object
                .get("dealname")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("Negocio {}", object.id)),
            pipeline: object.get("pipeline").map(str::to_owned),
            stage: object.get("dealstage").map(str::to_owned),
            document_type: object
                .get("holded_tipo_documento")
                .and_then(DocumentType::from_v1_name),
            associate_to: object
                .get("holded_asociar_documento_a")
                .and_then(AssociateTo::parse),
            amount: object.get("amount").map(str::to_owned),
            currency: object
                .get("deal_currency_code")
                .map(|c| c.trim().to_uppercase()),
            holded_id: object.get("holded_id").map(str::to_owned),
            stage_history: object
                .properties_with_history
                .get("dealstage")
                .map(|versions| {
                    versions
                        .iter()
                        .filter_map(|v| Some((v.value.clone()?, v.timestamp)))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Whether the deal entered `stage` at `since` or later (HubSpot's stage
    /// history; a deal that passed through the stage entered it too).
    pub fn entered_since(&self, stage: &str, since: DateTime<Utc>) -> bool {
        self.stage_history
            .iter()
            .any(|(value, at)| value == stage && *at >= since)
    }
}

/// Reads a deal of this portal (`NotFound` when it is not one of its deals).
pub async fn read_deal(client: &PortalClient, deal_id: &str) -> Result<Deal, DealError> {
    if deal_id.is_empty() || !deal_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(DealError::Permanent(format!(
            "«{deal_id}» no es un id de negocio de HubSpot."
        )));
    }
    match client
        .get_object_with_history(ObjectType::Deals, deal_id, &DEAL_PROPERTIES, &["dealstage"])
        .await
    {
        Ok(object) => Ok(Deal::from_object(&object)),
        Err(HubspotError::NotFound { .. }) => Err(deal_not_found(deal_id)),
        Err(other) => Err(other.into()),
    }
}

/// The deal is not one of the portal's deals.
pub fn deal_not_found(deal_id: &str) -> DealError {
    DealError::DealNotFound(format!(
        "El negocio {deal_id} no existe en este portal de HubSpot."
    ))
}

/// The id of the deal's primary company (association type 5), else of the
/// first associated company; or of its first contact.
pub async fn associated_record(
    client: &PortalClient,
    deal_id: &str,
    to: AssociateTo,
) -> Result<Option<String>, DealError> {
    let found = client
        .associations(ObjectType::Deals, to.object(), &[deal_id.to_owned()])
        .await?;
    let records = found.get(deal_id).map(Vec::as_slice).unwrap_or_default();
    let primary = records.iter().find(|r| {
        r.type_ids.contains(&types::DEAL_TO_COMPANY_PRIMARY) && to == AssociateTo::Company
    });
    Ok(primary.or(records.first()).map(|r| r.to_id.clone()))
}

/// Line-item properties the flow reads.
pub const LINE_ITEM_PROPERTIES: [&str; 9] = [
    "name",
    "description",
    "hs_sku",
    "hs_product_id",
    "quantity",
    "price",
    "discount",
    "hs_discount_percentage",
    "hs_tax_rate_group_id",
];

/// Product properties the flow reads.
pub const PRODUCT_PROPERTIES: [&str; 3] = ["name", "holded_id", "holded_impuesto"];

/// The deal's line items, in HubSpot's order, and the products they come from.
pub async fn line_items(
    client: &PortalClient,
    deal_id: &str,
) -> Result<(Vec<CrmObject>, Vec<CrmObject>), DealError> {
    let found = client
        .associations(
            ObjectType::Deals,
            ObjectType::LineItems,
            &[deal_id.to_owned()],
        )
        .await?;
    let ids: Vec<String> = found
        .get(deal_id)
        .map(|items| items.iter().map(|a| a.to_id.clone()).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut items = client
        .batch_read(ObjectType::LineItems, &ids, &LINE_ITEM_PROPERTIES, None)
        .await?
        .results;
    items.sort_by_key(|item| ids.iter().position(|id| *id == item.id));
    let mut product_ids: Vec<String> = items
        .iter()
        .filter_map(|item| item.get("hs_product_id").map(str::to_owned))
        .collect();
    product_ids.sort();
    product_ids.dedup();
    let products = if product_ids.is_empty() {
        Vec::new()
    } else {
        client
            .batch_read(
                ObjectType::Products,
                &product_ids,
                &PRODUCT_PROPERTIES,
                None,
            )
            .await?
            .results
    };
    Ok((items, products))
}
