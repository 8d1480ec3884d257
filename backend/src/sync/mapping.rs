//! Holded records → HubSpot properties (DESIGN §8), with the safe
//! normalisations (trimmed, lower-case emails; E.164-style Spanish phones; ISO
//! country codes; dates at midnight UTC). Values that cannot be normalised
//! safely are sent as they are, so HubSpot's refusal is recorded against the
//! record instead of the value silently disappearing.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::{
    holded::{Address, Contact, Document, DocumentType, Product, normalise_email, normalise_phone},
    hubspot::Properties,
};

/// Holded contact types that exist as options of `holded_tipo_contacto`.
const CONTACT_TYPES: [&str; 5] = ["client", "lead", "supplier", "debtor", "creditor"];

/// Whether NIF, VAT number, IBAN and SWIFT may travel (the portal's setting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sensitive(pub bool);

/// The sensitive properties, cleared in HubSpot when the portal asked to
/// erase them after turning sensitive data off.
pub const SENSITIVE_PROPERTIES: [&str; 4] =
    ["holded_nif", "holded_vat", "holded_iban", "holded_swift"];

/// Adds empty values for the sensitive properties (HubSpot clears a property
/// written as an empty string).
pub fn erase_sensitive(props: &mut Properties) {
    for name in SENSITIVE_PROPERTIES {
        props.insert(name.to_owned(), String::new());
    }
}

fn put(props: &mut Properties, name: &str, value: Option<&str>) {
    if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
        props.insert(name.to_owned(), value.to_owned());
    }
}

/// Splits a person's full name the Spanish way: one word is a first name; two
/// are first name and surname; with three or more the last two are the surnames.
pub fn split_name(full: &str) -> (String, Option<String>) {
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.len() {
        0 => (String::new(), None),
        1 => (words[0].to_owned(), None),
        2 => (words[0].to_owned(), Some(words[1].to_owned())),
        n => (words[..n - 2].join(" "), Some(words[n - 2..].join(" "))),
    }
}

/// The host of a website, for a company's `domain` (`https://www.acme.es/x` → `acme.es`).
pub fn domain_of(website: &str) -> Option<String> {
    let text = website.trim().to_lowercase();
    let without_scheme = text.split("://").last()?;
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()?
        .split(':')
        .next()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    (host.contains('.') && !host.contains(' ')).then(|| host.to_owned())
}

/// Country as an ISO 3166-1 alpha-2 code where Holded gives one (or the name is
/// Spain's), else the name as written.
pub fn normalise_country(address: &Address) -> Option<String> {
    if let Some(code) = address
        .country_code
        .as_deref()
        .map(str::trim)
        .filter(|c| c.len() == 2)
    {
        return Some(code.to_uppercase());
    }
    let name = address.country.as_deref()?.trim();
    match name.to_lowercase().as_str() {
        "" => None,
        "españa" | "espana" | "spain" => Some("ES".to_owned()),
        _ => Some(name.to_owned()),
    }
}

fn address_properties(props: &mut Properties, address: &Address) {
    put(props, "address", address.address.as_deref());
    put(props, "city", address.city.as_deref());
    put(props, "zip", address.postal_code.as_deref());
    put(props, "state", address.province.as_deref());
    put(props, "country", normalise_country(address).as_deref());
}

fn shared_contact_properties(props: &mut Properties, contact: &Contact, sensitive: Sensitive) {
    props.insert("holded_id".to_owned(), contact.id.clone());
    props.insert("holded_estado_sync".to_owned(), "sincronizado".to_owned());
    if let Some(kind) = contact
        .kind
        .as_deref()
        .filter(|k| CONTACT_TYPES.contains(k))
    {
        props.insert("holded_tipo_contacto".to_owned(), kind.to_owned());
    }
    put(
        props,
        "phone",
        contact.phone.as_deref().map(normalise_phone).as_deref(),
    );
    address_properties(props, &contact.bill_address);
    if sensitive.0 {
        put(props, "holded_nif", contact.nif.as_deref());
        put(props, "holded_vat", contact.vat_number.as_deref());
        put(props, "holded_iban", contact.iban.as_deref());
        put(props, "holded_swift", contact.swift.as_deref());
    }
}

