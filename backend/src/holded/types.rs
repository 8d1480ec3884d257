//! Domain types shared by both API generations. The adapters translate the
//! wire shapes (camelCase v1, snake_case v2) into these and back.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// Which Holded API generation a key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Generation {
    /// Legacy `/api/invoicing/v1`, header `key`.
    V1,
    /// Current `/api/v2`, `Authorization: Bearer pat_…`.
    V2,
}

impl Generation {
    /// The generation a key belongs to: `pat_…` tokens are v2, anything else v1.
    pub fn of_key(key: &str) -> Self {
        if key.starts_with("pat_") {
            Self::V2
        } else {
            Self::V1
        }
    }

    /// `"v1"` or `"v2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }
}

/// A postal address (billing address of a contact).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// Street and number.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code as text, leading zeros kept (`"08001"`).
    pub postal_code: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// Country name.
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: Option<String>,
}

/// A Holded contact (person or company).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contact {
    /// Holded id (24 hex).
    pub id: String,
    /// External reference (`customId` / `custom_id`).
    pub custom_id: Option<String>,
    /// Name (person's full name or company name).
    pub name: String,
    /// Trade name (nombre comercial).
    pub trade_name: Option<String>,
    /// NIF/CIF (Holded's `code`).
    pub nif: Option<String>,
    /// EU VAT number (separate from the NIF).
    pub vat_number: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Mobile phone.
    pub mobile: Option<String>,
    /// `true` for a person, `false` for a company.
    pub is_person: bool,
    /// Holded contact type: `client`, `supplier`, `lead`, `debtor`, `creditor`.
    pub kind: Option<String>,
    /// IBAN.
    pub iban: Option<String>,
    /// SWIFT/BIC.
    pub swift: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Billing address.
    pub bill_address: Address,
    /// Tags.
    pub tags: Vec<String>,
    /// Last change as Holded reports it (none if Holded sends none).
    pub updated_at: Option<DateTime<Utc>>,
}

/// Fields to set on a contact; `None` leaves a field as it is (on update) or
/// empty (on create).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactChanges {
    /// Name (required on create).
    pub name: Option<String>,
    /// Trade name.
    pub trade_name: Option<String>,
    /// NIF/CIF.
    pub nif: Option<String>,
    /// EU VAT number.
    pub vat_number: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// Person (`true`) or company (`false`).
    pub is_person: Option<bool>,
    /// Contact type (`client`, `lead`, …).
    pub kind: Option<String>,
    /// IBAN (v1 only: v2 does not document it as writable).
    pub iban: Option<String>,
    /// SWIFT/BIC (v1 only).
    pub swift: Option<String>,
    /// Website (v1 keeps it on create only: its PUT ignores `socialNetworks`).
    pub website: Option<String>,
    /// Billing address (replaces the whole address when set).
    pub bill_address: Option<Address>,
    /// External reference: v1 create only (`CustomId`); not writable in v2.
    pub custom_id: Option<String>,
    /// Tags (replace the list when set): v1 create only; not writable in v2.
    pub tags: Option<Vec<String>>,
}

/// A Holded product.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Product {
    /// Holded id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Barcode.
    pub barcode: Option<String>,
    /// Net unit price.
    pub price: Decimal,
    /// VAT percentage (e.g. 21).
    pub vat: Option<Decimal>,
    /// Tax keys (`s_iva_21`, …).
    pub taxes: Vec<String>,
    /// Cost.
    pub cost: Option<Decimal>,
    /// Kind (`simple`, `variants`, …).
    pub kind: Option<String>,
}

/// The document types the product creates and reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentType {
    /// Presupuesto.
    Estimate,
    /// Proforma.
    Proform,
    /// Albarán.
    Waybill,
    /// Factura.
    Invoice,
    /// Pedido.
    SalesOrder,
}

impl DocumentType {
    /// Every type, in the order the settings page lists them.
    pub const ALL: [DocumentType; 5] = [
        Self::Estimate,
        Self::Proform,
        Self::Waybill,
        Self::Invoice,
        Self::SalesOrder,
    ];

    /// Spanish name as customers see it.
    pub fn spanish_name(self) -> &'static str {
        match self {
            Self::Estimate => "Presupuesto",
            Self::Proform => "Proforma",
            Self::Waybill => "Albarán",
            Self::Invoice => "Factura",
            Self::SalesOrder => "Pedido",
        }
    }

    /// The type from its Spanish name (exact, as written by [`Self::spanish_name`]).
    pub fn from_spanish_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.spanish_name() == name)
    }

    /// v1 `docType` (`estimate`, `proform`, `waybill`, `invoice`, `salesorder`).
    pub fn v1_name(self) -> &'static str {
        match self {
            Self::Estimate => "estimate",
            Self::Proform => "proform",
            Self::Waybill => "waybill",
            Self::Invoice => "invoice",
            Self::SalesOrder => "salesorder",
        }
    }

    /// The type from its v1 `docType`.
    pub fn from_v1_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.v1_name() == name)
    }

    /// v2 resource path segment (`estimates`, `proformas`, …).
    pub fn v2_path(self) -> &'static str {
        match self {
            Self::Estimate => "estimates",
            Self::Proform => "proformas",
            Self::Waybill => "waybills",
            Self::Invoice => "invoices",
            Self::SalesOrder => "sales-orders",
        }
    }
}

