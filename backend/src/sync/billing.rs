//! Approval, number and payments of a deal's Holded document: the status
//! (borrador / emitida / cobrada parcialmente / cobrada / vencida / anulada),
//! amounts paid and pending, due date and last payment as deal properties,
//! and each change as a step on the deal's timeline («Factura F260012
//! aprobada», «Cobro de 500,00 € registrado (pendiente 710,00 €)», «Factura
//! F260012 cobrada»). Overdue is the due date passed in the portal's time
//! zone with something left to pay. The last state told is kept per document,
//! so a step is told once, and a document seen for the first time tells none.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{SyncError, context::RunContext, mapping::midnight_utc_millis};
use crate::{
    deals::{
        money::format_amount,
        timeline::{Step, Timeline},
    },
    holded::{Document, DocumentType},
    hubspot::{ObjectType, Properties},
    install::manifest::Manifest,
    store::document_states::DocumentState,
};

/// A document's status as the deal shows it (`holded_estado_documento`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not approved yet.
    Borrador,
    /// Approved (issued), nothing paid.
    Emitida,
    /// Part paid.
    CobradaParcialmente,
    /// Paid in full.
    Cobrada,
    /// Due date passed with something left to pay.
    Vencida,
    /// Cancelled.
    Anulada,
}

impl Status {
    /// The property's value.
    pub fn value(self) -> &'static str {
        match self {
            Self::Borrador => "borrador",
            Self::Emitida => "emitida",
            Self::CobradaParcialmente => "cobrada_parcialmente",
            Self::Cobrada => "cobrada",
            Self::Vencida => "vencida",
            Self::Anulada => "anulada",
        }
    }

    /// Its Spanish label: the option's label in the properties manifest
    /// (`hubspot-app/crm-properties.json`), as HubSpot shows it.
    pub fn label(self) -> &'static str {
        Manifest::get()
            .objects
            .iter()
            .filter(|(object, _)| *object == ObjectType::Deals)
            .flat_map(|(_, properties)| properties)
            .filter(|p| p.name == "holded_estado_documento")
            .flat_map(|p| &p.options)
            .find(|o| o.value == self.value())
            .map_or(self.value(), |o| o.label.as_str())
    }

    /// The status of a stored value.
    pub fn from_value(value: &str) -> Option<Self> {
        [
            Self::Borrador,
            Self::Emitida,
            Self::CobradaParcialmente,
            Self::Cobrada,
            Self::Vencida,
            Self::Anulada,
        ]
        .into_iter()
        .find(|s| s.value() == value)
    }
}

/// Whether the document's payments are followed (invoices are what is paid).
fn collected(doc_type: DocumentType) -> bool {
    doc_type == DocumentType::Invoice
}

/// What is left to pay: Holded's figure, else total − paid; never negative.
fn pending(document: &Document) -> Decimal {
    document
        .billing
        .pending
        .unwrap_or(document.total - document.billing.paid)
        .max(Decimal::ZERO)
}

/// The status of `document` on `today` (the portal's calendar day).
pub fn status(document: &Document, today: NaiveDate) -> Status {
    let billing = &document.billing;
    if billing.cancelled {
        return Status::Anulada;
    }
    if !document.issued() {
        return Status::Borrador;
    }
    if !collected(document.doc_type) {
        return Status::Emitida;
    }
    let pending = pending(document);
    if pending.is_zero() && document.total > Decimal::ZERO {
        Status::Cobrada
    } else if billing.due_date.is_some_and(|due| due < today) && pending > Decimal::ZERO {
        Status::Vencida
    } else if billing.paid > Decimal::ZERO {
        Status::CobradaParcialmente
    } else {
        Status::Emitida
    }
}

