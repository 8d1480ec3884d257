//! Amounts as Spanish customers read them: `1.210,00 €`.

use rust_decimal::{Decimal, RoundingStrategy};

/// Formats `amount` with two decimals, `.` for thousands, `,` for decimals,
/// and the currency (the euro sign for EUR, else the ISO code).
pub fn format_amount(amount: Decimal, currency: &str) -> String {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.2}", rounded.abs());
    let (units, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let grouped = crate::i18n::group_thousands(units);
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    let symbol = match currency.to_uppercase().as_str() {
        "" | "EUR" => "€".to_owned(),
        other => other.to_owned(),
    };
    format!("{sign}{grouped},{cents} {symbol}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn spanish_amounts() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(format_amount(d("1210"), "eur"), "1.210,00 €");
        assert_eq!(format_amount(d("0.005"), "EUR"), "0,01 €");
        assert_eq!(format_amount(d("1234567.891"), "EUR"), "1.234.567,89 €");
        assert_eq!(format_amount(d("-15.5"), "USD"), "-15,50 USD");
        assert_eq!(format_amount(d("999.999"), "EUR"), "1.000,00 €");
    }
}
