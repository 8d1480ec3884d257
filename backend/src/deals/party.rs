//! The Holded contact a document is for: the deal's company (Empresa) or
//! contact (Contacto), found in Holded or created there once, and its Holded
//! id written back to HubSpot and to the link table (so the nightly sync and
//! later documents reuse it).

use std::time::Duration;

use futures::TryStreamExt;

use super::{deal::AssociateTo, error::DealError};
use crate::{
    contact_index::ContactIndex,
    holded::{
        Address, Contact, ContactChanges, ContactLookup, HoldedApi, HoldedClient, HoldedError,
        normalise_email, normalise_nif,
    },
    hubspot::{CrmObject, PortalClient, Properties},
    store::{Store, links::LinkWrite, party_claims::PartyClaim},
    sync::mapping::SENSITIVE_PROPERTIES,
};

/// Properties read from the company or contact.
const PARTY_PROPERTIES: [&str; 15] = [
    "name",
    "firstname",
    "lastname",
    "email",
    "phone",
    "mobilephone",
    "website",
    "domain",
    "address",
    "city",
    "zip",
    "state",
    "country",
    "holded_id",
    "holded_nombre_comercial",
];

/// How the Holded contact was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartySource {
    /// The HubSpot record already carried (or was linked to) it.
    Linked,
    /// Found in Holded by NIF/CIF.
    FoundByNif,
    /// Found in Holded by email.
    FoundByEmail,
    /// Created in Holded now.
    Created,
    /// Created in Holded by an earlier attempt whose answer (or worker) was
    /// lost, and found by its reference.
    Adopted,
}

/// The Holded contact a document is for.
#[derive(Clone, Debug)]
pub struct Party {
    /// Holded contact id.
    pub holded_id: String,
    /// Its name, for the timeline.
    pub name: String,
    /// How it was obtained.
    pub source: PartySource,
    /// Why the Holded id could not be written back to HubSpot, if it could not.
    pub write_back_problem: Option<String>,
}

impl Party {
    /// The timeline line: "Empresa «Acme SL» creada en Holded".
    pub fn step_title(&self, to: AssociateTo) -> String {
        let (noun, created, found, linked) = match to {
            AssociateTo::Company => ("Empresa", "creada", "encontrada", "vinculada"),
            AssociateTo::Contact => ("Contacto", "creado", "encontrado", "vinculado"),
        };
        let how = match self.source {
            PartySource::Linked => format!("ya {linked} con Holded"),
            PartySource::FoundByNif => format!("{found} en Holded por su NIF/CIF"),
            PartySource::FoundByEmail => format!("{found} en Holded por su email"),
            PartySource::Created => format!("{created} en Holded"),
            PartySource::Adopted => format!("{created} en Holded (en un intento anterior)"),
        };
        format!("{noun} «{}» {how}", self.name)
    }
}

/// What finding the party needs.
pub struct PartyContext<'a> {
    /// Portal.
    pub portal_id: i64,
    /// HubSpot as the portal.
    pub hubspot: &'a PortalClient,
    /// Holded with the portal's key.
    pub holded: &'a HoldedClient,
    /// Database.
    pub store: &'a Store,
    /// The last contact scan's index.
    pub index: ContactIndex<'a>,
    /// Whether NIF, VAT number, IBAN and SWIFT may travel.
    pub sensitive: bool,
}

/// The link-table kind of a HubSpot record of `to`.
fn link_kind(to: AssociateTo) -> &'static str {
    match to {
        AssociateTo::Company => "companies",
        AssociateTo::Contact => "contacts",
    }
}

