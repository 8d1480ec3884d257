//! Records already in HubSpot before the first sync, as a real portal has
//! them: 1 % of the Holded persons as contacts (the same email, typed in
//! other case), 1 % of the Holded companies as companies (the same domain,
//! with `www.`), and HubSpot's own leads (2 % of the account) that Holded
//! never had. After the first sync every overlapping record must be linked,
//! none made twice, and HubSpot's own left alone.

use std::collections::{BTreeMap, HashMap};

use holded_hubspot::sync::mapping::domain_of;
use holded_hubspot_sim::hubspot::model::ObjType;
use serde_json::Value;

use super::Bench;

/// What was put in HubSpot, to check after the first sync.
pub struct Overlap {
    /// (HubSpot contact id, Holded id) of persons already in HubSpot.
    contacts: Vec<(u64, String)>,
    /// (HubSpot company id, Holded id, domain) of companies already in HubSpot.
    companies: Vec<(u64, String, String)>,
    /// HubSpot's own contacts.
    own: Vec<u64>,
}

impl Overlap {
    /// Seeds the portal's HubSpot with the overlapping and the own records.
    pub fn seed(bench: &Bench) -> anyhow::Result<Self> {
        let holded = bench.sims.holded.contacts(&bench.account.account_id);
        let portal = bench.portal_id as u64;
        let hubspot = &bench.sims.hubspot;
        let mut emails: HashMap<String, usize> = HashMap::new();
        let mut domains: HashMap<String, usize> = HashMap::new();
        for contact in &holded {
            if let Some(email) = &contact.email {
                *emails.entry(email.to_lowercase()).or_default() += 1;
            }
            if let Some(domain) = contact.website.as_deref().and_then(domain_of) {
                *domains.entry(domain).or_default() += 1;
            }
        }
        let persons: Vec<(String, String, String)> = holded
            .iter()
            .filter(|c| c.is_person)
            .filter_map(|c| Some((c.id.clone(), c.name.clone(), c.email.clone()?)))
            .filter(|(_, _, email)| emails[&email.to_lowercase()] == 1)
            .step_by(100)
            .collect();
        let companies: Vec<(String, String, String)> = holded
            .iter()
            .filter(|c| !c.is_person)
            .filter_map(|c| {
                Some((
                    c.id.clone(),
                    c.name.clone(),
                    domain_of(c.website.as_deref()?)?,
                ))
            })
            .filter(|(_, _, domain)| domains[domain] == 1)
            .step_by(100)
            .collect();
        let seed = |t: ObjType, records: Vec<BTreeMap<String, String>>| {
            hubspot
                .seed_records(portal, t, records)
                .map_err(anyhow::Error::msg)
        };
        let contact_ids = seed(
            ObjType::Contacts,
            persons
                .iter()
                .map(|(_, name, email)| {
                    properties(&[("firstname", name), ("email", &email.to_uppercase())])
                })
                .collect(),
        )?;
        let company_ids = seed(
            ObjType::Companies,
            companies
                .iter()
                .map(|(_, name, domain)| {
                    properties(&[("name", name), ("domain", &format!("www.{domain}"))])
                })
                .collect(),
        )?;
        let own = seed(
            ObjType::Contacts,
            (0..holded.len() / 50)
                .map(|i| {
                    properties(&[
                        ("firstname", &format!("Lucía Fernández Peña {i}")),
                        ("email", &format!("lucia.fernandez.{i}@correo-ejemplo.es")),
                    ])
                })
                .collect(),
        )?;
        Ok(Self {
            contacts: contact_ids
                .into_iter()
                .zip(persons)
                .map(|(id, (holded, _, _))| (id, holded))
                .collect(),
            companies: company_ids
                .into_iter()
                .zip(companies)
                .map(|(id, (holded, _, domain))| (id, holded, domain))
                .collect(),
            own,
        })
    }

    /// Fails unless every overlapping record is linked to its Holded record
    /// and is the only HubSpot record of its domain, and HubSpot's own
    /// contacts carry no Holded id.
    pub fn check(&self, bench: &Bench) -> anyhow::Result<()> {
        let dump = bench
            .sims
            .hubspot
            .dump(bench.portal_id as u64)
            .ok_or_else(|| anyhow::anyhow!("no portal"))?;
        let records = |object: &str| -> HashMap<u64, Value> {
            dump["records"][object]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["archived"] == false)
                .filter_map(|r| Some((r["id"].as_str()?.parse().ok()?, r["properties"].clone())))
                .collect()
        };
        let contacts = records("contacts");
        let companies = records("companies");
        let holded_id =
            |props: Option<&Value>| props.and_then(|p| p["holded_id"].as_str().map(str::to_owned));
        for (id, holded) in &self.contacts {
            anyhow::ensure!(
                holded_id(contacts.get(id)).as_deref() == Some(holded.as_str()),
                "HubSpot contact {id} was not linked to Holded {holded}"
            );
        }
        let mut per_domain: HashMap<String, usize> = HashMap::new();
        for props in companies.values() {
            if let Some(domain) = props["domain"].as_str().and_then(domain_of) {
                *per_domain.entry(domain).or_default() += 1;
            }
        }
        for (id, holded, domain) in &self.companies {
            anyhow::ensure!(
                holded_id(companies.get(id)).as_deref() == Some(holded.as_str()),
                "HubSpot company {id} was not linked to Holded {holded}"
            );
            anyhow::ensure!(
                per_domain[domain] == 1,
                "{} HubSpot companies of domain {domain}",
                per_domain[domain]
            );
        }
        for id in &self.own {
            anyhow::ensure!(
                holded_id(contacts.get(id)).is_none(),
                "HubSpot's own contact {id} was given a Holded id"
            );
        }
        Ok(())
    }
}

fn properties(values: &[(&str, &String)]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).clone()))
        .collect()
}
