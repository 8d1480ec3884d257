//! The harness's world: a Spanish company's Holded account (thousands of
//! records for the nightly sync), its customers — half of them already in
//! Holded — in HubSpot too, and the deals a sales team moves through their
//! stages.

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

/// Seeds Holded (its account and `records` records; the known customers)
/// and HubSpot (the customers and `deals` deals) for `portal`.
pub async fn seed(sims: &RunningSims, portal: u64, records: usize, deals: usize) -> World {
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
    let mut customers = Vec::new();
    for (i, name) in COMPANIES
        .iter()
        .map(|n| format!("{n} SL"))
        .chain(PERSONS.iter().map(|n| (*n).to_owned()))
        .enumerate()
    {
        let company = i < COMPANIES.len();
        let known = i % 2 == 0;
        let email = email_of(&name);
        if known {
            holded
                .create_contact(&ContactChanges {
                    name: Some(name.clone()),
                    email: Some(email.clone()),
                    is_person: Some(!company),
                    kind: Some("client".into()),
                    ..Default::default()
                })
                .await
                .expect("a known customer in Holded");
        }
        let (object, values) = if company {
            let domain = email.split('@').next().unwrap().replace('.', "-");
            (
                ObjType::Companies,
                BTreeMap::from([
                    ("name".to_owned(), name.clone()),
                    ("domain".to_owned(), format!("{domain}.es")),
                    ("city".to_owned(), "Madrid".to_owned()),
                ]),
            )
        } else {
            let mut words = name.split(' ');
            let first = words.next().unwrap_or_default().to_owned();
            (
                ObjType::Contacts,
                BTreeMap::from([
                    ("firstname".to_owned(), first),
                    ("lastname".to_owned(), words.collect::<Vec<_>>().join(" ")),
                    ("email".to_owned(), email.clone()),
                ]),
            )
        };
        let hubspot_id = sims
            .hubspot
            .seed_records(portal, object, vec![values])
            .expect("a customer in HubSpot")[0];
        customers.push(Customer {
            name,
            company,
            known,
            hubspot_id,
        });
    }
    let mut seeded = Vec::new();
    for n in 0..deals {
        let customer = n % customers.len();
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
