//! The harness's world: a Spanish company's Holded account (thousands of
//! records for the nightly sync), its customers — half of them already in
//! Holded — in HubSpot too, and the deals a sales team moves through their
//! stages. The benchmark's deal section (`tests/e2e/examples/bench/`)
//! includes this file too.

use std::collections::BTreeMap;

use holded_hubspot::holded::{ClientOptions, ContactChanges, HoldedApi, HoldedClient};
use holded_hubspot_sim::{
    RunningSims,
    holded::{SimAccount, seed::SeedSpec},
    hubspot::{SeedDeal, model::ObjType},
};
use secrecy::SecretString;

/// Document type → the stage that triggers it (the settings' mapping).
pub const TRIGGERS: [(&str, &str); 5] = [
    ("estimate", "appointmentscheduled"),
    ("proform", "qualifiedtobuy"),
    ("waybill", "contractsent"),
    ("invoice", "closedwon"),
    ("salesorder", "presentationscheduled"),
];

/// Where deals start.
pub const START: &str = "decisionmakerboughtin";

/// Where a deal that passes through its trigger stage ends.
pub const AFTER: &str = "closedlost";

const COMPANIES: [&str; 20] = [
    "Construcciones Miño",
    "Bodegas Ribera del Tormes",
    "Talleres Etxeberria",
    "Panadería La Espiga",
    "Carpintería Albaicín",
    "Transportes Guadiana",
    "Óptica Moncloa",
    "Ferretería Pilar",
    "Aceites Jaén Oro",
    "Conservas Rías Baixas",
    "Clínica Dental Sonrisa",
    "Imprenta Gráficas Turia",
    "Hostal Camino Real",
    "Electricidad Nervión",
    "Viveros El Olivar",
    "Muebles Castellón",
    "Queserías Picos",
    "Reformas Ebro",
    "Academia Cervantes",
    "Cerámicas Manises",
];

const PERSONS: [&str; 20] = [
    "Lucía Ortega Ruiz",
    "Iker Etxeberria Goñi",
    "María José Fernández",
    "Jordi Puig Vidal",
    "Ainhoa Larrañaga Mendía",
    "Carmen Núñez Peña",
    "Álvaro Sánchez Gil",
    "Núria Ferrer Soler",
    "Pablo Martín Herrera",
    "Rocío Domínguez Cano",
    "Xabier Arrieta Olano",
    "Elena Castro Vega",
    "Sergio Benítez Lara",
    "Marta Gil Ibáñez",
    "Raúl Moreno Pastor",
    "Laia Roca Font",
    "Andrés Romero Vidal",
    "Paula Serrano Ríos",
    "Óscar Prieto Mora",
    "Inés Cabrera Luna",
];

/// One customer of the sales team.
#[derive(Clone, Debug)]
pub struct Customer {
    /// Its name (as HubSpot and, when known, Holded have it).
    pub name: String,
    /// A company (else a person).
    pub company: bool,
    /// Whether Holded knows it already (by its email).
    pub known: bool,
    /// Its HubSpot record.
    pub hubspot_id: u64,
}

/// A deal the team moves.
#[derive(Clone, Debug)]
pub struct Deal {
    pub id: u64,
    pub doc_type: &'static str,
    pub customer: usize,
    /// It passes through its trigger stage (moved on at once).
    pub passes_through: bool,
}

/// What was seeded.
pub struct World {
    pub account: SimAccount,
    pub customers: Vec<Customer>,
    pub deals: Vec<Deal>,
}

fn email_of(name: &str) -> String {
    let local: String = name
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' | 'ò' => 'o',
            'ú' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c if c.is_ascii_alphanumeric() => c,
            _ => '.',
        })
        .collect();
    format!("{}@clientes-harness.es", local.trim_matches('.'))
}

/// A valid Spanish CIF for a company (`B` + seven digits + control digit).
fn cif(n: usize) -> String {
    let digits: Vec<u32> = format!("{:07}", 3_100_000 + n * 7_919)
        .chars()
        .map(|c| c.to_digit(10).unwrap_or(0))
        .collect();
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let double = d * 2;
                double / 10 + double % 10
            } else {
                *d
            }
        })
        .sum();
    let control = (10 - sum % 10) % 10;
    format!(
        "B{}{control}",
        digits.iter().map(|d| d.to_string()).collect::<String>()
    )
}

/// One customer before it is in HubSpot.
#[derive(Clone, Debug)]
pub struct Planned {
    name: String,
    company: bool,
    known: bool,
    email: String,
    nif: String,
}