/// The deal properties of the document's status and payments.
pub fn billing_properties(document: &Document, today: NaiveDate) -> Properties {
    let mut props = Properties::new();
    props.insert(
        "holded_estado_documento".to_owned(),
        status(document, today).value().to_owned(),
    );
    if collected(document.doc_type) {
        let billing = &document.billing;
        props.insert(
            "holded_importe_cobrado".to_owned(),
            billing.paid.normalize().to_string(),
        );
        props.insert(
            "holded_importe_pendiente".to_owned(),
            pending(document).normalize().to_string(),
        );
        if let Some(due) = billing.due_date {
            props.insert(
                "holded_fecha_vencimiento".to_owned(),
                midnight_utc_millis(due),
            );
        }
        if let Some(paid_on) = billing.last_payment {
            props.insert(
                "holded_fecha_ultimo_cobro".to_owned(),
                midnight_utc_millis(paid_on),
            );
        }
    }
    props
}

/// The state of `document` to compare the next one with.
pub fn state_of(document: &Document, today: NaiveDate) -> DocumentState {
    DocumentState {
        holded_id: document.id.clone(),
        doc_type: document.doc_type.v1_name().to_owned(),
        number: document.number.clone().filter(|n| !n.is_empty()),
        status: status(document, today).value().to_owned(),
        paid: document.billing.paid,
        pending: pending(document),
        currency: document.currency.clone().unwrap_or_default(),
    }
}

/// «Factura F260012» (the type alone while it has no number).
fn named(state: &DocumentState) -> String {
    let kind =
        DocumentType::from_v1_name(&state.doc_type).map_or("Documento", |t| t.spanish_name());
    match &state.number {
        Some(number) => format!("{kind} {number}"),
        None => kind.to_owned(),
    }
}

/// A participle agreeing with the document type's gender (factura and
/// proforma are feminine; presupuesto, albarán and pedido masculine).
fn agreed(state: &DocumentState, feminine: &'static str, masculine: &'static str) -> &'static str {
    match DocumentType::from_v1_name(&state.doc_type) {
        Some(DocumentType::Invoice | DocumentType::Proform) => feminine,
        _ => masculine,
    }
}

/// What changed between what was told (`before`) and `after`, as timeline
/// titles, in the order they happened.
pub fn changes(before: &DocumentState, after: &DocumentState) -> Vec<String> {
    let (was, is) = (
        Status::from_value(&before.status),
        Status::from_value(&after.status),
    );
    let mut titles = Vec::new();
    if was == Some(Status::Borrador) && !matches!(is, Some(Status::Borrador | Status::Anulada)) {
        titles.push(format!(
            "{} {}",
            named(after),
            agreed(after, "aprobada", "aprobado")
        ));
    }
    if after.paid > before.paid {
        titles.push(format!(
            "Cobro de {} registrado (pendiente {})",
            format_amount(after.paid - before.paid, &after.currency),
            format_amount(after.pending, &after.currency)
        ));
    }
    let became = |status: Status| is == Some(status) && was != Some(status);
    if became(Status::Cobrada) {
        titles.push(format!(
            "{} {}",
            named(after),
            agreed(after, "cobrada", "cobrado")
        ));
    }
    if became(Status::Vencida) {
        titles.push(format!(
            "{} {}",
            named(after),
            agreed(after, "vencida", "vencido")
        ));
    }
    if became(Status::Anulada) {
        titles.push(format!(
            "{} {}",
            named(after),
            agreed(after, "anulada", "anulado")
        ));
    }
    titles
}