/// Makes sure the HubSpot `record_id` (a company or contact) exists in Holded:
/// by its `holded_id` (or link) if that contact still exists there, else by
/// NIF (when sensitive data may travel) or email, else created from its
/// mapped fields. Writes the Holded id back.
pub async fn ensure_party(
    ctx: &PartyContext<'_>,
    to: AssociateTo,
    record_id: &str,
) -> Result<Party, DealError> {
    let mut properties: Vec<&str> = PARTY_PROPERTIES.to_vec();
    if ctx.sensitive {
        properties.extend(SENSITIVE_PROPERTIES);
    }
    let record = ctx
        .hubspot
        .get_object(to.object(), record_id, &properties)
        .await?;
    let changes = holded_changes(&record, to, ctx.sensitive);
    let name = changes.name.clone().unwrap_or_default();
    if name.trim().is_empty() {
        return Err(DealError::Permanent(match to {
            AssociateTo::Company => "La empresa del negocio no tiene nombre: ponle uno en HubSpot y reintenta.".to_owned(),
            AssociateTo::Contact => "El contacto del negocio no tiene nombre: ponle nombre o apellidos en HubSpot y reintenta.".to_owned(),
        }));
    }
    let (holded_id, source) = match linked_contact(ctx, to, &record).await? {
        Some(id) => (id, PartySource::Linked),
        None => find_or_create_once(ctx, to, &record, changes).await?,
    };
    let write_back_problem = if record.get("holded_id") == Some(holded_id.as_str()) {
        None
    } else {
        write_back(ctx, to, record_id, &holded_id, source).await?
    };
    Ok(Party {
        holded_id,
        name,
        source,
        write_back_problem,
    })
}

/// The reference written on the Holded contact created for a HubSpot record
/// (v1 `CustomId`): how a later attempt recognises it.
fn reference(ctx: &PartyContext<'_>, to: AssociateTo, record_id: &str) -> String {
    format!("hubspot-{}-{}-{record_id}", ctx.portal_id, link_kind(to))
}

/// Finds the record's Holded contact, or creates it — once, however many
/// deals of this customer run at the same time and whatever crashes: one
/// worker at a time holds the record's claim; under it the link is checked
/// again, a create an earlier holder sent (its answer or its worker lost) is
/// looked for by its reference before anything else, and the intent to
/// create is recorded before the create is sent. The contact is linked
/// before the claim is released.
async fn find_or_create_once(
    ctx: &PartyContext<'_>,
    to: AssociateTo,
    record: &CrmObject,
    changes: ContactChanges,
) -> Result<(String, PartySource), DealError> {
    let claim = claim_when_free(ctx, link_kind(to), &record.id).await?;
    let outcome = async {
        if let Some(id) = linked_contact(ctx, to, record).await? {
            return Ok((id, PartySource::Linked));
        }
        let reference = reference(ctx, to, &record.id);
        if claim.create_sent_at.is_some()
            && let Some(id) = created_before(ctx, &reference, &changes).await?
        {
            link(ctx, to, &record.id, &id).await?;
            return Ok((id, PartySource::Adopted));
        }
        if let Some((id, source)) = found_contact(ctx, &changes).await? {
            link(ctx, to, &record.id, &id).await?;
            return Ok((id, source));
        }
        if !ctx.store.note_party_create(&claim).await? {
            return Err(DealError::Transient(
                "Otro proceso tomó el alta de este cliente en Holded; se reintenta en unos segundos."
                    .to_owned(),
            ));
        }
        let id = ctx
            .holded
            .create_contact(&ContactChanges {
                custom_id: Some(reference),
                ..changes.clone()
            })
            .await?;
        // Linked before anything else can fail: a retry after a failed
        // write-back finds this contact instead of creating another.
        link(ctx, to, &record.id, &id).await?;
        Ok((id, PartySource::Created))
    }
    .await;
    ctx.store.release_party(&claim, outcome.is_ok()).await?;
    outcome
}

/// How long a deal waits for another deal creating the same customer (two
/// deals of one new company moved together) before its attempt is retried.
const CLAIM_WAIT: Duration = Duration::from_secs(10);

/// How often it looks whether the other deal is done.
const CLAIM_POLL: Duration = Duration::from_millis(200);

/// The claim on creating the customer of `record`, once no other deal holds
/// it: the other deal's create usually takes a second or two, and this deal
/// then finds the customer linked, within its attempt.
async fn claim_when_free(
    ctx: &PartyContext<'_>,
    kind: &str,
    record: &str,
) -> Result<PartyClaim, DealError> {
    let owner = uuid::Uuid::new_v4().simple().to_string();
    let deadline = tokio::time::Instant::now() + CLAIM_WAIT;
    loop {
        if let Some(claim) = ctx
            .store
            .claim_party(ctx.portal_id, kind, record, &owner)
            .await?
        {
            return Ok(claim);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DealError::Transient(
                "Otro negocio está dando de alta este cliente en Holded ahora mismo; se reintenta en unos segundos."
                    .to_owned(),
            ));
        }
        tokio::time::sleep(CLAIM_POLL).await;
    }
}

