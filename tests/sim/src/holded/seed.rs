//! Deterministic, realistic Spanish seed data: persons with valid NIFs,
//! companies with valid CIFs, valid IBANs (mod 97), real provinces and postal
//! codes, products with SKUs and VAT, documents of every type.

use chrono::Duration;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    model::{
        SimAddress, SimContact, SimDocType, SimDocument, SimLine, SimProduct, madrid_day,
        madrid_midnight,
    },
    ops,
    state::State,
};

/// What to seed into an account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SeedSpec {
    /// Account to fill.
    pub account_id: String,
    /// Random seed: same seed, same data.
    #[serde(default)]
    pub seed: u64,
    /// Contacts to add.
    #[serde(default)]
    pub contacts: usize,
    /// Products to add.
    #[serde(default)]
    pub products: usize,
    /// Documents to add per type (needs contacts).
    #[serde(default)]
    pub documents_per_type: usize,
}

/// What was seeded.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeedSummary {
    /// Contacts in the account now.
    pub contacts: usize,
    /// Products in the account now.
    pub products: usize,
    /// Documents in the account now.
    pub documents: usize,
}

const FIRST_NAMES: [&str; 16] = [
    "María", "José", "Carmen", "Antonio", "Lucía", "Manuel", "Laura", "Javier", "Ana", "David",
    "Marta", "Jordi", "Núria", "Iker", "Ainhoa", "Sergio",
];
const SURNAMES: [&str; 16] = [
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Puig",
    "Etxeberria",
    "Castro",
    "Navarro",
];
const COMPANY_WORDS: [&str; 12] = [
    "Distribuciones",
    "Talleres",
    "Construcciones",
    "Servicios",
    "Comercial",
    "Innovación",
    "Transportes",
    "Suministros",
    "Consultoría",
    "Hostelería",
    "Ingeniería",
    "Gráficas",
];
const COMPANY_NAMES: [&str; 12] = [
    "Iberia",
    "Levante",
    "del Norte",
    "Mediterránea",
    "Cantábrica",
    "Atlántica",
    "Ebro",
    "Duero",
    "Sierra",
    "Guadalquivir",
    "Pirineo",
    "Montseny",
];
/// (province, two-digit postal prefix, capital).
const PROVINCES: [(&str, &str, &str); 20] = [
    ("Álava", "01", "Vitoria-Gasteiz"),
    ("Alicante", "03", "Alicante"),
    ("Illes Balears", "07", "Palma"),
    ("Barcelona", "08", "Barcelona"),
    ("Madrid", "28", "Madrid"),
    ("Valencia", "46", "València"),
    ("Sevilla", "41", "Sevilla"),
    ("Málaga", "29", "Málaga"),
    ("Bizkaia", "48", "Bilbao"),
    ("A Coruña", "15", "A Coruña"),
    ("Zaragoza", "50", "Zaragoza"),
    ("Murcia", "30", "Murcia"),
    ("Asturias", "33", "Oviedo"),
    ("Girona", "17", "Girona"),
    ("Las Palmas", "35", "Las Palmas de Gran Canaria"),
    ("Cantabria", "39", "Santander"),
    ("Navarra", "31", "Pamplona"),
    ("Granada", "18", "Granada"),
    ("Valladolid", "47", "Valladolid"),
    ("Tarragona", "43", "Tarragona"),
];
const STREETS: [&str; 8] = [
    "Calle Mayor",
    "Avenida de la Constitución",
    "Calle Real",
    "Paseo de Gracia",
    "Calle del Carmen",
    "Avenida de Andalucía",
    "Rambla Nova",
    "Calle San Francisco",
];
/// (bank code, SWIFT).
const BANKS: [(&str, &str); 5] = [
    ("2100", "CAIXESBBXXX"),
    ("0049", "BSCHESMMXXX"),
    ("0182", "BBVAESMMXXX"),
    ("0081", "BSABESBBXXX"),
    ("2085", "CAZRES2ZXXX"),
];
/// (name, price in cents, IVA key, retention key for professional services).
const PRODUCTS: [(&str, i64, &str, Option<&str>); 10] = [
    ("Consultoría (hora)", 6500, "s_iva_21", Some("s_ret_15")),
    ("Licencia anual de software", 49900, "s_iva_21", None),
    ("Mantenimiento web mensual", 12000, "s_iva_21", None),
    ("Caja de tornillos inoxidables", 1295, "s_iva_21", None),
    ("Menú del día", 1450, "s_iva_10", None),
    ("Libro técnico", 3200, "s_iva_4", None),
    ("Transporte urgente", 2500, "s_iva_21", None),
    (
        "Formación in company (hora)",
        9000,
        "s_iva_21",
        Some("s_ret_15"),
    ),
    ("Aceite de oliva virgen extra 5 L", 3890, "s_iva_4", None),
    ("Reparación de maquinaria", 18000, "s_iva_21", None),
];

