//! The CRM properties the app needs, read from `hubspot-app/crm-properties.json`
//! (embedded at build time, so the HubSpot project and the backend share one
//! source of truth).

use std::sync::OnceLock;

use serde::Deserialize;

use crate::hubspot::{ObjectType, properties::PropertyDefinition, properties::PropertyGroup};

const MANIFEST_JSON: &str = include_str!("../../../hubspot-app/crm-properties.json");
const APP_JSON: &str = include_str!("../../../hubspot-app/src/app/app-hsmeta.json");

/// The OAuth scopes the app asks for, as declared in `hubspot-app/src/app/app-hsmeta.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppScopes {
    /// Scopes every install must grant.
    pub required_scopes: Vec<String>,
    /// Scopes HubSpot grants only where the portal has the feature
    /// (sensitive data: Enterprise).
    pub optional_scopes: Vec<String>,
}

impl AppScopes {
    /// The embedded declaration.
    pub fn get() -> &'static AppScopes {
        #[derive(Deserialize)]
        struct App {
            config: Config,
        }
        #[derive(Deserialize)]
        struct Config {
            auth: AppScopes,
        }
        static SCOPES: OnceLock<AppScopes> = OnceLock::new();
        SCOPES.get_or_init(|| {
            serde_json::from_str::<App>(APP_JSON)
                .expect("hubspot-app/src/app/app-hsmeta.json is valid (checked by tests)")
                .config
                .auth
        })
    }
}

/// The parsed manifest.
#[derive(Debug)]
pub struct Manifest {
    /// The `holded` property group, created on every object.
    pub group: PropertyGroup,
    /// Properties per object, in the manifest's order.
    pub objects: Vec<(ObjectType, Vec<PropertyDefinition>)>,
    /// Names of the properties that hold sensitive data.
    pub sensitive: Vec<String>,
}

#[derive(Deserialize)]
struct Raw {
    group: PropertyGroup,
    objects: RawObjects,
    sensitive: Vec<String>,
}

#[derive(Deserialize)]
struct RawObjects {
    contacts: Vec<PropertyDefinition>,
    companies: Vec<PropertyDefinition>,
    products: Vec<PropertyDefinition>,
    deals: Vec<PropertyDefinition>,
}

impl Manifest {
    /// The embedded manifest (parsed once; a malformed file fails the build's tests).
    pub fn get() -> &'static Manifest {
        static MANIFEST: OnceLock<Manifest> = OnceLock::new();
        MANIFEST.get_or_init(|| {
            let raw: Raw = serde_json::from_str(MANIFEST_JSON)
                .expect("hubspot-app/crm-properties.json is valid (checked by tests)");
            Manifest {
                group: raw.group,
                objects: vec![
                    (ObjectType::Contacts, raw.objects.contacts),
                    (ObjectType::Companies, raw.objects.companies),
                    (ObjectType::Products, raw.objects.products),
                    (ObjectType::Deals, raw.objects.deals),
                ],
                sensitive: raw.sensitive,
            }
        })
    }

    /// Whether `name` holds sensitive data.
    pub fn is_sensitive(&self, name: &str) -> bool {
        self.sensitive.iter().any(|s| s == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_come_from_the_app_declaration() {
        let scopes = AppScopes::get();
        assert!(
            scopes
                .required_scopes
                .iter()
                .any(|s| s == "crm.schemas.deals.write")
        );
        assert!(
            scopes
                .optional_scopes
                .iter()
                .any(|s| s == "crm.objects.contacts.sensitive.write.v2")
        );
    }

    #[test]
    fn manifest_defines_what_the_product_needs() {
        let manifest = Manifest::get();
        assert_eq!(manifest.group.name, "holded");
        let find = |object: ObjectType, name: &str| {
            manifest
                .objects
                .iter()
                .find(|(o, _)| *o == object)
                .and_then(|(_, props)| props.iter().find(|p| p.name == name))
                .unwrap_or_else(|| panic!("{name} on {object:?}"))
        };
        for object in [
            ObjectType::Contacts,
            ObjectType::Companies,
            ObjectType::Deals,
        ] {
            assert!(find(object, "holded_id").has_unique_value, "{object:?}");
        }
        assert!(!find(ObjectType::Products, "holded_id").has_unique_value);
        let types: Vec<&str> = find(ObjectType::Deals, "holded_tipo_documento")
            .options
            .iter()
            .map(|o| o.label.as_str())
            .collect();
        assert_eq!(
            types,
            ["Presupuesto", "Proforma", "Albarán", "Factura", "Pedido"]
        );
        let to: Vec<&str> = find(ObjectType::Deals, "holded_asociar_documento_a")
            .options
            .iter()
            .map(|o| o.label.as_str())
            .collect();
        assert_eq!(to, ["Empresa", "Contacto"]);
        for name in ["holded_nif", "holded_vat", "holded_iban", "holded_swift"] {
            assert!(manifest.is_sensitive(name));
            find(ObjectType::Contacts, name);
            find(ObjectType::Companies, name);
        }
        for (_, props) in &manifest.objects {
            assert!(props.iter().all(|p| p.group_name == "holded"));
        }
    }
}
