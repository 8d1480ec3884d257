//! Records the simulated Holded keeps, independent of API generation, and the
//! rules that compute document totals with Spanish taxes.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};
use chrono_tz::Europe::Madrid;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

/// A contact as stored.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SimContact {
    /// 24-hex ObjectId.
    pub id: String,
    /// External reference.
    pub custom_id: Option<String>,
    /// Name.
    pub name: String,
    /// NIF/CIF.
    pub code: Option<String>,
    /// EU VAT number.
    pub vat_number: Option<String>,
    /// Trade name.
    pub trade_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// `client`, `supplier`, `lead`, `debtor`, `creditor`.
    pub kind: String,
    /// Person or company.
    pub is_person: bool,
    /// IBAN.
    pub iban: Option<String>,
    /// SWIFT.
    pub swift: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Billing address.
    pub bill_address: SimAddress,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// Last change (Unix seconds).
    pub updated_at: i64,
}

/// A record lists serve: its id (lists are in id order) and, when Holded
/// keeps one, its creation time (lists that lag leave out recent ones).
pub trait Listed {
    /// Id.
    fn id(&self) -> &str;
    /// Creation time (Unix seconds), if the record has one.
    fn created_at(&self) -> Option<i64>;
}

impl Listed for SimContact {
    fn id(&self) -> &str {
        &self.id
    }

    fn created_at(&self) -> Option<i64> {
        Some(self.created_at)
    }
}

impl Listed for SimProduct {
    fn id(&self) -> &str {
        &self.id
    }

    fn created_at(&self) -> Option<i64> {
        None
    }
}

impl Listed for SimDocument {
    fn id(&self) -> &str {
        &self.id
    }

    fn created_at(&self) -> Option<i64> {
        Some(self.created_at)
    }
}

/// A billing address as stored (postal code as text).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SimAddress {
    /// Street.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Province.
    pub province: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Country code.
    pub country_code: Option<String>,
}

/// A product as stored.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SimProduct {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Barcode.
    pub barcode: Option<String>,
    /// Net price.
    pub price: Decimal,
    /// Sales tax keys.
    pub taxes: Vec<String>,
    /// Cost, if known.
    pub cost: Option<Decimal>,
    /// Stock units.
    pub stock: Decimal,
}

/// Document types the simulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SimDocType {
    /// Presupuesto.
    Estimate,
    /// Proforma.
    Proform,
    /// Albarán.
    Waybill,
    /// Factura.
    Invoice,
    /// Pedido.
    Salesorder,
}

impl SimDocType {
    /// All types.
    pub const ALL: [SimDocType; 5] = [
        Self::Estimate,
        Self::Proform,
        Self::Waybill,
        Self::Invoice,
        Self::Salesorder,
    ];

    /// v1 `docType`.
    pub fn v1(self) -> &'static str {
        match self {
            Self::Estimate => "estimate",
            Self::Proform => "proform",
            Self::Waybill => "waybill",
            Self::Invoice => "invoice",
            Self::Salesorder => "salesorder",
        }
    }

    /// v2 path segment.
    pub fn v2(self) -> &'static str {
        match self {
            Self::Estimate => "estimates",
            Self::Proform => "proformas",
            Self::Waybill => "waybills",
            Self::Invoice => "invoices",
            Self::Salesorder => "sales-orders",
        }
    }

    /// v2 permission scope prefix (`…read` / `…write` appended).
    pub fn scope(self) -> &'static str {
        match self {
            Self::Estimate => "sales:estimates",
            Self::Proform => "sales:proforms",
            Self::Waybill => "inventory:shipments",
            Self::Invoice => "sales:invoices",
            Self::Salesorder => "inventory:sales-orders",
        }
    }

    /// Prefix of the default numbering series.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Estimate => "E",
            Self::Proform => "PF",
            Self::Waybill => "AL",
            Self::Invoice => "F",
            Self::Salesorder => "PV",
        }
    }

    /// From a v1 `docType` (numbering series also accept `salesOrder`).
    pub fn from_v1(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.v1() == name || (name == "salesOrder" && *t == Self::Salesorder))
    }

    /// From a v2 path segment.
    pub fn from_v2(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.v2() == segment)
    }

    /// Index in [`Self::ALL`].
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// One document line as stored.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SimLine {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Units.
    pub units: Decimal,
    /// Net unit price.
    pub price: Decimal,
    /// Discount percentage.
    pub discount: Decimal,
    /// Tax keys.
    pub taxes: Vec<String>,
    /// Linked product.
    pub product_id: Option<String>,
    /// SKU.
    pub sku: Option<String>,
}