/// The contact an earlier create for this record made, if it landed: the one
/// carrying `reference` (v1 keeps it), else — when Holded keeps no reference
/// (v2) — the one of the same name and kind, and email if the record has one.
async fn created_before(
    ctx: &PartyContext<'_>,
    reference: &str,
    changes: &ContactChanges,
) -> Result<Option<String>, DealError> {
    let by_reference = matching_contacts(ctx, ContactLookup::CustomId(reference)).await?;
    if let [one] = by_reference.as_slice() {
        return Ok(Some(one.id.clone()));
    }
    let name = changes.name.as_deref().unwrap_or_default().trim();
    let email = changes.email.as_deref().map(ContactLookup::Email);
    let mut pages = ctx.holded.contacts();
    let mut same = Vec::new();
    while let Some(page) = pages.try_next().await? {
        same.extend(page.into_iter().filter(|c| {
            c.name.trim() == name
                && Some(c.is_person) == changes.is_person
                && email.is_none_or(|e| e.matches(c))
        }));
    }
    match same.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.id.clone())),
        several => Err(DealError::Permanent(format!(
            "Un intento anterior pudo crear este cliente en Holded y ahora hay {} contactos llamados «{name}»: {}. Deja uno solo en Holded y pulsa Reintentar.",
            several.len(),
            join_spanish(
                &several
                    .iter()
                    .map(|c| format!("id {}", c.id))
                    .collect::<Vec<_>>()
            )
        ))),
    }
}

