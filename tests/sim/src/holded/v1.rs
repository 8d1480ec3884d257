//! API v1 (`/api/invoicing/v1`, header `key`): camelCase, JSON numbers, Unix
//! seconds, bare-array pages of a fixed size, `{status, info}` bodies, HTML
//! with HTTP 200 for unknown routes, partial PUT.

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::{
    faults::ListFault,
    http::{Reply, SimRequest},
    model::{
        Listed, SimAddress, SimCollection, SimContact, SimDocType, SimDocument, SimLine,
        SimProduct, TAXES, TaxGroup, iva_key,
    },
    ops::{self, decimal, flag, number, text, texts},
    state::{Account, State},
};

fn status0(http: u16, info: &str) -> Reply {
    Reply::json(http, json!({"status": 0, "info": info}))
}

/// Handles a v1 call (`segments` after the prefix); a list is bent as `list`
/// says (a fault).
pub fn handle(
    state: &mut State,
    req: &SimRequest,
    segments: &[&str],
    fault: Option<ListFault>,
) -> Reply {
    let account_id = match req.key.as_deref() {
        None => return Reply::json(401, json!({"status": 401})),
        Some(key) if key.starts_with("pat_") => return status0(400, "Invalid key"),
        Some(key) => match state.v1_keys.get(key) {
            Some(account) => account.clone(),
            None => return Reply::json(401, json!({"status": 401})),
        },
    };
    // v1 calls count against the account's v2 monthly quota (S-SPIKE §5).
    if !state.count_usage(&account_id, "api_v1_legacy_1") {
        return Reply::quota_exceeded(state.settings.monthly_limit, &state.period());
    }
    let page = req
        .param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    // A repeated page: page N answers with page N − 1 once more.
    let page = if fault == Some(ListFault::RepeatPage) {
        page - 1
    } else {
        page
    };
    let asked = req.param("limit").and_then(|l| l.parse::<usize>().ok());
    let size = match asked {
        Some(limit) if state.settings.v1_honours_limit => limit.clamp(1, 500),
        _ => state.settings.v1_page_size,
    };
    let body = match req.method.as_str() {
        "POST" | "PUT" => match req.json() {
            Ok(Value::Object(map)) => map,
            Ok(_) | Err(_) => return status0(400, "Invalid JSON body"),
        },
        _ => Map::new(),
    };
    let Some(account) = state.accounts.get(&account_id) else {
        return Reply::json(401, json!({"status": 401}));
    };
    match (req.method.as_str(), segments) {
        ("GET", ["contacts"]) => {
            let wanted_ids: Vec<&str> = req
                .param("customId")
                .map(|ids| ids.split(',').collect())
                .unwrap_or_default();
            // Holded ignores parameters it does not know (a setting makes
            // the simulated one ignore these too).
            let ignored = state.settings.ignore_contact_filters;
            let keep = |c: &&SimContact| {
                ignored
                    || (same(req.param("phone"), &c.phone)
                        && same(req.param("mobile"), &c.mobile)
                        && (wanted_ids.is_empty()
                            || c.custom_id
                                .as_deref()
                                .is_some_and(|id| wanted_ids.contains(&id))))
            };
            let items = listed(account.contacts.iter().filter(keep), fault, page, size);
            list(items, contact_json)
        }
        ("GET", ["contacts", id]) => match Account::find(&account.contacts, id, |c| &c.id) {
            Some(c) => Reply::json(200, contact_json(c)),
            None => status0(404, "Contact not found"),
        },
        ("POST", ["contacts"]) => create_contact(state, &account_id, &body),
        ("PUT", ["contacts", id]) => update_contact(state, &account_id, id, &body),
        ("GET", ["products"]) => list(
            listed(account.products.iter(), fault, page, size),
            product_json,
        ),
        ("GET", ["products", id]) => match Account::find(&account.products, id, |p| &p.id) {
            Some(p) => Reply::json(200, product_json(p)),
            None => status0(404, "Product not found"),
        },
        ("POST", ["products"]) => create_product(state, &account_id, &body),
        ("GET", ["documents", kind]) => match SimDocType::from_v1(kind) {
            Some(t) => match document_filter(req) {
                Ok(filter) => list(
                    listed(
                        account.documents_of(t).filter(|d| filter.keeps(d)),
                        fault,
                        page,
                        size,
                    ),
                    document_json,
                ),
                Err(reply) => reply,
            },
            None => Reply::html(),
        },
        ("GET", ["documents", kind, id]) => match SimDocType::from_v1(kind) {
            Some(t) => match account.documents_of(t).find(|d| d.id == *id) {
                Some(d) => Reply::json(200, document_json(d)),
                None => status0(404, "Document not found"),
            },
            None => Reply::html(),
        },
        ("POST", ["documents", kind]) => match SimDocType::from_v1(kind) {
            Some(t) => create_document(state, &account_id, t, &body),
            None => Reply::html(),
        },
        // §4.2: `POST /{docType}/{id}/pay {date (req), amount (req), treasury, desc}`.
        ("POST", ["documents", kind, id, "pay"]) => match SimDocType::from_v1(kind) {
            Some(t) => pay(state, &account_id, t, id, &body),
            None => Reply::html(),
        },
        ("GET", ["taxes"]) => Reply::json(200, taxes_json()),
        ("GET", ["numberingseries", kind]) => match SimDocType::from_v1(kind) {
            Some(t) => Reply::json(200, json!([series_json(account, t)])),
            None => Reply::json(200, json!([])),
        },
        _ => Reply::html(),
    }
}