impl SimLine {
    /// Net base: units × price × (1 − discount%).
    pub fn base(&self) -> Decimal {
        self.units * self.price * (Decimal::ONE_HUNDRED - self.discount) / Decimal::ONE_HUNDRED
    }

    /// Sum of rates of a tax group on this line.
    pub fn rate(&self, group: TaxGroup) -> Decimal {
        self.taxes
            .iter()
            .filter_map(|k| tax(k))
            .filter(|t| t.group == group)
            .map(|t| t.rate)
            .sum()
    }
}

/// A document as stored.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SimDocument {
    /// Id.
    pub id: String,
    /// Type.
    pub doc_type: SimDocType,
    /// Number (`F260001`); empty for a v2 draft (numbered on approval).
    pub number: String,
    /// Contact id.
    pub contact_id: Option<String>,
    /// Contact name.
    pub contact_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Date (Unix seconds, midnight Europe/Madrid).
    pub date: i64,
    /// Currency, ISO 4217 lower case as v1 shows it.
    pub currency: String,
    /// Lines.
    pub lines: Vec<SimLine>,
    /// Draft: documents created through the API are, until a user approves
    /// them in Holded; seeded ones are issued.
    pub draft: bool,
    /// When it was created (Unix seconds, simulated clock).
    pub created_at: i64,
    /// When it was approved (issued), if it was.
    pub approved_at: Option<i64>,
    /// Due date and what was paid (invoices).
    pub collection: SimCollection,
}

/// A document's due date, payments and cancellation.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SimCollection {
    /// Due date (Unix seconds, midnight Europe/Madrid), if set.
    pub due_date: Option<i64>,
    /// Payments registered, in order.
    pub payments: Vec<SimPayment>,
    /// Cancelled (anulada).
    pub cancelled: bool,
}

/// A payment registered against a document.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SimPayment {
    /// Payment id.
    pub id: String,
    /// Amount.
    pub amount: Decimal,
    /// Date (Unix seconds).
    pub date: i64,
}

/// Totals of a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Σ line bases.
    pub subtotal: Decimal,
    /// IVA + recargo de equivalencia.
    pub tax: Decimal,
    /// Retención IRPF withheld.
    pub retention: Decimal,
    /// subtotal + tax − retention.
    pub total: Decimal,
}

impl SimDocument {
    /// Totals as Holded shows them: amounts rounded to cents (half away from
    /// zero) after summing unrounded line amounts.
    pub fn totals(&self) -> Totals {
        let sum =
            |f: &dyn Fn(&SimLine) -> Decimal| -> Decimal { cents(self.lines.iter().map(f).sum()) };
        let subtotal = sum(&|l| l.base());
        let tax = sum(&|l| {
            l.base() * (l.rate(TaxGroup::Iva) + l.rate(TaxGroup::Recargo)) / Decimal::ONE_HUNDRED
        });
        let retention = sum(&|l| l.base() * l.rate(TaxGroup::Retencion) / Decimal::ONE_HUNDRED);
        Totals {
            subtotal,
            tax,
            retention,
            total: subtotal + tax - retention,
        }
    }

    /// The date as a Europe/Madrid calendar day.
    pub fn day(&self) -> NaiveDate {
        madrid_day(self.date)
    }

    /// What was paid.
    pub fn paid(&self) -> Decimal {
        self.collection.payments.iter().map(|p| p.amount).sum()
    }

    /// What is left to pay (never below zero).
    pub fn pending(&self) -> Decimal {
        (self.totals().total - self.paid()).max(Decimal::ZERO)
    }
}

/// Rounds to cents, half away from zero.
pub fn cents(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The Madrid calendar day of a Unix time.
pub fn madrid_day(secs: i64) -> NaiveDate {
    DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .with_timezone(&Madrid)
        .date_naive()
}

/// Midnight Europe/Madrid of a day, as Unix seconds.
pub fn madrid_midnight(day: NaiveDate) -> i64 {
    let naive = day.and_time(chrono::NaiveTime::MIN);
    Madrid
        .from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| naive.and_utc().timestamp(), |t| t.timestamp())
}

/// The two-digit year of a document date (`26` for 2026).
pub fn short_year(secs: i64) -> i32 {
    madrid_day(secs).year() % 100
}

