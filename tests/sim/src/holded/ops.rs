//! Operations shared by both API generations: inserting records (ids,
//! numbers, timestamps) and reading loosely typed request values.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    model::{SimContact, SimDocType, SimDocument, SimPayment, SimProduct, short_year, tax},
    state::{Account, State},
};

/// Adds a contact (new id, created/updated now); returns its id.
pub fn insert_contact(state: &mut State, account_id: &str, mut contact: SimContact) -> String {
    let now = state.now().timestamp();
    contact.id = state.new_id();
    contact.created_at = now;
    contact.updated_at = now;
    let id = contact.id.clone();
    if let Some(account) = state.accounts.get_mut(account_id) {
        account.contacts.push(contact);
    }
    id
}

/// Adds a product; returns its id.
pub fn insert_product(state: &mut State, account_id: &str, mut product: SimProduct) -> String {
    product.id = state.new_id();
    let id = product.id.clone();
    if let Some(account) = state.accounts.get_mut(account_id) {
        account.products.push(product);
    }
    id
}

/// Adds a document (created now unless it says when); with `numbered`, it
/// takes the next number of its type (`F260001`), else it has none (a v2
/// draft gets its fiscal number when it is approved). Returns (id, number;
/// empty when none).
pub fn insert_document(
    state: &mut State,
    account_id: &str,
    mut document: SimDocument,
    numbered: bool,
) -> (String, String) {
    document.id = state.new_id();
    if document.created_at == 0 {
        document.created_at = state.now().timestamp();
    }
    let Some(account) = state.accounts.get_mut(account_id) else {
        return (document.id, document.number);
    };
    if numbered {
        number_document(account, &mut document);
    }
    let reply = (document.id.clone(), document.number.clone());
    account.documents.push(document);
    reply
}

/// Gives a document the next number of its type in its year (`F260001`).
fn number_document(account: &mut Account, document: &mut SimDocument) {
    let counter = &mut account.last_numbers[document.doc_type.index()];
    *counter += 1;
    document.number = format!(
        "{}{:02}{:04}",
        document.doc_type.prefix(),
        short_year(document.date),
        counter
    );
}

/// Approves (issues) a document as a user does in Holded: a draft without a
/// number takes the next one. Returns the document as it is now; `None` if
/// there is no such document.
pub fn approve_document(
    state: &mut State,
    account_id: &str,
    document_id: &str,
) -> Option<SimDocument> {
    let now = state.now().timestamp();
    let account = state.accounts.get_mut(account_id)?;
    let i = Account::position(&account.documents, document_id, |d| &d.id)?;
    let mut document = account.documents[i].clone();
    if document.draft {
        if document.number.is_empty() {
            number_document(account, &mut document);
        }
        document.draft = false;
        document.approved_at = Some(now);
        account.documents[i] = document.clone();
    }
    Some(document)
}

/// Registers a payment of `amount` dated `date` (Unix seconds) against a
/// document of `doc_type`, as Holded does for invoices (v1 `…/pay`, v2
/// `…/payments`). Returns the document as it is now and the payment id, or
/// why not (no such document, an amount that is not positive).
pub fn pay_document(
    state: &mut State,
    account_id: &str,
    doc_type: SimDocType,
    document_id: &str,
    amount: Decimal,
    date: i64,
) -> Result<(SimDocument, String), String> {
    if amount <= Decimal::ZERO {
        return Err("amount must be greater than 0".to_owned());
    }
    let payment_id = state.new_id();
    let account = state
        .accounts
        .get_mut(account_id)
        .ok_or("Document not found")?;
    let document = account
        .documents
        .iter_mut()
        .find(|d| d.id == document_id && d.doc_type == doc_type)
        .ok_or("Document not found")?;
    document.collection.payments.push(SimPayment {
        id: payment_id.clone(),
        amount,
        date,
    });
    Ok((document.clone(), payment_id))
}

/// Cancels (anula) an invoice as v2 `POST /invoices/{id}/cancel` does.
pub fn cancel_document(
    state: &mut State,
    account_id: &str,
    doc_type: SimDocType,
    document_id: &str,
) -> Option<SimDocument> {
    let document = state
        .accounts
        .get_mut(account_id)?
        .documents
        .iter_mut()
        .find(|d| d.id == document_id && d.doc_type == doc_type)?;
    document.collection.cancelled = true;
    Some(document.clone())
}

/// A new contact created from a document's `contactName` (Holded creates one every time).
pub fn contact_from_name(state: &mut State, account_id: &str, name: &str) -> String {
    let contact = SimContact {
        name: name.to_owned(),
        kind: "client".to_owned(),
        ..Default::default()
    };
    insert_contact(state, account_id, contact)
}

/// Text of a request value (strings, and numbers as text); empty is none.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A decimal from a number or numeric text; `Err` names what is wrong.
pub fn decimal(value: Option<&Value>, field: &str) -> Result<Option<Decimal>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .map(Some)
            .map_err(|_| format!("{field} must be a number")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Decimal::from_str(s.trim())
            .map(Some)
            .map_err(|_| format!("{field} must be a number")),
        Some(_) => Err(format!("{field} must be a number")),
    }
}

/// A boolean from `true`/`false`, `1`/`0` or their text.
pub fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_i64() != Some(0)),
        Value::String(s) => Some(s == "true" || s == "1"),
        _ => None,
    }
}

/// A list of text values.
pub fn texts(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|v| text(Some(v))).collect(),
        _ => Vec::new(),
    }
}

/// Checks tax keys exist in the catalogue; returns the first unknown one.
pub fn unknown_tax(keys: &[String]) -> Option<&String> {
    keys.iter().find(|k| tax(k).is_none())
}

/// A JSON number for a decimal, as Holded v1 renders amounts.
pub fn number(value: Decimal) -> Value {
    let text = value.normalize().to_string();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// A decimal string as v2 renders amounts (`"12.50"` keeps its scale).
pub fn money(value: Decimal) -> Value {
    Value::String(value.to_string())
}

/// One page (1-based) of an iterator.
pub fn page<T>(items: impl Iterator<Item = T>, page: usize, size: usize) -> Vec<T> {
    items
        .skip(page.saturating_sub(1).saturating_mul(size))
        .take(size)
        .collect()
}

/// The document list filters both generations share: one contact, and an
/// issue-date window (Unix seconds, both ends included).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentFilter {
    /// Only this contact's documents.
    pub contact_id: Option<String>,
    /// Dated at or after.
    pub from: Option<i64>,
    /// Dated at or before.
    pub to: Option<i64>,
}

impl DocumentFilter {
    /// Whether `document` passes.
    pub fn keeps(&self, document: &SimDocument) -> bool {
        self.contact_id
            .as_deref()
            .is_none_or(|id| document.contact_id.as_deref() == Some(id))
            && self.from.is_none_or(|from| document.date >= from)
            && self.to.is_none_or(|to| document.date <= to)
    }
}
