//! Bilingual messages: errors are written "español / English"; what a
//! customer reads in HubSpot shows the Spanish half.

/// The Spanish half of a bilingual "español / English" message.
pub fn spanish_part(message: &str) -> String {
    message
        .split(" / ")
        .next()
        .unwrap_or(message)
        .trim()
        .to_owned()
}

/// Digits grouped by thousands with dots, as Spanish writes them (`1234567` → `1.234.567`).
pub fn group_thousands(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    grouped
}

/// A count as Spanish writes it (`5000` → `5.000`).
pub fn spanish_count(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// A day as Spanish writes it: `1 de enero de 2027`.
pub fn spanish_date(day: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    format!(
        "{} de {} de {}",
        day.day(),
        MONTHS[day.month0() as usize],
        day.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_dates_read_as_spanish() {
        assert_eq!(spanish_count(5000), "5.000");
        assert_eq!(spanish_count(999), "999");
        assert_eq!(group_thousands("1234567"), "1.234.567");
        assert_eq!(
            spanish_date(chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            "1 de enero de 2027"
        );
    }

    #[test]
    fn keeps_the_spanish_half() {
        assert_eq!(
            spanish_part("Holded no respondió. / Holded timed out."),
            "Holded no respondió."
        );
        assert_eq!(spanish_part("solo español"), "solo español");
    }
}