/// What a tax does to a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaxGroup {
    /// IVA, added.
    Iva,
    /// Recargo de equivalencia, added.
    Recargo,
    /// Retención IRPF, withheld.
    Retencion,
}

/// A tax of the (fixed, Spanish) catalogue every simulated account has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SimTax {
    /// Key (`s_iva_21`).
    pub key: &'static str,
    /// Name.
    pub name: &'static str,
    /// Percentage.
    pub rate: Decimal,
    /// Group.
    pub group: TaxGroup,
}

/// The sales taxes of a Spanish account.
pub const TAXES: [SimTax; 10] = [
    SimTax {
        key: "s_iva_21",
        name: "IVA 21%",
        rate: Decimal::from_parts(21, 0, 0, false, 0),
        group: TaxGroup::Iva,
    },
    SimTax {
        key: "s_iva_10",
        name: "IVA 10%",
        rate: Decimal::from_parts(10, 0, 0, false, 0),
        group: TaxGroup::Iva,
    },
    SimTax {
        key: "s_iva_4",
        name: "IVA 4%",
        rate: Decimal::from_parts(4, 0, 0, false, 0),
        group: TaxGroup::Iva,
    },
    SimTax {
        key: "s_iva_0",
        name: "IVA 0%",
        rate: Decimal::from_parts(0, 0, 0, false, 0),
        group: TaxGroup::Iva,
    },
    SimTax {
        key: "s_rec_52",
        name: "Recargo de equivalencia 5,2%",
        rate: Decimal::from_parts(52, 0, 0, false, 1),
        group: TaxGroup::Recargo,
    },
    SimTax {
        key: "s_rec_14",
        name: "Recargo de equivalencia 1,4%",
        rate: Decimal::from_parts(14, 0, 0, false, 1),
        group: TaxGroup::Recargo,
    },
    SimTax {
        key: "s_rec_05",
        name: "Recargo de equivalencia 0,5%",
        rate: Decimal::from_parts(5, 0, 0, false, 1),
        group: TaxGroup::Recargo,
    },
    SimTax {
        key: "s_ret_15",
        name: "Retención IRPF 15%",
        rate: Decimal::from_parts(15, 0, 0, false, 0),
        group: TaxGroup::Retencion,
    },
    SimTax {
        key: "s_ret_7",
        name: "Retención IRPF 7%",
        rate: Decimal::from_parts(7, 0, 0, false, 0),
        group: TaxGroup::Retencion,
    },
    SimTax {
        key: "s_ret_19",
        name: "Retención 19%",
        rate: Decimal::from_parts(19, 0, 0, false, 0),
        group: TaxGroup::Retencion,
    },
];

/// A tax by key.
pub fn tax(key: &str) -> Option<&'static SimTax> {
    TAXES.iter().find(|t| t.key == key)
}

/// The IVA key for a percentage (`21` ⇒ `s_iva_21`), if the catalogue has it.
pub fn iva_key(rate: Decimal) -> Option<&'static str> {
    TAXES
        .iter()
        .find(|t| t.group == TaxGroup::Iva && t.rate == rate)
        .map(|t| t.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(units: i64, price: Decimal, taxes: &[&str]) -> SimLine {
        SimLine {
            name: "x".into(),
            units: Decimal::from(units),
            price,
            taxes: taxes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn totals_add_iva_and_recargo_and_withhold_irpf() {
        let doc = SimDocument {
            id: "x".into(),
            doc_type: SimDocType::Invoice,
            number: "F260001".into(),
            contact_id: None,
            contact_name: None,
            description: None,
            notes: None,
            date: 0,
            currency: "eur".into(),
            draft: true,
            created_at: 0,
            approved_at: None,
            collection: Default::default(),
            lines: vec![
                line(2, Decimal::new(10000, 2), &["s_iva_21", "s_ret_15"]),
                line(3, Decimal::new(1033, 2), &["s_iva_10", "s_rec_14"]),
            ],
        };
        let t = doc.totals();
        // bases 200.00 + 30.99; tax 42.00 + 3.099 + 0.43386 = 45.53; ret 30.00
        assert_eq!(t.subtotal, Decimal::new(23099, 2));
        assert_eq!(t.tax, Decimal::new(4553, 2));
        assert_eq!(t.retention, Decimal::new(3000, 2));
        assert_eq!(t.total, Decimal::new(24652, 2));
    }
}