/// One line of a document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentLine {
    /// Line name.
    pub name: String,
    /// Line description.
    pub description: Option<String>,
    /// Quantity.
    pub units: Decimal,
    /// Net unit price (v1 writes it as `subtotal`, reads it as `price`).
    pub unit_price: Decimal,
    /// Discount percentage.
    pub discount: Decimal,
    /// Tax keys applied (`s_iva_21`, `s_rec_52`, `s_ret_15`).
    pub taxes: Vec<String>,
    /// Linked Holded product id, if any.
    pub product_id: Option<String>,
    /// SKU.
    pub sku: Option<String>,
}

/// A sales document as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Holded id.
    pub id: String,
    /// Type.
    pub doc_type: DocumentType,
    /// Number (e.g. `F260001`), if assigned.
    pub number: Option<String>,
    /// Contact id.
    pub contact_id: Option<String>,
    /// Contact name.
    pub contact_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Issue date (Europe/Madrid calendar day).
    pub date: Option<NaiveDate>,
    /// Internal notes (`None` also when the answer left them out: a v2 list).
    pub notes: Option<String>,
    /// Lines; `None` when the answer did not carry them (a v2 list item):
    /// read the document itself, never take them as empty.
    pub lines: Option<Vec<DocumentLine>>,
    /// Sum of line bases.
    pub subtotal: Decimal,
    /// Taxes added (IVA and recargo de equivalencia).
    pub tax: Decimal,
    /// Total to pay (subtotal + tax − retención).
    pub total: Decimal,
    /// Currency (ISO 4217 as Holded reports it).
    pub currency: Option<String>,
    /// Whether Holded reports it as a draft.
    pub draft: Option<bool>,
    /// Approval, due date and payments.
    pub billing: Billing,
}

/// What Holded says of a document's issue and collection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Billing {
    /// When it was approved (issued); none for a draft, or when the answer
    /// does not say (a v2 list item).
    pub approved_at: Option<DateTime<Utc>>,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Amount paid (`paymentsTotal` / `payments_total`).
    pub paid: Decimal,
    /// Amount left to pay, as Holded reports it.
    pub pending: Option<Decimal>,
    /// Date of the last payment, when the answer lists them.
    pub last_payment: Option<NaiveDate>,
    /// Cancelled (anulada).
    pub cancelled: bool,
}

impl Document {
    /// Whether it is issued: approved, or not a draft, or numbered (a v2
    /// list item says neither; a draft has no number).
    pub fn issued(&self) -> bool {
        self.billing.approved_at.is_some()
            || self.draft == Some(false)
            || (self.draft.is_none() && self.number.as_deref().is_some_and(|n| !n.is_empty()))
    }

    /// Its lines, or an error when this answer did not carry them (a v2 list
    /// item): read the document itself first.
    pub fn into_lines(self) -> Result<Vec<DocumentLine>, super::HoldedError> {
        self.lines.ok_or_else(|| super::HoldedError::Decode {
            field: "lines".to_owned(),
            message: format!("missing in document {}", self.id),
        })
    }
}

/// Who a new document is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentContact {
    /// An existing contact (preferred: never creates duplicates).
    Id(String),
    /// A name only: Holded creates a new contact every time.
    Name(String),
}

/// A document to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDocument {
    /// Type.
    pub doc_type: DocumentType,
    /// Contact.
    pub contact: DocumentContact,
    /// Issue date.
    pub date: NaiveDate,
    /// Description.
    pub description: Option<String>,
    /// Internal notes (the sync writes its reference here).
    pub notes: Option<String>,
    /// Currency (ISO 4217).
    pub currency: Option<String>,
    /// Numbering series id.
    pub numbering_series_id: Option<String>,
    /// Lines.
    pub lines: Vec<DocumentLine>,
}

/// A created document's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedDocument {
    /// Holded id.
    pub id: String,
    /// Number, when the create response carries it (v1 `invoiceNum`).
    pub number: Option<String>,
    /// Contact id, when the create response carries it (v1).
    pub contact_id: Option<String>,
}

/// A tax configured in the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tax {
    /// Key/id (`s_iva_21`).
    pub key: String,
    /// Display name, when sent.
    pub name: Option<String>,
    /// Percentage.
    pub rate: Decimal,
    /// `sales` or `purchases`.
    pub scope: Option<String>,
    /// `iva`, `retencion`, `recargo`, …
    pub group: Option<String>,
}

/// A numbering series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberingSeries {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Format (`F%%%%`, `INV-%[YYYY]-%`).
    pub format: Option<String>,
    /// Last number used.
    pub last: Option<i64>,
}

/// Result of checking a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCheck {
    /// Generation the key belongs to.
    pub generation: Generation,
    /// v2 permissions the product needs that the token lacks (empty for v1).
    pub missing_permissions: Vec<String>,
}

/// Which contact field to search by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactLookup<'a> {
    /// NIF/CIF (`code`).
    Nif(&'a str),
    /// Email.
    Email(&'a str),
    /// Phone or mobile.
    Phone(&'a str),
    /// The reference this service writes on the contacts it creates (v1
    /// `CustomId`; read back as `customId` / `custom_id`), compared exactly.
    CustomId(&'a str),
}

/// What a contact lookup found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FoundContacts {
    /// The contacts that really have the value (compared normalised).
    pub contacts: Vec<Contact>,
    /// Whether these are all: Holded has a filter for this lookup and kept
    /// to it. `false` when it has none (v1 NIF and email: only a scan of
    /// every contact would tell) or ignored it (it answered contacts without
    /// the value; the lookup then stops after one page).
    pub complete: bool,
}

/// The account's monthly request quota as Holded reports it (`GET /api/v2/usage`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// `YYYY-MM`.
    pub period: String,
    /// Calls this month, every client of the account, v1 included.
    pub usage: u64,
    /// The limit reported (the plan's quota; one source calls it an overage ceiling).
    pub limit: Option<u64>,
}