fn pay(
    state: &mut State,
    account_id: &str,
    doc_type: SimDocType,
    id: &str,
    body: &Map<String, Value>,
) -> Reply {
    let (Some(date), Ok(Some(amount))) = (
        body.get("date").and_then(Value::as_i64),
        decimal(body.get("amount"), "amount"),
    ) else {
        return status0(400, "date and amount are required");
    };
    match ops::pay_document(state, account_id, doc_type, id, amount, date) {
        Ok((document, payment_id)) => Reply::json(
            200,
            json!({"status": 1, "invoiceId": document.id, "invoiceNum": document.number, "paymentId": payment_id}),
        ),
        Err(e) => status0(404, &e),
    }
}

/// `contactid`, and `starttmp` with `endtmp` (Unix seconds on the document
/// date; one without the other is refused, as Holded does).
fn document_filter(req: &SimRequest) -> Result<ops::DocumentFilter, Reply> {
    let seconds = |name: &str| req.param(name).map(|v| v.parse::<i64>());
    let (from, to) = match (seconds("starttmp"), seconds("endtmp")) {
        (None, None) => (None, None),
        (Some(Ok(from)), Some(Ok(to))) => (Some(from), Some(to)),
        _ => return Err(status0(400, "Query params starttmp & endtmp are mandatory")),
    };
    Ok(ops::DocumentFilter {
        contact_id: req.param("contactid").map(str::to_owned),
        from,
        to,
    })
}

fn same(filter: Option<&str>, field: &Option<String>) -> bool {
    filter.is_none_or(|f| field.as_deref() == Some(f))
}

/// One page of `items` as a list answered under `fault` shows them.
fn listed<'a, T: Listed>(
    items: impl Iterator<Item = &'a T>,
    fault: Option<ListFault>,
    page: usize,
    size: usize,
) -> Vec<&'a T> {
    ops::page(items.filter(|r| ListFault::shows(fault, *r)), page, size)
}

fn list<T>(items: Vec<&T>, render: fn(&T) -> Value) -> Reply {
    Reply::json(200, Value::Array(items.into_iter().map(render).collect()))
}

/// Postal codes are integers in v1 examples: digits-only codes lose their leading zeros.
fn postal_code_json(code: &Option<String>) -> Value {
    match code {
        Some(c) if !c.is_empty() && c.chars().all(|ch| ch.is_ascii_digit()) => c
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| json!(c)),
        other => json!(other.clone().unwrap_or_default()),
    }
}

fn or_empty(value: &Option<String>) -> Value {
    json!(value.clone().unwrap_or_default())
}

