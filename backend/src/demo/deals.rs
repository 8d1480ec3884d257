//! Deals a sales rep would create in HubSpot for new customers, one per
//! document type, each with its line items and its company or contact, the
//! two Holded properties set, and still short of the stage that makes its
//! Holded document.

use std::collections::BTreeMap;

use holded_hubspot_sim::hubspot::SeedDeal;
use rust_decimal::Decimal;

use super::environment::Environment;

/// The stage demo deals are created in; no document type is mapped to it
/// (see [`super::settings::DOCUMENT_STAGES`]).
pub const SEEDED_STAGE: &str = "appointmentscheduled";

/// Who the Holded document will be for.
enum Customer {
    /// A company (with a contact person); "Asociar documento a" = Empresa.
    Company {
        name: &'static str,
        domain: &'static str,
        city: &'static str,
        contact: Person,
    },
    /// A private customer; "Asociar documento a" = Contacto.
    Person(Person),
}

/// A contact person.
struct Person {
    first_name: &'static str,
    last_name: &'static str,
    email: &'static str,
}

/// A deal to create: name, document type, customer and lines
/// (name, quantity, unit price in euros).
struct DealSpec {
    name: &'static str,
    document_type: &'static str,
    customer: Customer,
    lines: &'static [(&'static str, u32, &'static str)],
}

const DEALS: [DealSpec; 4] = [
    DealSpec {
        name: "Bodegas Ribera del Tormes · licencias y formación",
        document_type: "estimate",
        customer: Customer::Company {
            name: "Bodegas Ribera del Tormes SA",
            domain: "riberadeltormes.es",
            city: "Salamanca",
            contact: Person {
                first_name: "Elena",
                last_name: "Sáez Moreno",
                email: "elena.saez@riberadeltormes.es",
            },
        },
        lines: &[
            ("Licencia anual de software", 3, "499.00"),
            ("Formación in company (hora)", 6, "90.00"),
        ],
    },
    DealSpec {
        name: "Lucía Ortega · mantenimiento web",
        document_type: "proform",
        customer: Customer::Person(Person {
            first_name: "Lucía",
            last_name: "Ortega Vidal",
            email: "lucia.ortega.vidal@gmail.com",
        }),
        lines: &[("Mantenimiento web mensual", 12, "120.00")],
    },
    DealSpec {
        name: "Carpintería Albaicín · tornillería",
        document_type: "waybill",
        customer: Customer::Company {
            name: "Carpintería Albaicín SL",
            domain: "carpinteriaalbaicin.es",
            city: "Granada",
            contact: Person {
                first_name: "Rafael",
                last_name: "Molina Ruiz",
                email: "rafael@carpinteriaalbaicin.es",
            },
        },
        lines: &[
            ("Caja de tornillos inoxidables", 40, "12.95"),
            ("Transporte urgente", 2, "25.00"),
        ],
    },
    DealSpec {
        name: "Iker Etxeberria · reparación de maquinaria",
        document_type: "invoice",
        customer: Customer::Person(Person {
            first_name: "Iker",
            last_name: "Etxeberria Goñi",
            email: "iker.etxeberria@outlook.es",
        }),
        lines: &[
            ("Reparación de maquinaria", 1, "180.00"),
            ("Consultoría (hora)", 2, "65.00"),
        ],
    },
];

/// A deal created in the HubSpot simulator.
#[derive(Clone, Debug)]
pub struct DemoDeal {
    /// HubSpot deal id.
    pub deal_id: u64,
    /// Deal name.
    pub name: &'static str,
    /// `holded_tipo_documento`: `estimate`, `proform`, `waybill` or `invoice`.
    pub document_type: &'static str,
}

fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn contact(person: &Person) -> BTreeMap<String, String> {
    properties(&[
        ("firstname", person.first_name),
        ("lastname", person.last_name),
        ("email", person.email),
    ])
}

/// The deal as the simulator seeds it: properties (amount = sum of the
/// lines), line items, and the associated company and/or contact.
fn seed_of(spec: &DealSpec) -> anyhow::Result<SeedDeal> {
    let mut amount = Decimal::ZERO;
    let mut line_items = Vec::new();
    for (name, quantity, price) in spec.lines {
        amount += Decimal::from(*quantity) * price.parse::<Decimal>()?;
        let quantity = quantity.to_string();
        line_items.push(properties(&[
            ("name", name),
            ("quantity", &quantity),
            ("price", price),
        ]));
    }
    let (associate_to, company, person) = match &spec.customer {
        Customer::Company {
            name,
            domain,
            city,
            contact,
        } => (
            "company",
            Some(properties(&[
                ("name", name),
                ("domain", domain),
                ("city", city),
            ])),
            contact,
        ),
        Customer::Person(person) => ("contact", None, person),
    };
    let amount = amount.round_dp(2).to_string();
    Ok(SeedDeal {
        properties: properties(&[
            ("dealname", spec.name),
            ("amount", &amount),
            ("pipeline", "default"),
            ("dealstage", SEEDED_STAGE),
            ("holded_tipo_documento", spec.document_type),
            ("holded_asociar_documento_a", associate_to),
        ]),
        line_items,
        company,
        contact: Some(contact(person)),
    })
}

/// Creates the demo deals in the portal, as a sales rep would in HubSpot.
pub fn seed_deals(env: &Environment, portal_id: i64) -> anyhow::Result<Vec<DemoDeal>> {
    let portal = u64::try_from(portal_id)?;
    let mut deals = Vec::new();
    for spec in &DEALS {
        let seeded = env
            .sims
            .hubspot
            .seed_deal(portal, seed_of(spec)?)
            .map_err(|reason| anyhow::anyhow!("HubSpot rechazó «{}»: {reason}", spec.name))?;
        println!(
            "   ✔ {} · {} · líneas de pedido (line items): {}",
            spec.name,
            spec.document_type,
            seeded.line_item_ids.len()
        );
        deals.push(DemoDeal {
            deal_id: seeded.deal_id,
            name: spec.name,
            document_type: spec.document_type,
        });
    }
    Ok(deals)
}
