//! A deal's line items as Holded document lines, with their taxes, and the
//! total the document should come to. Money is exact decimal throughout.
//!
//! A line's taxes are the line item's HubSpot tax rate (mapped to the Holded
//! account's tax of the same kind and rate), else its product's Holded taxes
//! (`holded_impuesto`, written by the nightly sync), else the portal's
//! default tax. Holded keys travel as they are: Holded itself refuses one
//! its account lacks, and says which. A deal without line items becomes one
//! line with its name and amount.

use std::{collections::HashMap, str::FromStr};

use rust_decimal::{Decimal, RoundingStrategy};

use super::error::DealError;
use crate::{
    holded::{DocumentLine, Tax},
    hubspot::{CrmObject, account::TaxRate},
};

/// What a tax is, for matching HubSpot's rates to Holded's taxes: IVA and
/// IGIC are both added but are different taxes (and so is each exemption).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TaxKind {
    /// IVA: added.
    Iva,
    /// IGIC (Canarias): added.
    Igic,
    /// Recargo de equivalencia: added.
    Surcharge,
    /// Retención (IRPF): withheld.
    Withholding,
}

impl TaxKind {
    fn withheld(self) -> bool {
        self == Self::Withholding
    }

    /// The kind of a Holded tax, by its key (`s_iva_21`, `s_igic_7`,
    /// `s_rec_52`, `s_ret_15`) or, failing that, its group.
    fn of_holded(tax: &Tax) -> Option<Self> {
        let part = tax.key.split('_').nth(1).unwrap_or_default();
        let group = tax.group.as_deref().unwrap_or_default().to_lowercase();
        match (part, group.as_str()) {
            ("ret", _) | (_, "retencion" | "retención") => Some(Self::Withholding),
            ("rec", _) | (_, "recargo") => Some(Self::Surcharge),
            ("igic", _) | (_, "igic") => Some(Self::Igic),
            ("iva", _) | (_, "iva") => Some(Self::Iva),
            _ => None,
        }
    }

    /// The kind a HubSpot tax rate's name and label say.
    fn of_label(label: &str) -> Self {
        let label = label.to_lowercase();
        if label.contains("irpf") || label.contains("reten") {
            Self::Withholding
        } else if label.contains("recargo") {
            Self::Surcharge
        } else if label.contains("igic") {
            Self::Igic
        } else {
            Self::Iva
        }
    }

    /// Holded's standard key for this kind at `rate` (`s_iva_21`).
    fn standard_key(self, rate: Decimal) -> String {
        let part = match self {
            Self::Iva => "iva",
            Self::Igic => "igic",
            Self::Surcharge => "rec",
            Self::Withholding => "ret",
        };
        let digits = rate.normalize().to_string().replace('.', "");
        format!("s_{part}_{digits}")
    }
}

/// A percentage as Spanish readers write it (`5,2`).
fn percent(rate: Decimal) -> String {
    rate.normalize().to_string().replace('.', ",")
}

/// The taxes lines can use: the Holded account's sales taxes and the HubSpot
/// portal's tax-rate library (empty when the portal did not grant it).
pub struct TaxCatalogue {
    holded: Vec<Tax>,
    hubspot: HashMap<String, TaxRate>,
    default_tax: String,
}

impl TaxCatalogue {
    /// A catalogue over the account's taxes, the portal's rates and the
    /// portal's default tax key.
    pub fn new(holded: Vec<Tax>, hubspot: Vec<TaxRate>, default_tax: &str) -> Self {
        Self {
            holded: holded
                .into_iter()
                .filter(|t| t.key.starts_with("s_") || t.scope.as_deref() == Some("sales"))
                .collect(),
            hubspot: hubspot.into_iter().map(|r| (r.id.clone(), r)).collect(),
            default_tax: default_tax.to_owned(),
        }
    }

    fn holded_tax(&self, key: &str) -> Option<&Tax> {
        self.holded.iter().find(|t| t.key == key)
    }