/// NIF letter of an 8-digit number.
pub fn nif(number: u32) -> String {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let number = number % 100_000_000;
    format!("{number:08}{}", LETTERS[(number % 23) as usize] as char)
}

/// A CIF: organisation letter, 7 digits, control digit.
pub fn cif(letter: char, number: u32) -> String {
    let digits = format!("{:07}", number % 10_000_000);
    let sum: u32 = digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                doubled / 10 + doubled % 10
            } else {
                d
            }
        })
        .sum();
    let control = (10 - sum % 10) % 10;
    format!("{letter}{digits}{control}")
}

/// A Spanish IBAN whose check digits satisfy mod 97.
pub fn iban(bban: &str) -> String {
    let check = 98 - mod97(&format!("{bban}142800"));
    format!("ES{check:02}{bban}")
}

/// `digits` (decimal text) modulo 97.
pub fn mod97(digits: &str) -> u32 {
    digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .fold(0, |acc, d| (acc * 10 + d) % 97)
}

/// Whether an IBAN passes the mod-97 check.
pub fn iban_is_valid(iban: &str) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let (head, rest) = iban.split_at(4);
    let moved: String = format!("{rest}{head}")
        .chars()
        .map(|c| match c.to_digit(36) {
            Some(d) => d.to_string(),
            None => String::new(),
        })
        .collect();
    mod97(&moved) == 1
}

fn ascii(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'Á' => Some('a'),
            'é' | 'è' | 'É' => Some('e'),
            'í' | 'Í' => Some('i'),
            'ó' | 'ò' | 'Ó' => Some('o'),
            'ú' | 'ü' | 'Ú' => Some('u'),
            'ñ' => Some('n'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).unwrap_or(&items[0])
}

fn contact(rng: &mut StdRng, index: usize, created_at: i64) -> SimContact {
    let is_person = rng.random_bool(0.5);
    let (province, prefix, city) = *pick(rng, &PROVINCES);
    let (bank, swift) = *pick(rng, &BANKS);
    let bban = format!(
        "{bank}{:04}{:02}{:010}",
        rng.random_range(1..10_000),
        rng.random_range(0..100),
        rng.random_range(0..10_000_000_000u64)
    );
    let (name, code, domain) = if is_person {
        let first = *pick(rng, &FIRST_NAMES);
        let last1 = *pick(rng, &SURNAMES);
        let last2 = *pick(rng, &SURNAMES);
        let name = format!("{first} {last1} {last2}");
        let domain = ["gmail.com", "hotmail.es", "yahoo.es", "outlook.es"][index % 4];
        (
            name,
            nif(rng.random_range(0..100_000_000)),
            domain.to_owned(),
        )
    } else {
        let word = *pick(rng, &COMPANY_WORDS);
        let place = *pick(rng, &COMPANY_NAMES);
        let suffix = if rng.random_bool(0.7) { "SL" } else { "SA" };
        let letter = if suffix == "SL" { 'B' } else { 'A' };
        let name = format!("{word} {place} {suffix}");
        let domain = format!("{}.es", ascii(&format!("{word}{place}")));
        (name, cif(letter, rng.random_range(0..10_000_000)), domain)
    };
    let local = ascii(name.split(' ').next().unwrap_or("info"));
    let updated_at = created_at + rng.random_range(0..90 * 86_400);
    SimContact {
        id: String::new(),
        custom_id: None,
        email: Some(format!("{local}{index}@{domain}")),
        phone: Some(format!(
            "+349{:08}",
            rng.random_range(10_000_000..100_000_000)
        )),
        mobile: is_person.then(|| format!("+346{:08}", rng.random_range(0..100_000_000))),
        vat_number: (!is_person).then(|| format!("ES{code}")),
        trade_name: None,
        code: Some(code),
        name,
        kind: "client".to_owned(),
        is_person,
        iban: Some(iban(&bban)),
        swift: Some(swift.to_owned()),
        website: (!is_person).then(|| format!("https://www.{domain}")),
        bill_address: SimAddress {
            address: Some(format!(
                "{} {}",
                pick(rng, &STREETS),
                rng.random_range(1..200)
            )),
            city: Some(city.to_owned()),
            postal_code: Some(format!("{prefix}{:03}", rng.random_range(1..100))),
            province: Some(province.to_owned()),
            country: Some("España".to_owned()),
            country_code: Some("ES".to_owned()),
        },
        tags: Vec::new(),
        created_at,
        updated_at,
    }
}