/// A contact as v1 renders it.
pub fn contact_json(c: &SimContact) -> Value {
    let a = &c.bill_address;
    json!({
        "id": c.id, "customId": or_empty(&c.custom_id), "name": c.name, "code": or_empty(&c.code),
        "vatnumber": or_empty(&c.vat_number), "tradeName": or_empty(&c.trade_name),
        "email": or_empty(&c.email), "mobile": or_empty(&c.mobile), "phone": or_empty(&c.phone),
        "type": c.kind, "isperson": c.is_person, "groupId": "",
        "iban": or_empty(&c.iban), "swift": or_empty(&c.swift),
        "clientRecord": 0, "supplierRecord": 0,
        "billAddress": {
            "address": or_empty(&a.address), "city": or_empty(&a.city),
            "postalCode": postal_code_json(&a.postal_code), "province": or_empty(&a.province),
            "country": or_empty(&a.country), "countryCode": or_empty(&a.country_code), "info": "",
        },
        "defaults": {"salesChannel": 0, "expensesAccount": 0, "dueDays": 0, "paymentMethod": 0,
                     "discount": 0, "language": "es", "currency": "eur", "tax": "default", "retention": "default"},
        "socialNetworks": {"website": or_empty(&c.website)},
        "tags": c.tags, "notes": [], "contactPersons": [], "shippingAddresses": [], "customFields": [],
        "createdAt": c.created_at, "updatedAt": c.updated_at,
    })
}

fn address_from(body: &Map<String, Value>) -> Option<SimAddress> {
    let a = body.get("billAddress")?.as_object()?;
    Some(SimAddress {
        address: text(a.get("address")),
        city: text(a.get("city")),
        postal_code: text(a.get("postalCode")),
        province: text(a.get("province")),
        country: text(a.get("country")),
        country_code: text(a.get("countryCode")),
    })
}

/// Applies the fields present in a v1 body (partial update semantics). Fields
/// the spec documents for create only (`CustomId`, `tags`) and `socialNetworks`
/// (ignored on update, live-verified) change only when creating.
fn apply_contact(c: &mut SimContact, body: &Map<String, Value>, creating: bool) {
    let fields: [(&str, &mut Option<String>); 8] = [
        ("code", &mut c.code),
        ("vatnumber", &mut c.vat_number),
        ("tradeName", &mut c.trade_name),
        ("email", &mut c.email),
        ("phone", &mut c.phone),
        ("mobile", &mut c.mobile),
        ("iban", &mut c.iban),
        ("swift", &mut c.swift),
    ];
    for (key, slot) in fields {
        if body.contains_key(key) {
            *slot = text(body.get(key));
        }
    }
    if let Some(name) = text(body.get("name")) {
        c.name = name;
    }
    if let Some(kind) = text(body.get("type")) {
        c.kind = kind;
    }
    if let Some(is_person) = flag(body.get("isperson")) {
        c.is_person = is_person;
    }
    if let Some(address) = address_from(body) {
        c.bill_address = address;
    }
    if creating {
        c.custom_id = text(body.get("CustomId"));
        c.tags = texts(body.get("tags"));
        c.website = body
            .get("socialNetworks")
            .and_then(|s| text(s.get("website")));
    }
}

fn create_contact(state: &mut State, account_id: &str, body: &Map<String, Value>) -> Reply {
    if text(body.get("name")).is_none() {
        return status0(400, "name needed");
    }
    let mut contact = SimContact {
        kind: "client".to_owned(),
        ..Default::default()
    };
    apply_contact(&mut contact, body, true);
    let id = ops::insert_contact(state, account_id, contact);
    Reply::json(201, json!({"status": 1, "info": "Created", "id": id}))
}

