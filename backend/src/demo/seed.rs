//! The demo company's Holded account: a Spanish SME with a few hundred
//! customers (persons and companies), its product catalogue and a year of
//! documents of every type, from the simulator's deterministic Spanish seed.

use anyhow::Context;
use holded_hubspot_sim::holded::{SimAccount, seed::SeedSpec};

use super::environment::Environment;

/// Customers in the demo account (about half persons, half companies).
const CONTACTS: usize = 320;
/// Products in the catalogue (each a distinct product of the seed).
const PRODUCTS: usize = 10;
/// Documents per type (estimate, proforma, delivery note, invoice, sales order).
const DOCUMENTS_PER_TYPE: usize = 12;
/// The seed's random seed: every demo shows the same company.
const SEED: u64 = 2026;

/// The seeded account and what it holds.
pub struct SeededHolded {
    /// Account and its API credentials (the v2 token goes into the settings).
    pub account: SimAccount,
    /// Contacts that are persons (→ HubSpot contacts).
    pub persons: usize,
    /// Contacts that are companies (→ HubSpot companies).
    pub companies: usize,
    /// Products.
    pub products: usize,
    /// Documents of every type.
    pub documents: usize,
}

/// Creates the demo account in the Holded simulator and fills it.
pub fn seed_holded(env: &Environment) -> anyhow::Result<SeededHolded> {
    let holded = &env.sims.holded;
    let account = holded.create_account(None);
    let summary = holded
        .seed(&SeedSpec {
            account_id: account.account_id.clone(),
            seed: SEED,
            contacts: CONTACTS,
            products: PRODUCTS,
            documents_per_type: DOCUMENTS_PER_TYPE,
        })
        .context("el simulador de Holded no encontró la cuenta recién creada")?;
    let persons = holded
        .contacts(&account.account_id)
        .iter()
        .filter(|contact| contact.is_person)
        .count();
    let seeded = SeededHolded {
        account,
        persons,
        companies: summary.contacts - persons,
        products: summary.products,
        documents: summary.documents,
    };
    println!(
        "   ✔ Holded: {} personas, {} empresas, {} productos, {} documentos ({DOCUMENTS_PER_TYPE} de cada tipo) (persons, companies, products, documents of every type)",
        seeded.persons, seeded.companies, seeded.products, seeded.documents
    );
    Ok(seeded)
}
