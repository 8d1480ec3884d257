//! Provisioning a portal: the `holded` property group on contacts, companies,
//! products and deals, and every property of the manifest. Idempotent and
//! resumable: it reads what exists and creates only what is missing, so a run
//! that failed halfway completes on the next install.

use crate::hubspot::{HubspotError, ObjectType, PortalClient, properties::PropertyDefinition};

use super::manifest::Manifest;

/// The sensitivity the app's sensitive properties are created with.
const SENSITIVE: &str = "sensitive";

/// What provisioning did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProvisionReport {
    /// Properties created now, as `object.property`.
    pub properties_created: Vec<String>,
    /// Properties that already existed.
    pub properties_existing: usize,
    /// Existing properties that differ from the manifest in what HubSpot does
    /// not allow to change (unique flag, sensitivity), as Spanish warnings.
    pub warnings: Vec<String>,
}

/// Makes sure the group and properties exist. Sensitive properties are created
/// (with `dataSensitivity: sensitive`) only when `with_sensitive` is true.
pub async fn provision(
    client: &PortalClient,
    with_sensitive: bool,
) -> Result<ProvisionReport, HubspotError> {
    let manifest = Manifest::get();
    let mut report = ProvisionReport::default();
    for (object, definitions) in &manifest.objects {
        provision_object(
            client,
            manifest,
            *object,
            definitions,
            with_sensitive,
            &mut report,
        )
        .await?;
    }
    Ok(report)
}

/// Makes sure the deal properties exist (the sync calls it once per process
/// and portal, so that portals installed before a property was added get it
/// before the first deal that carries it is written).
pub async fn provision_deals(client: &PortalClient) -> Result<ProvisionReport, HubspotError> {
    let manifest = Manifest::get();
    let mut report = ProvisionReport::default();
    for (object, definitions) in manifest
        .objects
        .iter()
        .filter(|(o, _)| *o == ObjectType::Deals)
    {
        provision_object(client, manifest, *object, definitions, false, &mut report).await?;
    }
    Ok(report)
}

async fn provision_object(
    client: &PortalClient,
    manifest: &Manifest,
    object: ObjectType,
    definitions: &[PropertyDefinition],
    with_sensitive: bool,
    report: &mut ProvisionReport,
) -> Result<(), HubspotError> {
    client
        .ensure_property_group(object, &manifest.group)
        .await?;
    let mut existing = client.list_properties(object, None).await?;
    if with_sensitive {
        // HubSpot lists sensitive properties only when asked for them.
        existing.extend(client.list_properties(object, Some(SENSITIVE)).await?);
    }
    for definition in definitions {
        let sensitive = manifest.is_sensitive(&definition.name);
        if sensitive && !with_sensitive {
            continue;
        }
        let found = existing.iter().find(|p| p.name == definition.name).cloned();
        match found {
            Some(property) => {
                report.properties_existing += 1;
                if property.has_unique_value != definition.has_unique_value {
                    report.warnings.push(format!(
                        "La propiedad {} de {} ya existía con otro valor de «único»; HubSpot no permite cambiarlo.",
                        definition.name,
                        object.name()
                    ));
                }
            }
            None => {
                let mut definition = definition.clone();
                if sensitive {
                    definition.data_sensitivity = Some(SENSITIVE.to_owned());
                }
                client.ensure_property(object, &definition).await?;
                report
                    .properties_created
                    .push(format!("{}.{}", object.name(), definition.name));
            }
        }
    }
    Ok(())
}