/// A Holded person as HubSpot contact properties.
pub fn person_properties(contact: &Contact, sensitive: Sensitive) -> Properties {
    let mut props = Properties::new();
    shared_contact_properties(&mut props, contact, sensitive);
    let (first, last) = split_name(&contact.name);
    put(&mut props, "firstname", Some(&first));
    put(&mut props, "lastname", last.as_deref());
    put(
        &mut props,
        "email",
        contact.email.as_deref().map(normalise_email).as_deref(),
    );
    put(
        &mut props,
        "mobilephone",
        contact.mobile.as_deref().map(normalise_phone).as_deref(),
    );
    put(&mut props, "website", contact.website.as_deref());
    props
}

/// A Holded company as HubSpot company properties.
pub fn company_properties(contact: &Contact, sensitive: Sensitive) -> Properties {
    let mut props = Properties::new();
    shared_contact_properties(&mut props, contact, sensitive);
    put(&mut props, "name", Some(&contact.name));
    put(
        &mut props,
        "holded_nombre_comercial",
        contact.trade_name.as_deref(),
    );
    put(&mut props, "website", contact.website.as_deref());
    put(
        &mut props,
        "domain",
        contact.website.as_deref().and_then(domain_of).as_deref(),
    );
    props
}

fn money(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A Holded product as HubSpot product properties.
pub fn product_properties(product: &Product) -> Properties {
    let mut props = Properties::new();
    props.insert("holded_id".to_owned(), product.id.clone());
    props.insert("holded_estado_sync".to_owned(), "sincronizado".to_owned());
    put(&mut props, "name", Some(&product.name));
    put(&mut props, "description", product.description.as_deref());
    props.insert("price".to_owned(), money(product.price));
    put(&mut props, "hs_sku", product.sku.as_deref());
    if let Some(cost) = product.cost {
        props.insert("hs_cost_of_goods_sold".to_owned(), money(cost));
    }
    if !product.taxes.is_empty() {
        props.insert("holded_impuesto".to_owned(), product.taxes.join(", "));
    }
    props
}

/// Midnight UTC of `date`, as HubSpot date properties take it (milliseconds).
pub fn midnight_utc_millis(date: NaiveDate) -> String {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis()
        .to_string()
}

/// Where a document opens in Holded.
pub fn document_link(doc_type: DocumentType, id: &str) -> String {
    format!(
        "https://app.holded.com/sales/revenue/{}/{id}",
        doc_type.v1_name()
    )
}

/// What the deal a Holded document was created from shows of it: its number
/// (empty while a v2 draft has none; Holded numbers it when it is approved),
/// its link and `creado`. The deal flow writes them once the document exists;
/// the nightly sync refreshes them when they change.
pub fn created_document_properties(document: &Document) -> Properties {
    let mut props = Properties::new();
    props.insert(
        "holded_numero_documento".to_owned(),
        document.number.clone().unwrap_or_default(),
    );
    props.insert(
        "holded_enlace".to_owned(),
        document_link(document.doc_type, &document.id),
    );
    props.insert("holded_estado_sync".to_owned(), "creado".to_owned());
    props
}

/// A Holded document as HubSpot deal properties (pipeline and stage are added
/// on create only, so a deal the sales team moves stays where they put it).
pub fn deal_properties(document: &Document) -> Properties {
    let mut props = Properties::new();
    let kind = document.doc_type.spanish_name();
    let title = match (&document.number, &document.contact_name) {
        (Some(number), Some(contact)) => format!("{kind} {number} · {contact}"),
        (Some(number), None) => format!("{kind} {number}"),
        (None, Some(contact)) => format!("{kind} · {contact}"),
        (None, None) => kind.to_owned(),
    };
    props.insert("dealname".to_owned(), title);
    props.insert("holded_id".to_owned(), document.id.clone());
    props.insert("holded_estado_sync".to_owned(), "sincronizado".to_owned());
    props.insert(
        "holded_tipo_documento".to_owned(),
        document.doc_type.v1_name().to_owned(),
    );
    put(
        &mut props,
        "holded_numero_documento",
        document.number.as_deref(),
    );
    props.insert(
        "holded_enlace".to_owned(),
        document_link(document.doc_type, &document.id),
    );
    props.insert("amount".to_owned(), money(document.total));
    if let Some(date) = document.date {
        props.insert("closedate".to_owned(), midnight_utc_millis(date));
    }
    put(
        &mut props,
        "deal_currency_code",
        document
            .currency
            .as_deref()
            .map(str::to_uppercase)
            .as_deref(),
    );
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_the_spanish_way() {
        assert_eq!(split_name("Lucía"), ("Lucía".into(), None));
        assert_eq!(
            split_name("Lucía Pérez"),
            ("Lucía".into(), Some("Pérez".into()))
        );
        assert_eq!(
            split_name("  Ana María  García   López "),
            ("Ana María".into(), Some("García López".into()))
        );
        assert_eq!(
            split_name("Juan García López"),
            ("Juan".into(), Some("García López".into()))
        );
    }

    #[test]
    fn domains_and_countries_are_normalised() {
        assert_eq!(
            domain_of("https://www.Acme.es/contacto"),
            Some("acme.es".into())
        );
        assert_eq!(domain_of("acme.es"), Some("acme.es".into()));
        assert_eq!(domain_of("no es web"), None);
        let address = Address {
            country: Some("España".into()),
            ..Default::default()
        };
        assert_eq!(normalise_country(&address).as_deref(), Some("ES"));
        let address = Address {
            country_code: Some("pt".into()),
            country: Some("Portugal".into()),
            ..Default::default()
        };
        assert_eq!(normalise_country(&address).as_deref(), Some("PT"));
    }

    fn contact() -> Contact {
        Contact {
            id: "h1".into(),
            name: "Marta Ruiz Soler".into(),
            nif: Some("12345678Z".into()),
            iban: Some("ES9121000418450200051332".into()),
            email: Some(" Marta@Ruiz.es".into()),
            kind: Some("client".into()),
            is_person: true,
            ..Default::default()
        }
    }

    #[test]
    fn sensitive_values_travel_only_when_allowed() {
        let off = person_properties(&contact(), Sensitive(false));
        assert!(!off.contains_key("holded_nif") && !off.contains_key("holded_iban"));
        assert_eq!(off["email"], "marta@ruiz.es");
        assert_eq!(off["firstname"], "Marta");
        assert_eq!(off["lastname"], "Ruiz Soler");
        assert_eq!(off["holded_tipo_contacto"], "client");
        let on = person_properties(&contact(), Sensitive(true));
        assert_eq!(on["holded_nif"], "12345678Z");
        assert_eq!(on["holded_iban"], "ES9121000418450200051332");
    }

    #[test]
    fn deals_carry_the_document() {
        let document = Document {
            id: "d1".into(),
            doc_type: DocumentType::Invoice,
            number: Some("F260001".into()),
            contact_id: Some("c1".into()),
            contact_name: Some("Acme SL".into()),
            description: None,
            date: NaiveDate::from_ymd_opt(2026, 3, 14),
            notes: None,
            lines: Some(Vec::new()),
            subtotal: Decimal::new(100000, 2),
            tax: Decimal::new(21000, 2),
            total: Decimal::new(121000, 2),
            currency: Some("eur".into()),
            draft: Some(true),
            billing: Default::default(),
        };
        let props = deal_properties(&document);
        assert_eq!(props["dealname"], "Factura F260001 · Acme SL");
        assert_eq!(props["amount"], "1210");
        assert_eq!(props["closedate"], "1773446400000");
        assert_eq!(props["holded_tipo_documento"], "invoice");
        assert_eq!(props["deal_currency_code"], "EUR");
    }
}