fn update_contact(
    state: &mut State,
    account_id: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Reply {
    let now = state.now().timestamp();
    let Some(account) = state.accounts.get_mut(account_id) else {
        return status0(404, "Contact not found");
    };
    let Some(i) = Account::position(&account.contacts, id, |c| &c.id) else {
        return status0(404, "Contact not found");
    };
    let contact = &mut account.contacts[i];
    apply_contact(contact, body, false);
    contact.updated_at = now;
    Reply::json(200, json!({"status": 1, "info": "Updated", "id": id}))
}

/// A product as v1 renders it (an unknown cost comes as `""`).
pub fn product_json(p: &SimProduct) -> Value {
    let vat: Decimal = p
        .taxes
        .iter()
        .filter_map(|k| super::model::tax(k))
        .filter(|t| t.group == TaxGroup::Iva)
        .map(|t| t.rate)
        .sum();
    let total = super::model::cents(p.price * (Decimal::ONE_HUNDRED + vat) / Decimal::ONE_HUNDRED);
    json!({
        "id": p.id, "kind": "simple", "name": p.name, "desc": or_empty(&p.description),
        "typeId": "", "contactId": "", "contactName": "",
        "price": number(p.price), "tax": number(vat), "total": number(total), "taxes": p.taxes,
        "rates": [], "hasStock": 1, "stock": number(p.stock),
        "barcode": or_empty(&p.barcode), "sku": or_empty(&p.sku),
        "cost": p.cost.map_or(json!(""), number), "purchasePrice": 0, "weight": 0,
        "tags": [], "categoryId": "", "factoryCode": "", "attributes": [],
        "forSale": 1, "forPurchase": 0, "salesChannelId": "", "expAccountId": "", "warehouseId": "",
        "variants": [],
    })
}

fn create_product(state: &mut State, account_id: &str, body: &Map<String, Value>) -> Reply {
    let Some(name) = text(body.get("name")) else {
        return status0(400, "name needed");
    };
    let price = match decimal(body.get("price"), "price") {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return status0(400, &e),
    };
    let taxes = match decimal(body.get("tax"), "tax") {
        Ok(Some(rate)) => match iva_key(rate) {
            Some(key) => vec![key.to_owned()],
            None => return status0(400, "Invalid tax"),
        },
        Ok(None) => Vec::new(),
        Err(e) => return status0(400, &e),
    };
    let product = SimProduct {
        name,
        description: text(body.get("desc")),
        sku: text(body.get("sku")),
        barcode: text(body.get("barcode")),
        price,
        taxes,
        cost: decimal(body.get("cost"), "cost").ok().flatten(),
        ..Default::default()
    };
    let id = ops::insert_product(state, account_id, product);
    Reply::json(201, json!({"status": 1, "info": "Created", "id": id}))
}

/// A document as v1 renders it: contact id as `contact`, lines as `products[]` with `price`.
pub fn document_json(d: &SimDocument) -> Value {
    let totals = d.totals();
    let products: Vec<Value> = d
        .lines
        .iter()
        .map(|l| {
            json!({
                "name": l.name, "desc": or_empty(&l.description), "price": number(l.price),
                "units": number(l.units), "discount": number(l.discount),
                "tax": number(l.rate(TaxGroup::Iva)), "retention": number(l.rate(TaxGroup::Retencion)),
                "taxes": l.taxes, "sku": or_empty(&l.sku), "productId": or_empty(&l.product_id),
                "weight": 0, "costPrice": 0,
            })
        })
        .collect();
    json!({
        "id": d.id, "contact": d.contact_id, "contactName": d.contact_name,
        "desc": or_empty(&d.description), "date": d.date, "dueDate": d.collection.due_date,
        "notes": or_empty(&d.notes), "products": products,
        "tax": number(totals.tax), "subtotal": number(totals.subtotal), "discount": 0,
        "total": number(totals.total), "language": "es", "status": v1_status(d), "draft": d.draft,
        "customFields": [], "tags": [], "docNumber": d.number, "currency": d.currency,
        "currencyChange": 1, "paymentsTotal": number(d.paid()), "paymentsPending": number(d.pending()),
        "paymentsRefunds": 0, "approvedAt": d.approved_at,
        "paymentsDetail": d.collection.payments.iter().map(|p| json!({
            "id": p.id, "amount": number(p.amount), "date": p.date,
        })).collect::<Vec<_>>(),
    })
}

/// v1 `status` (§4.4, the HC reference table): 0 draft, 1 issued, 2
/// partially paid, 3 paid, 5 cancelled (overdue, 4, is left to the reader).
fn v1_status(d: &SimDocument) -> u8 {
    if d.collection.cancelled {
        5
    } else if d.draft {
        0
    } else if d.paid() > Decimal::ZERO && d.pending().is_zero() {
        3
    } else if d.paid() > Decimal::ZERO {
        2
    } else {
        1
    }
}

fn line_from(item: &Value, index: usize) -> Result<SimLine, String> {
    let field = |name: &str| format!("items[{index}].{name}");
    let mut taxes = texts(item.get("taxes"));
    if taxes.is_empty()
        && let Some(rate) = decimal(item.get("tax"), &field("tax"))?
    {
        taxes.push(
            iva_key(rate)
                .ok_or_else(|| format!("Invalid tax {rate}"))?
                .to_owned(),
        );
    }
    if let Some(unknown) = ops::unknown_tax(&taxes) {
        return Err(format!("Tax not found: {unknown}"));
    }
    Ok(SimLine {
        name: text(item.get("name")).unwrap_or_default(),
        description: text(item.get("desc")),
        units: decimal(item.get("units"), &field("units"))?.unwrap_or(Decimal::ONE),
        // v1 reads the unit price from `subtotal`; a `price` key is not read on write.
        price: decimal(item.get("subtotal"), &field("subtotal"))?.unwrap_or_default(),
        discount: decimal(item.get("discount"), &field("discount"))?.unwrap_or_default(),
        taxes,
        product_id: text(item.get("productId")),
        sku: text(item.get("sku")),
    })
}

fn create_document(
    state: &mut State,
    account_id: &str,
    doc_type: SimDocType,
    body: &Map<String, Value>,
) -> Reply {
    let Some(date) = body
        .get("date")
        .and_then(|d| text(Some(d))?.parse::<i64>().ok())
    else {
        return status0(400, "date needed");
    };
    let lines = match body.get("items") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| line_from(item, i))
            .collect::<Result<Vec<_>, _>>(),
        _ => Ok(Vec::new()),
    };
    let lines = match lines {
        Ok(lines) => lines,
        Err(e) => return status0(400, &e),
    };
    let Some(account) = state.accounts.get(account_id) else {
        return status0(400, "contactId needed");
    };
    let existing = |pred: &dyn Fn(&SimContact) -> bool| {
        account
            .contacts
            .iter()
            .find(|c| pred(c))
            .map(|c| (c.id.clone(), c.name.clone()))
    };
    let contact = if let Some(id) = text(body.get("contactId")) {
        match existing(&|c| c.id == id) {
            Some(found) => found,
            None => return status0(400, "Contact not found"),
        }
    } else if let Some(code) = text(body.get("contactCode")) {
        match existing(&|c| c.code.as_deref() == Some(code.as_str())) {
            Some(found) => found,
            None => return status0(400, "Contact not found"),
        }
    } else if let Some(name) = text(body.get("contactName")) {
        (ops::contact_from_name(state, account_id, &name), name)
    } else {
        return status0(400, "contactId needed");
    };
    let document = SimDocument {
        id: String::new(),
        doc_type,
        number: String::new(),
        contact_id: Some(contact.0.clone()),
        contact_name: Some(contact.1),
        description: text(body.get("desc")),
        notes: text(body.get("notes")),
        date,
        currency: text(body.get("currency")).map_or_else(|| "eur".to_owned(), |c| c.to_lowercase()),
        lines,
        created_at: 0,
        approved_at: None,
        collection: SimCollection {
            due_date: body.get("dueDate").and_then(Value::as_i64),
            ..Default::default()
        },
        draft: true,
    };
    let (id, number) = ops::insert_document(state, account_id, document, true);
    Reply::json(
        201,
        json!({"status": 1, "id": id, "invoiceNum": number, "contactId": contact.0}),
    )
}

/// The tax catalogue as v1 renders it.
pub fn taxes_json() -> Value {
    Value::Array(
        TAXES
            .iter()
            .map(|t| {
                json!({"name": t.name, "amount": t.rate.to_string(), "scope": "sales",
                       "key": t.key, "group": t.group, "type": "percentage"})
            })
            .collect(),
    )
}

/// The default numbering series of a type.
pub fn series_json(account: &Account, doc_type: SimDocType) -> Value {
    json!({
        "id": format!("5e{:022x}", doc_type.index() + 1),
        "name": "Predeterminada",
        "format": format!("{}[YY]%%%%", doc_type.prefix()),
        "last": account.last_numbers[doc_type.index()],
        "type": match doc_type {
            SimDocType::Salesorder => "salesOrder",
            other => other.v1(),
        },
    })
}
