//! The Holded document of a request: looked for before every create after
//! the first (Holded has no idempotency keys, so a create whose answer was
//! lost may have happened), created as a draft otherwise, and read back.

use chrono::{Days, NaiveDate};

use super::error::DealError;
use crate::{
    holded::{
        Document, DocumentContact, DocumentLine, DocumentType, HoldedApi, HoldedClient, NewDocument,
    },
    store::entities::document_request,
};

/// The marker written in a document's notes that finds it again:
/// `hh-<portal>-<deal>-<type>`. One (deal, type) has one marker, ever.
pub fn reference(request: &document_request::Model) -> String {
    format!(
        "hh-{}-{}-{}",
        request.portal_id, request.deal_id, request.document_type
    )
}

/// The HubSpot deal a document of `doc_type` was made from, by the marker
/// this app wrote in its notes for `portal_id` (see [`reference`]).
pub fn deal_of(notes: &str, portal_id: i64, doc_type: DocumentType) -> Option<String> {
    let prefix = format!("hh-{portal_id}-");
    let suffix = format!("-{}", doc_type.v1_name());
    notes.match_indices(&prefix).find_map(|(at, _)| {
        let rest = &notes[at + prefix.len()..];
        let deal: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!deal.is_empty() && rest[deal.len()..].starts_with(&suffix)).then_some(deal)
    })
}

/// The notes of a new document: where it came from, with the marker.
pub fn notes(deal_name: &str, reference: &str) -> String {
    format!("Creado desde el negocio de HubSpot «{deal_name}» (ref. {reference})")
}

/// A document of `doc_type` for `contact_id` dated between `from` and `to`
/// whose notes carry `reference`: the one an earlier attempt created. Holded
/// filters by date; a day either side absorbs time-zone edges. A listed
/// document without notes is read whole before it is ruled out.
pub async fn find_created(
    holded: &HoldedClient,
    doc_type: DocumentType,
    contact_id: &str,
    (from, to): (NaiveDate, NaiveDate),
    reference: &str,
) -> Result<Option<Document>, DealError> {
    let carries = |d: &Document| d.notes.as_deref().is_some_and(|n| n.contains(reference));
    let listed = holded
        .contact_documents(doc_type, contact_id, from - Days::new(1), to + Days::new(1))
        .await?;
    for document in listed {
        if carries(&document) {
            return Ok(Some(document));
        }
        if document.notes.is_none() {
            let whole = holded.document(doc_type, &document.id).await?;
            if carries(&whole) {
                return Ok(Some(whole));
            }
        }
    }
    Ok(None)
}

/// What to create.
pub struct Draft<'a> {
    /// Type.
    pub doc_type: DocumentType,
    /// Holded contact.
    pub contact_id: &'a str,
    /// Issue date.
    pub date: NaiveDate,
    /// The deal's name (the document's description).
    pub deal_name: &'a str,
    /// The marker for the notes.
    pub reference: &'a str,
    /// Currency (ISO 4217), if the deal has one.
    pub currency: Option<&'a str>,
    /// Lines.
    pub lines: Vec<DocumentLine>,
}

/// Creates the document as a draft; returns its id.
pub async fn create(holded: &HoldedClient, draft: Draft<'_>) -> Result<String, DealError> {
    let new = NewDocument {
        doc_type: draft.doc_type,
        contact: DocumentContact::Id(draft.contact_id.to_owned()),
        date: draft.date,
        description: Some(draft.deal_name.to_owned()),
        notes: Some(notes(draft.deal_name, draft.reference)),
        currency: Some(draft.currency.unwrap_or("EUR").to_owned()),
        numbering_series_id: None,
        lines: draft.lines,
    };
    Ok(holded.create_document(&new).await?.id)
}

/// The timeline line of a created document:
/// "Presupuesto E260012 creado en Holded por 1.210,00 €".
pub fn step_title(document: &Document, adopted: bool) -> String {
    let kind = document.doc_type.spanish_name();
    let number = document
        .number
        .as_deref()
        .map(|n| format!(" {n}"))
        .unwrap_or_else(|| " (borrador)".to_owned());
    let verb = if adopted {
        // The gender follows the type: "Factura … recuperada".
        match document.doc_type {
            DocumentType::Proform | DocumentType::Invoice => "recuperada",
            _ => "recuperado",
        }
    } else {
        match document.doc_type {
            DocumentType::Proform | DocumentType::Invoice => "creada",
            _ => "creado",
        }
    };
    let amount = super::money::format_amount(
        document.total,
        document.currency.as_deref().unwrap_or("EUR"),
    );
    format!("{kind}{number} {verb} en Holded por {amount}")
}

#[cfg(test)]
mod tests {
    use super::*;

    use rust_decimal_macros::dec;

    fn document(doc_type: DocumentType, number: Option<&str>) -> Document {
        Document {
            id: "d1".into(),
            doc_type,
            number: number.map(str::to_owned),
            contact_id: None,
            contact_name: None,
            description: None,
            date: None,
            notes: None,
            lines: Some(Vec::new()),
            subtotal: dec!(1000),
            tax: dec!(210),
            total: dec!(1210),
            currency: Some("eur".into()),
            draft: Some(true),
            billing: Default::default(),
        }
    }

    #[test]
    fn titles_read_as_spanish() {
        assert_eq!(
            step_title(&document(DocumentType::Estimate, Some("E260012")), false),
            "Presupuesto E260012 creado en Holded por 1.210,00 €"
        );
        assert_eq!(
            step_title(&document(DocumentType::Invoice, None), false),
            "Factura (borrador) creada en Holded por 1.210,00 €"
        );
        assert_eq!(
            step_title(&document(DocumentType::Waybill, Some("A260001")), true),
            "Albarán A260001 recuperado en Holded por 1.210,00 €"
        );
    }

    #[test]
    fn the_marker_names_the_deal_of_its_portal_and_type() {
        let text = notes("Reforma «Bar Galicia»", "hh-40000002-10173-invoice");
        assert_eq!(
            deal_of(&text, 40000002, DocumentType::Invoice).as_deref(),
            Some("10173")
        );
        assert_eq!(deal_of(&text, 40000003, DocumentType::Invoice), None);
        assert_eq!(deal_of(&text, 40000002, DocumentType::Estimate), None);
        assert_eq!(
            deal_of("pedido hh-40000002-", 40000002, DocumentType::Invoice),
            None
        );
    }
}