/// Seeds Holded: the account, `records` records for the nightly sync, and
/// the customers already known to it (by NIF for companies, email for
/// persons). Returns the account and every customer.
pub async fn seed_holded(sims: &RunningSims, records: usize) -> (SimAccount, Vec<Planned>) {
    let account = sims.holded.create_account(None);
    let contacts = records * 4 / 5;
    let products = records / 25;
    let per_type = (records - contacts - products) / 5;
    sims.holded
        .seed(&SeedSpec {
            account_id: account.account_id.clone(),
            seed: 2026,
            contacts,
            products,
            documents_per_type: per_type,
        })
        .expect("seed Holded");
    let holded = HoldedClient::new(
        &url::Url::parse(&sims.holded_url).unwrap(),
        SecretString::from(account.v1_key.clone()),
        ClientOptions::default(),
    )
    .unwrap();
    let names = COMPANIES
        .iter()
        .map(|n| format!("{n} SL"))
        .chain(PERSONS.iter().map(|n| (*n).to_owned()));
    let mut planned = Vec::new();
    for (i, name) in names.enumerate() {
        let customer = Planned {
            email: email_of(&name),
            nif: cif(i),
            company: i < COMPANIES.len(),
            known: i % 2 == 0,
            name,
        };
        if customer.known {
            holded
                .create_contact(&ContactChanges {
                    name: Some(customer.name.clone()),
                    email: Some(customer.email.clone()),
                    nif: customer.company.then(|| customer.nif.clone()),
                    is_person: Some(!customer.company),
                    kind: Some("client".into()),
                    ..Default::default()
                })
                .await
                .expect("a known customer in Holded");
        }
        planned.push(customer);
    }
    (account, planned)
}

/// Seeds HubSpot: the customers (companies with their CIF, persons with
/// their email) and `deals` deals, two per customer, spread over companies
/// and persons, known and new.
pub fn seed_hubspot(
    sims: &RunningSims,
    portal: u64,
    account: SimAccount,
    planned: Vec<Planned>,
    deals: usize,
) -> World {
    let mut customers = Vec::new();
    for customer in planned {
        let (object, values) = if customer.company {
            let domain = customer.email.split('@').next().unwrap().replace('.', "-");
            (
                ObjType::Companies,
                BTreeMap::from([
                    ("name".to_owned(), customer.name.clone()),
                    ("domain".to_owned(), format!("{domain}.es")),
                    ("holded_nif".to_owned(), customer.nif.clone()),
                    ("city".to_owned(), "Madrid".to_owned()),
                ]),
            )
        } else {
            let mut words = customer.name.split(' ');
            let first = words.next().unwrap_or_default().to_owned();
            (
                ObjType::Contacts,
                BTreeMap::from([
                    ("firstname".to_owned(), first),
                    ("lastname".to_owned(), words.collect::<Vec<_>>().join(" ")),
                    ("email".to_owned(), customer.email.clone()),
                ]),
            )
        };
        let hubspot_id = sims
            .hubspot
            .seed_records(portal, object, vec![values])
            .expect("a customer in HubSpot")[0];
        customers.push(Customer {
            name: customer.name,
            company: customer.company,
            known: customer.known,
            hubspot_id,
        });
    }
    let mut seeded = Vec::new();
    for n in 0..deals {
        // Two deals per customer, moved together; customers 7 apart so that
        // companies and persons, known and new, all get some.
        let customer = (n / 2) * 7 % customers.len();
        let (doc_type, _) = TRIGGERS[n % TRIGGERS.len()];
        let c = &customers[customer];
        let deal = sims
            .hubspot
            .seed_deal(
                portal,
                SeedDeal {
                    properties: BTreeMap::from([
                        (
                            "dealname".to_owned(),
                            format!("Pedido {} · {}", n + 1, c.name),
                        ),
                        ("pipeline".to_owned(), "default".to_owned()),
                        ("dealstage".to_owned(), START.to_owned()),
                        ("holded_tipo_documento".to_owned(), doc_type.to_owned()),
                        (
                            "holded_asociar_documento_a".to_owned(),
                            if c.company { "company" } else { "contact" }.to_owned(),
                        ),
                        ("deal_currency_code".to_owned(), "EUR".to_owned()),
                    ]),
                    line_items: vec![BTreeMap::from([
                        ("name".to_owned(), format!("Servicio {}", n % 7 + 1)),
                        ("quantity".to_owned(), format!("{}", n % 3 + 1)),
                        (
                            "price".to_owned(),
                            format!("{}.{:02}", 100 + n * 7 % 900, n % 100),
                        ),
                    ])],
                    ..Default::default()
                },
            )
            .expect("a deal")
            .deal_id;
        let (to, type_id) = if c.company {
            (ObjType::Companies, 5)
        } else {
            (ObjType::Contacts, 3)
        };
        sims.hubspot
            .associate(portal, (ObjType::Deals, deal), (to, c.hubspot_id), type_id)
            .expect("associate the deal");
        seeded.push(Deal {
            id: deal,
            doc_type,
            customer,
            passes_through: n % 5 == 4,
        });
    }
    World {
        account,
        customers,
        deals: seeded,
    }
}

/// The stage that triggers `doc_type`.
pub fn trigger(doc_type: &str) -> &'static str {
    TRIGGERS
        .iter()
        .find(|(t, _)| *t == doc_type)
        .map(|(_, s)| *s)
        .expect("a mapped type")
}