/// Tells on each deal what changed in its document since last told, then
/// keeps the new states: `(deal id, state, link to the document)`.
pub async fn announce(
    ctx: &RunContext<'_>,
    written: Vec<(String, DocumentState, String)>,
) -> Result<(), SyncError> {
    if written.is_empty() || ctx.dry_run {
        return Ok(());
    }
    let ids: Vec<String> = written
        .iter()
        .map(|(_, s, _)| s.holded_id.clone())
        .collect();
    let told = ctx.store.document_states(ctx.portal_id, &ids).await?;
    let timeline = Timeline {
        channel: ctx.timeline,
        client: ctx.hubspot,
        store: ctx.store,
    };
    for (deal_id, state, link) in &written {
        let Some(before) = told.get(&state.holded_id) else {
            continue;
        };
        for title in changes(before, state) {
            let step = Step {
                deal_id: deal_id.clone(),
                title,
                detail: None,
                link: Some(link.clone()),
                ok: true,
            };
            if let Err(err) = timeline.write(&step, None).await {
                tracing::warn!(portal_id = ctx.portal_id, deal = %deal_id, error = %err, "timeline step not written");
            }
        }
    }
    let states: Vec<DocumentState> = written.into_iter().map(|(_, s, _)| s).collect();
    ctx.store
        .save_document_states(ctx.portal_id, &states)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::holded::Billing;
    use rust_decimal_macros::dec;

    fn invoice(paid: Decimal, due: Option<NaiveDate>) -> Document {
        Document {
            id: "f1".into(),
            doc_type: DocumentType::Invoice,
            number: Some("F260012".into()),
            contact_id: None,
            contact_name: None,
            description: None,
            date: None,
            notes: None,
            lines: None,
            subtotal: dec!(1000),
            tax: dec!(210),
            total: dec!(1210),
            currency: Some("eur".into()),
            draft: Some(false),
            billing: Billing {
                paid,
                pending: Some(dec!(1210) - paid),
                due_date: due,
                ..Default::default()
            },
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn statuses_follow_approval_payments_due_date_and_cancellation() {
        let today = day(7);
        let mut draft = invoice(dec!(0), None);
        draft.draft = Some(true);
        draft.number = None;
        assert_eq!(status(&draft, today), Status::Borrador);
        assert_eq!(
            status(&invoice(dec!(0), Some(day(30))), today),
            Status::Emitida
        );
        assert_eq!(
            status(&invoice(dec!(500), Some(day(30))), today),
            Status::CobradaParcialmente
        );
        assert_eq!(
            status(&invoice(dec!(500), Some(day(6))), today),
            Status::Vencida
        );
        assert_eq!(
            status(&invoice(dec!(0), Some(day(7))), today),
            Status::Emitida
        );
        assert_eq!(
            status(&invoice(dec!(1210), Some(day(1))), today),
            Status::Cobrada
        );
        let mut cancelled = invoice(dec!(0), None);
        cancelled.billing.cancelled = true;
        assert_eq!(status(&cancelled, today), Status::Anulada);
        assert_eq!(Status::CobradaParcialmente.label(), "Cobrada parcialmente");
        let props = billing_properties(&invoice(dec!(500), Some(day(30))), today);
        assert_eq!(props["holded_importe_cobrado"], "500");
        assert_eq!(props["holded_importe_pendiente"], "710");
        assert_eq!(props["holded_estado_documento"], "cobrada_parcialmente");
    }

    #[test]
    fn changes_are_told_in_spanish_to_the_cent() {
        let today = day(7);
        let mut draft = invoice(dec!(0), Some(day(30)));
        draft.draft = Some(true);
        let draft = state_of(&draft, today);
        let issued = state_of(&invoice(dec!(0), Some(day(30))), today);
        let part = state_of(&invoice(dec!(500), Some(day(30))), today);
        let paid = state_of(&invoice(dec!(1210), Some(day(30))), today);
        assert_eq!(changes(&draft, &issued), ["Factura F260012 aprobada"]);
        assert_eq!(
            changes(&issued, &part),
            ["Cobro de 500,00 € registrado (pendiente 710,00 €)"]
        );
        assert_eq!(
            changes(&part, &paid),
            [
                "Cobro de 710,00 € registrado (pendiente 0,00 €)",
                "Factura F260012 cobrada"
            ]
        );
        assert!(changes(&paid, &paid).is_empty());
    }
}