/// The Holded contact the record is already linked to, if it still exists.
async fn linked_contact(
    ctx: &PartyContext<'_>,
    to: AssociateTo,
    record: &CrmObject,
) -> Result<Option<String>, DealError> {
    let link = ctx
        .store
        .link_by_hubspot_id(ctx.portal_id, link_kind(to), &record.id)
        .await?
        .map(|l| l.holded_id);
    let mut candidates: Vec<String> = record
        .get("holded_id")
        .map(str::to_owned)
        .into_iter()
        .collect();
    candidates.extend(link);
    candidates.dedup();
    for id in candidates {
        match ctx.holded.contact(&id).await {
            Ok(contact) => return Ok(Some(contact.id)),
            Err(HoldedError::NotFound { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Ok(None)
}

/// The Holded contact with the same NIF (when sensitive data may travel) or
/// email: one of the same kind (person or company) if there is exactly one,
/// else the only one. Two that fit as well stop the deal with a message
/// naming them: picking one would put the document on the wrong customer.
async fn found_contact(
    ctx: &PartyContext<'_>,
    changes: &ContactChanges,
) -> Result<Option<(String, PartySource)>, DealError> {
    let lookups = [
        (
            changes.nif.as_deref().map(ContactLookup::Nif),
            PartySource::FoundByNif,
        ),
        (
            changes.email.as_deref().map(ContactLookup::Email),
            PartySource::FoundByEmail,
        ),
    ];
    for (lookup, source) in lookups {
        let Some(lookup) = lookup.filter(|l| !l.key().is_empty()) else {
            continue;
        };
        let found = matching_contacts(ctx, lookup).await?;
        let same_kind: Vec<&Contact> = found
            .iter()
            .filter(|c| Some(c.is_person) == changes.is_person)
            .collect();
        let fitting = if same_kind.is_empty() {
            found.iter().collect()
        } else {
            same_kind
        };
        match fitting.as_slice() {
            [] => continue,
            [one] => return Ok(Some((one.id.clone(), source))),
            several => return Err(DealError::Permanent(ambiguous(lookup, several))),
        }
    }
    Ok(None)
}

/// Every Holded contact that really has `lookup`'s value: from Holded's list
/// filter (checked, never trusted) and the last contact scan's index (each
/// candidate read to confirm it), or — when Holded cannot filter on it (v1)
/// or ignored the filter, and the index is missing or stale — from a scan of
/// every contact, which refreshes the index.
async fn matching_contacts(
    ctx: &PartyContext<'_>,
    lookup: ContactLookup<'_>,
) -> Result<Vec<Contact>, DealError> {
    let found = ctx.holded.find_contacts(lookup).await?;
    if !found.complete && !ctx.index.fresh().await? {
        return scan_contacts(ctx, lookup).await;
    }
    let mut matches = found.contacts;
    for id in ctx.index.candidates(lookup).await? {
        if matches.iter().any(|c| c.id == id) {
            continue;
        }
        match ctx.holded.contact(&id).await {
            Ok(contact) if lookup.matches(&contact) => matches.push(contact),
            Ok(_) | Err(HoldedError::NotFound { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(matches)
}

/// Reads every Holded contact, recording each in the index (completed when
/// the list ends cleanly), and keeps those with `lookup`'s value.
async fn scan_contacts(
    ctx: &PartyContext<'_>,
    lookup: ContactLookup<'_>,
) -> Result<Vec<Contact>, DealError> {
    let started = chrono::Utc::now();
    let mut pages = ctx.holded.contacts();
    let mut matches = Vec::new();
    while let Some(page) = pages.try_next().await? {
        ctx.index.record(&page).await?;
        matches.extend(page.into_iter().filter(|c| lookup.matches(c)));
    }
    if pages.doubt().is_none() {
        ctx.index.complete(started).await?;
    }
    Ok(matches)
}

/// The message that stops a deal whose lookup found several contacts: who
/// they are (name and Holded id), and what to do. A NIF is not repeated in it.
fn ambiguous(lookup: ContactLookup<'_>, several: &[&Contact]) -> String {
    let named: Vec<String> = several
        .iter()
        .take(3)
        .map(|c| format!("«{}» (id {})", c.name, c.id))
        .collect();
    let more = match several.len() {
        n if n > 3 => format!(" y {} más", n - 3),
        _ => String::new(),
    };
    let value = match lookup {
        ContactLookup::Email(email) => format!(" ({})", email.trim()),
        _ => String::new(),
    };
    format!(
        "Hay {} contactos en Holded con el mismo {}{value}: {}{more}. No se elige uno al azar: deja uno solo en Holded (o cambia el {} del que no es) y pulsa Reintentar.",
        several.len(),
        lookup.field_name(),
        join_spanish(&named),
        lookup.field_name(),
    )
}

/// `a`, `a y b`, `a, b y c`.
fn join_spanish(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} y {last}", init.join(", ")),
    }
}

/// Writes the Holded id on the HubSpot record. HubSpot may refuse (another
/// record already holds that Holded id): the document still goes ahead, and
/// the reason is returned for the timeline.
async fn write_back(
    ctx: &PartyContext<'_>,
    to: AssociateTo,
    record_id: &str,
    holded_id: &str,
    source: PartySource,
) -> Result<Option<String>, DealError> {
    let mut properties = Properties::new();
    properties.insert("holded_id".to_owned(), holded_id.to_owned());
    properties.insert(
        "holded_estado_sync".to_owned(),
        if source == PartySource::Created {
            "creado"
        } else {
            "sincronizado"
        }
        .to_owned(),
    );
    match ctx
        .hubspot
        .update_object(to.object(), record_id, &properties)
        .await
    {
        Ok(_) => {}
        Err(
            err @ (crate::hubspot::HubspotError::Validation { .. }
            | crate::hubspot::HubspotError::Conflict { .. }),
        ) => {
            return Ok(Some(format!(
                "No se pudo guardar el id de Holded en HubSpot: {}",
                crate::i18n::spanish_part(&err.to_string())
            )));
        }
        Err(other) => return Err(other.into()),
    }
    Ok(None)
}

/// Links the HubSpot record to the Holded contact (the nightly sync and
/// later documents read the link).
async fn link(
    ctx: &PartyContext<'_>,
    to: AssociateTo,
    record_id: &str,
    holded_id: &str,
) -> Result<(), DealError> {
    ctx.store
        .save_links(
            ctx.portal_id,
            link_kind(to),
            &[LinkWrite {
                holded_id: holded_id.to_owned(),
                hubspot_id: record_id.to_owned(),
                content_hash: String::new(),
                holded_updated_at: None,
                listed: false,
            }],
        )
        .await?;
    Ok(())
}

fn value(record: &CrmObject, name: &str) -> Option<String> {
    record
        .get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A HubSpot company or contact as the Holded contact to create (DESIGN §8,
/// read the other way): NIF, VAT number, IBAN and SWIFT only when they may travel.
pub fn holded_changes(record: &CrmObject, to: AssociateTo, sensitive: bool) -> ContactChanges {
    let country = value(record, "country");
    let (country_code, country_name) = match country {
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            (Some(c.to_uppercase()), None)
        }
        other => (None, other),
    };
    let address = Address {
        address: value(record, "address"),
        city: value(record, "city"),
        postal_code: value(record, "zip"),
        province: value(record, "state"),
        country: country_name,
        country_code,
    };
    let has_address = address != Address::default();
    let mut changes = ContactChanges {
        phone: value(record, "phone"),
        kind: Some("client".to_owned()),
        bill_address: has_address.then_some(address),
        ..Default::default()
    };
    match to {
        AssociateTo::Company => {
            changes.name = value(record, "name");
            changes.trade_name = value(record, "holded_nombre_comercial");
            changes.is_person = Some(false);
            changes.website = value(record, "website")
                .or_else(|| value(record, "domain").map(|d| format!("https://{d}")));
        }
        AssociateTo::Contact => {
            let full = [value(record, "firstname"), value(record, "lastname")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            changes.name = Some(full).filter(|n| !n.is_empty());
            changes.email = value(record, "email").map(|e| normalise_email(&e));
            changes.mobile = value(record, "mobilephone");
            changes.is_person = Some(true);
            changes.website = value(record, "website");
        }
    }
    if sensitive {
        changes.nif = value(record, "holded_nif").map(|n| normalise_nif(&n));
        changes.vat_number = value(record, "holded_vat");
        changes.iban = value(record, "holded_iban");
        changes.swift = value(record, "holded_swift");
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_company_becomes_a_holded_company_without_sensitive_values_unless_allowed() {
        let company = CrmObject::with_properties(
            "77",
            &[
                ("name", "Talleres Ruiz SL"),
                ("domain", "talleresruiz.es"),
                ("city", "Zaragoza"),
                ("country", "es"),
                ("holded_nif", "B12345678"),
            ],
        );
        let off = holded_changes(&company, AssociateTo::Company, false);
        assert_eq!(off.name.as_deref(), Some("Talleres Ruiz SL"));
        assert_eq!(off.is_person, Some(false));
        assert_eq!(off.website.as_deref(), Some("https://talleresruiz.es"));
        let address = off.bill_address.unwrap();
        assert_eq!(address.country_code.as_deref(), Some("ES"));
        assert_eq!(address.city.as_deref(), Some("Zaragoza"));
        assert_eq!(off.nif, None);
        let on = holded_changes(&company, AssociateTo::Company, true);
        assert_eq!(on.nif.as_deref(), Some("B12345678"));
    }

    #[test]
    fn a_contact_becomes_a_holded_person() {
        let contact = CrmObject::with_properties(
            "77",
            &[
                ("firstname", "Marta"),
                ("lastname", "Ruiz Soler"),
                ("email", " Marta@Ruiz.ES"),
                ("country", "Portugal"),
            ],
        );
        let changes = holded_changes(&contact, AssociateTo::Contact, false);
        assert_eq!(changes.name.as_deref(), Some("Marta Ruiz Soler"));
        assert_eq!(changes.email.as_deref(), Some("marta@ruiz.es"));
        assert_eq!(changes.is_person, Some(true));
        assert_eq!(
            changes.bill_address.unwrap().country.as_deref(),
            Some("Portugal")
        );
    }

    #[test]
    fn timeline_titles_are_spanish_and_agree_in_gender() {
        let party = Party {
            holded_id: "h1".into(),
            name: "Acme SL".into(),
            source: PartySource::Created,
            write_back_problem: None,
        };
        assert_eq!(
            party.step_title(AssociateTo::Company),
            "Empresa «Acme SL» creada en Holded"
        );
        let found = Party {
            source: PartySource::FoundByNif,
            ..party
        };
        assert_eq!(
            found.step_title(AssociateTo::Contact),
            "Contacto «Acme SL» encontrado en Holded por su NIF/CIF"
        );
    }
}