    /// The Holded tax of the same kind and rate as a HubSpot tax rate: the
    /// only one, or Holded's standard key among several; several others are
    /// ambiguous and refused (an exemption must not pass for another).
    fn holded_equivalent(&self, rate_id: &str) -> Result<Vec<String>, DealError> {
        let Some(rate) = self.hubspot.get(rate_id) else {
            return Err(DealError::Permanent(format!(
                "La línea usa el impuesto {rate_id} de HubSpot, que no se puede leer: comprueba que sigue activo en HubSpot y que la app tiene el permiso de impuestos."
            )));
        };
        let kind = TaxKind::of_label(&format!("{} {}", rate.name, rate.label));
        let same: Vec<&Tax> = self
            .holded
            .iter()
            .filter(|t| TaxKind::of_holded(t) == Some(kind) && t.rate == rate.percentage_rate)
            .collect();
        let standard = kind.standard_key(rate.percentage_rate);
        let chosen = match same.as_slice() {
            [only] => Some(*only),
            several => several.iter().copied().find(|t| t.key == standard),
        };
        match chosen {
            Some(tax) => Ok(vec![tax.key.clone()]),
            None if same.is_empty() => Err(DealError::Permanent(format!(
                "El impuesto «{}» de HubSpot ({} %) no tiene equivalente en tu cuenta de Holded.",
                rate.label,
                percent(rate.percentage_rate)
            ))),
            None => Err(DealError::Permanent(format!(
                "El impuesto «{}» de HubSpot ({} %) corresponde a varios de tu cuenta de Holded ({}): indica el impuesto en el producto (Impuesto (Holded)) y reintenta.",
                rate.label,
                percent(rate.percentage_rate),
                same.iter()
                    .map(|t| t.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Total of the document the lines make: bases rounded to cents after
    /// summing, taxes likewise, withholding subtracted. Amounts too large
    /// for exact decimals are refused rather than rounded.
    pub fn total(&self, lines: &[DocumentLine]) -> Result<Decimal, DealError> {
        let too_large = || {
            DealError::Permanent(
                "Los importes del negocio son demasiado grandes para calcularlos con exactitud."
                    .to_owned(),
            )
        };
        let (mut base_sum, mut added, mut withheld) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for line in lines {
            let base = line
                .units
                .checked_mul(line.unit_price)
                .and_then(|v| v.checked_mul(Decimal::ONE_HUNDRED - line.discount))
                .map(|v| v / Decimal::ONE_HUNDRED)
                .ok_or_else(too_large)?;
            base_sum = base_sum.checked_add(base).ok_or_else(too_large)?;
            for tax in line.taxes.iter().filter_map(|k| self.holded_tax(k)) {
                let amount = base
                    .checked_mul(tax.rate)
                    .map(|v| v / Decimal::ONE_HUNDRED)
                    .ok_or_else(too_large)?;
                let sum = if TaxKind::of_holded(tax).is_some_and(TaxKind::withheld) {
                    &mut withheld
                } else {
                    &mut added
                };
                *sum = sum.checked_add(amount).ok_or_else(too_large)?;
            }
        }
        cents(base_sum)
            .checked_add(cents(added))
            .and_then(|v| v.checked_sub(cents(withheld)))
            .ok_or_else(too_large)
    }
}

/// Rounds to cents, half away from zero.
pub fn cents(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A HubSpot number (`"1210.5"`, `"1.2E+3"`), if it is one that exact
/// decimals can hold.
fn parse_number(text: &str) -> Option<Decimal> {
    let text = text.trim();
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

fn decimal(object: &CrmObject, name: &str) -> Result<Option<Decimal>, DealError> {
    match object.get(name) {
        None => Ok(None),
        Some(text) => parse_number(text).map(Some).ok_or_else(|| {
            DealError::Permanent(format!(
                "La línea «{}» tiene en {name} un valor que no es un número o es demasiado grande: «{text}».",
                object.get("name").unwrap_or(&object.id)
            ))
        }),
    }
}

/// The Holded lines of a deal's line items (`products` are the line items'
/// HubSpot products). Discounts per unit are taken off the unit price so the
/// line stays exact; percentage discounts travel as such.
pub fn document_lines(
    items: &[CrmObject],
    products: &[CrmObject],
    catalogue: &TaxCatalogue,
) -> Result<Vec<DocumentLine>, DealError> {
    items
        .iter()
        .map(|item| {
            let product = item
                .get("hs_product_id")
                .and_then(|id| products.iter().find(|p| p.id == id));
            let name = item
                .get("name")
                .or_else(|| product.and_then(|p| p.get("name")))
                .unwrap_or("Línea")
                .to_owned();
            let units = decimal(item, "quantity")?.unwrap_or(Decimal::ONE);
            let unit_discount = decimal(item, "discount")?.unwrap_or_default();
            if unit_discount.is_sign_negative() {
                return Err(DealError::Permanent(format!(
                    "La línea «{name}» tiene un descuento negativo."
                )));
            }
            let unit_price = decimal(item, "price")?
                .unwrap_or_default()
                .checked_sub(unit_discount)
                .ok_or_else(|| {
                    DealError::Permanent(format!(
                        "La línea «{name}» tiene un precio demasiado grande para calcularlo con exactitud."
                    ))
                })?;
            if unit_price.is_sign_negative() {
                return Err(DealError::Permanent(format!(
                    "La línea «{name}» tiene un descuento mayor que su precio."
                )));
            }
            let discount = decimal(item, "hs_discount_percentage")?.unwrap_or_default();
            if discount < Decimal::ZERO || discount > Decimal::ONE_HUNDRED {
                return Err(DealError::Permanent(format!(
                    "La línea «{name}» tiene un descuento de {} %, fuera de 0–100 %.",
                    percent(discount)
                )));
            }
            let product_taxes = product
                .and_then(|p| p.get("holded_impuesto"))
                .map(|t| {
                    t.split(',')
                        .map(|k| k.trim().to_owned())
                        .filter(|k| !k.is_empty())
                        .collect::<Vec<_>>()
                })
                .filter(|t| !t.is_empty());
            let taxes = match (item.get("hs_tax_rate_group_id"), product_taxes) {
                (Some(rate), _) => catalogue.holded_equivalent(rate)?,
                (None, Some(keys)) => keys,
                (None, None) => vec![catalogue.default_tax.clone()],
            };
            Ok(DocumentLine {
                name,
                description: item.get("description").map(str::to_owned),
                units,
                unit_price,
                discount,
                taxes,
                product_id: product.and_then(|p| p.get("holded_id")).map(str::to_owned),
                sku: item.get("hs_sku").map(str::to_owned),
            })
        })
        .collect()
}

/// The one line of a deal without line items: its name and amount, with the
/// portal's default tax.
pub fn amount_line(
    name: &str,
    amount: Option<&str>,
    catalogue: &TaxCatalogue,
) -> Result<DocumentLine, DealError> {
    let amount = amount
        .filter(|text| !text.trim().is_empty())
        .map(|text| {
            parse_number(text).ok_or_else(|| {
                DealError::Permanent(format!(
                    "El importe del negocio «{text}» no es un número o es demasiado grande para calcularlo con exactitud."
                ))
            })
        })
        .transpose()?;
    let amount = amount.filter(|a| !a.is_zero()).ok_or_else(|| {
        DealError::Permanent(
            "El negocio no tiene productos ni importe: añade líneas de producto o un importe y reintenta."
                .to_owned(),
        )
    })?;
    if amount.is_sign_negative() {
        return Err(DealError::Permanent(
            "El importe del negocio es negativo.".to_owned(),
        ));
    }
    Ok(DocumentLine {
        name: name.to_owned(),
        units: Decimal::ONE,
        unit_price: amount,
        taxes: vec![catalogue.default_tax.clone()],
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn tax(key: &str, rate: Decimal, group: &str) -> Tax {
        Tax {
            key: key.into(),
            name: None,
            rate,
            scope: Some("sales".into()),
            group: Some(group.into()),
        }
    }

    fn catalogue() -> TaxCatalogue {
        TaxCatalogue::new(
            vec![
                tax("s_iva_21", dec!(21), "iva"),
                tax("s_iva_10", dec!(10), "iva"),
                tax("s_rec_52", dec!(5.2), "recargo"),
                tax("s_ret_15", dec!(15), "retencion"),
            ],
            vec![
                TaxRate {
                    id: "901".into(),
                    name: "IVA reducido".into(),
                    label: "IVA 10%".into(),
                    percentage_rate: dec!(10),
                    active: true,
                },
                TaxRate {
                    id: "902".into(),
                    name: "IGIC".into(),
                    label: "IGIC 7%".into(),
                    percentage_rate: dec!(7),
                    active: true,
                },
            ],
            "s_iva_21",
        )
    }

    #[test]
    fn taxes_come_from_the_line_then_the_product_then_the_default() {
        let items = [
            CrmObject::with_properties(
                "1",
                &[
                    ("name", "Diseño"),
                    ("quantity", "2"),
                    ("price", "100.50"),
                    ("hs_tax_rate_group_id", "901"),
                ],
            ),
            CrmObject::with_properties(
                "2",
                &[
                    ("name", "Consultoría"),
                    ("quantity", "1"),
                    ("price", "1000"),
                    ("hs_product_id", "55"),
                ],
            ),
            CrmObject::with_properties(
                "3",
                &[("name", "Portes"), ("price", "12.40"), ("discount", "2.40")],
            ),
        ];
        let products = [CrmObject::with_properties(
            "55",
            &[
                ("holded_id", "hp1"),
                ("holded_impuesto", "s_iva_21, s_ret_15"),
            ],
        )];
        let lines = document_lines(&items, &products, &catalogue()).unwrap();
        assert_eq!(lines[0].taxes, ["s_iva_10"]);
        assert_eq!(lines[0].units, dec!(2));
        assert_eq!(lines[1].taxes, ["s_iva_21", "s_ret_15"]);
        assert_eq!(lines[1].product_id.as_deref(), Some("hp1"));
        assert_eq!(lines[2].taxes, ["s_iva_21"]);
        assert_eq!(lines[2].unit_price, dec!(10.00));
        assert_eq!(lines[2].units, Decimal::ONE);
        // 201 + 1000 + 10 = 1211 base; IVA 20.10 + 210 + 2.10; IRPF 150.
        assert_eq!(catalogue().total(&lines).unwrap(), dec!(1293.20));
    }

    #[test]
    fn unmapped_hubspot_taxes_and_bad_values_are_refused_in_spanish() {
        let igic = [CrmObject::with_properties(
            "1",
            &[
                ("name", "Diseño"),
                ("price", "10"),
                ("hs_tax_rate_group_id", "902"),
            ],
        )];
        let err = document_lines(&igic, &[], &catalogue()).unwrap_err();
        assert!(err.to_string().contains("IGIC 7%"), "{err}");
        let unknown_rate = [CrmObject::with_properties(
            "1",
            &[
                ("name", "Diseño"),
                ("price", "10"),
                ("hs_tax_rate_group_id", "999"),
            ],
        )];
        assert!(document_lines(&unknown_rate, &[], &catalogue()).is_err());
        let negative = [CrmObject::with_properties(
            "1",
            &[("name", "Portes"), ("price", "5"), ("discount", "6")],
        )];
        assert!(document_lines(&negative, &[], &catalogue()).is_err());
        let odd = [CrmObject::with_properties(
            "1",
            &[("name", "X"), ("price", "diez")],
        )];
        assert!(matches!(
            document_lines(&odd, &[], &catalogue()),
            Err(DealError::Permanent(_))
        ));
    }

    #[test]
    fn a_deal_without_lines_is_one_line_for_its_amount() {
        let line = amount_line("Reforma oficina", Some("1000"), &catalogue()).unwrap();
        assert_eq!(line.taxes, ["s_iva_21"]);
        assert_eq!(catalogue().total(&[line]).unwrap(), dec!(1210.00));
        assert!(amount_line("Sin importe", None, &catalogue()).is_err());
        let huge = amount_line("Enorme", Some("1e40"), &catalogue()).unwrap_err();
        assert!(huge.to_string().contains("demasiado grande"), "{huge}");
    }

    #[test]
    fn amounts_too_large_for_exact_decimals_fail_the_deal_never_panic() {
        let near_max = "70000000000000000000000000000";
        let item = |price: &str, discount: &str| {
            CrmObject::with_properties(
                "1",
                &[
                    ("name", "Nave industrial"),
                    ("price", price),
                    ("quantity", "1"),
                    ("discount", discount),
                ],
            )
        };
        // IVA on the largest exact base: the total overflows.
        let lines = document_lines(&[item(near_max, "0")], &[], &catalogue()).unwrap();
        let err = catalogue().total(&lines).unwrap_err();
        assert!(
            matches!(err, DealError::Permanent(ref m) if m.contains("demasiado grandes")),
            "{err:?}"
        );
        // A negative discount would push the price past the largest decimal.
        let err = document_lines(
            &[item("79228162514264337593543950335", "-1")],
            &[],
            &catalogue(),
        )
        .unwrap_err();
        assert!(
            matches!(err, DealError::Permanent(ref m) if m.contains("negativo")),
            "{err:?}"
        );
        let err = document_lines(&[item("1e40", "0")], &[], &catalogue()).unwrap_err();
        assert!(
            matches!(err, DealError::Permanent(ref m) if m.contains("demasiado grande")),
            "{err:?}"
        );
    }

    #[test]
    fn totals_round_once_per_kind() {
        let line = |price: Decimal| DocumentLine {
            name: "x".into(),
            units: dec!(3),
            unit_price: price,
            discount: dec!(10),
            taxes: vec!["s_iva_10".into(), "s_rec_52".into()],
            ..Default::default()
        };
        // base 3 × 10.33 × 0.9 = 27.891 → 27.89; taxes 27.891 × 15.2 % = 4.239… → 4.24
        assert_eq!(
            catalogue().total(&[line(dec!(10.33))]).unwrap(),
            dec!(32.13)
        );
    }
}