fn product(index: usize) -> SimProduct {
    let (name, cents, iva, retention) = PRODUCTS[index % PRODUCTS.len()];
    let mut taxes = vec![iva.to_owned()];
    taxes.extend(retention.map(str::to_owned));
    SimProduct {
        id: String::new(),
        name: if index < PRODUCTS.len() {
            name.to_owned()
        } else {
            format!("{name} ({})", index / PRODUCTS.len() + 1)
        },
        description: Some(format!("{name}. Producto de ejemplo.")),
        sku: Some(format!("SKU-{:05}", index + 1)),
        barcode: Some(format!("84{:011}", index + 1)),
        price: Decimal::new(cents, 2),
        taxes,
        cost: Some(Decimal::new(cents * 6 / 10, 2)),
        stock: Decimal::from(10 + (index % 50) as i64),
    }
}

/// Seeds `spec` into its account; `None` if the account does not exist.
pub fn seed(state: &mut State, spec: &SeedSpec) -> Option<SeedSummary> {
    state.accounts.get(&spec.account_id)?;
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let now = state.now().timestamp();
    let first_product = state.accounts.get(&spec.account_id)?.products.len();
    for i in 0..spec.contacts {
        let created_at = now - rng.random_range(90 * 86_400..3 * 365 * 86_400);
        let mut record = contact(&mut rng, i, created_at.min(now));
        record.updated_at = record.updated_at.min(now);
        record.id = state.new_id();
        state
            .accounts
            .get_mut(&spec.account_id)?
            .contacts
            .push(record);
    }
    for i in 0..spec.products {
        let mut record = product(first_product + i);
        record.id = state.new_id();
        state
            .accounts
            .get_mut(&spec.account_id)?
            .products
            .push(record);
    }
    for doc_type in SimDocType::ALL {
        for _ in 0..spec.documents_per_type {
            let account = state.accounts.get(&spec.account_id)?;
            let Some(contact) = account.contacts.choose(&mut rng) else {
                break;
            };
            let (contact_id, contact_name) = (contact.id.clone(), contact.name.clone());
            let mut lines = Vec::new();
            for _ in 0..rng.random_range(1..4) {
                let Some(p) = account.products.choose(&mut rng) else {
                    break;
                };
                lines.push(SimLine {
                    name: p.name.clone(),
                    description: p.description.clone(),
                    units: Decimal::from(rng.random_range(1..10)),
                    price: p.price,
                    discount: Decimal::ZERO,
                    taxes: p.taxes.clone(),
                    product_id: Some(p.id.clone()),
                    sku: p.sku.clone(),
                });
            }
            let day = madrid_day(now - Duration::days(rng.random_range(0..365)).num_seconds());
            let document = SimDocument {
                id: String::new(),
                doc_type,
                number: String::new(),
                contact_id: Some(contact_id),
                contact_name: Some(contact_name),
                description: Some(format!("{} de ejemplo", doc_type.v1())),
                notes: None,
                date: madrid_midnight(day),
                currency: "eur".to_owned(),
                lines,
                created_at: madrid_midnight(day),
                approved_at: Some(madrid_midnight(day)),
                collection: Default::default(),
                draft: false,
            };
            ops::insert_document(state, &spec.account_id, document, true);
        }
    }
    let account = state.accounts.get(&spec.account_id)?;
    Some(SeedSummary {
        contacts: account.contacts.len(),
        products: account.products.len(),
        documents: account.documents.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_have_valid_check_characters() {
        assert_eq!(nif(12_345_678), "12345678Z");
        // Published example: B-58378431 (valid CIF).
        assert_eq!(cif('B', 5_837_843), "B58378431");
        let account = iban("21000418450200051332");
        assert_eq!(account, "ES9121000418450200051332");
        assert!(iban_is_valid(&account));
        assert!(!iban_is_valid("ES9121000418450200051333"));
    }
}
