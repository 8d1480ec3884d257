//! API v2 (`/api/v2`, `Authorization: Bearer pat_…`): snake_case, decimal
//! strings, ISO dates, `{items, cursor, has_more}` pages, RFC 7807 errors,
//! per-token permissions, 100 requests/minute, full-replacement PUT.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{
    faults::ListFault,
    http::{Reply, SimRequest},
    model::{
        Listed, SimAddress, SimCollection, SimContact, SimDocType, SimDocument, SimLine,
        SimProduct, TAXES, TaxGroup, iva_key, madrid_midnight,
    },
    ops::{self, decimal, flag, money, text, texts},
    state::{Account, SimSettings, State},
};

/// Handles a v2 call (`segments` after the prefix); a list is bent as `list`
/// says (a fault).
pub fn handle(
    state: &mut State,
    req: &SimRequest,
    segments: &[&str],
    list: Option<ListFault>,
) -> Reply {
    let Some(token) = req
        .authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return Reply::problem(401, "Invalid or missing API key.");
    };
    let Some(grant) = state.tokens.get(token).cloned() else {
        return Reply::problem(403, "Access denied.");
    };
    if !state.admit(token) {
        let limit = state.settings.v2_rate_limit_per_minute;
        return Reply::problem(
            429,
            &format!("Rate limit exceeded: {limit} requests per minute per API key."),
        );
    }
    let webhooks_api = state.settings.v2_webhooks_api;
    let Some((scope, operation)) = route(req.method.as_str(), segments, webhooks_api) else {
        return Reply::problem(404, "No route found.");
    };
    if !grant.permissions.contains(&scope) {
        return Reply::problem(403, &format!("Insufficient permissions: {scope} required."));
    }
    let account_id = grant.account_id;
    if !state.count_usage(&account_id, &operation) {
        return Reply::quota_exceeded(state.settings.monthly_limit, &state.period());
    }
    let body = match req.method.as_str() {
        "POST" | "PUT" => match req.json() {
            Ok(Value::Object(map)) => map,
            _ => return Reply::problem(400, "Request body must be a JSON object."),
        },
        _ => Map::new(),
    };
    let Some(account) = state.accounts.get(&account_id) else {
        return Reply::problem(403, "Access denied.");
    };
    match (req.method.as_str(), segments) {
        ("GET", ["contacts"]) => {
            let filters = contact_filters(req, &state.settings);
            let keep = |c: &SimContact| {
                filters.iter().all(|(f, v)| {
                    let field = match *f {
                        "phone" => &c.phone,
                        "mobile" => &c.mobile,
                        "email" => &c.email,
                        "custom_id" => &c.custom_id,
                        _ => &c.code,
                    };
                    field.as_deref() == Some(*v)
                })
            };
            paginate(req, &account.contacts, keep, contact_json, list)
        }
        ("GET", ["contacts", id]) => match Account::find(&account.contacts, id, |c| &c.id) {
            Some(c) => Reply::serialize(200, &contact_json(c)),
            None => Reply::problem(404, "Contact not found."),
        },
        ("POST", ["contacts"]) => {
            let mut contact = SimContact::default();
            match replace_contact(&mut contact, &body) {
                Ok(()) => Reply::json(
                    201,
                    json!({"id": ops::insert_contact(state, &account_id, contact)}),
                ),
                Err(e) => Reply::problem(422, &e),
            }
        }
        ("PUT", ["contacts", id]) => update_contact(state, &account_id, id, &body),
        ("GET", ["products"]) => paginate(req, &account.products, |_| true, product_json, list),
        ("GET", ["products", id]) => match Account::find(&account.products, id, |p| &p.id) {
            Some(p) => Reply::json(200, product_json(p)),
            None => Reply::problem(404, "Product not found."),
        },
        ("POST", ["products"]) => create_product(state, &account_id, &body),
        ("GET", ["taxes"]) => {
            let taxes: Vec<Value> = TAXES
                .iter()
                .map(|t| {
                    json!({"id": t.key, "name": t.name, "amount": t.rate.to_string(), "scope": "sales",
                           "group": t.group, "type": "percentage", "status": true})
                })
                .collect();
            Reply::json(
                200,
                json!({"items": taxes, "cursor": null, "has_more": false}),
            )
        }
        ("GET", ["numbering-series", kind]) => {
            let items = match SimDocType::from_v1(kind) {
                Some(t) => {
                    let mut s = super::v1::series_json(account, t);
                    s["refund_numbering_series_id"] = Value::Null;
                    s["verifactu_excluded"] = json!(false);
                    vec![s]
                }
                None => Vec::new(),
            };
            Reply::json(
                200,
                json!({"items": items, "cursor": null, "has_more": false}),
            )
        }
        ("GET", ["usage"]) => usage(state, &account_id),
        ("GET", [kind]) => match SimDocType::from_v2(kind) {
            Some(t) => match document_filter(req) {
                Ok(filter) => paginate(
                    req,
                    &account.documents,
                    |d| d.doc_type == t && filter.keeps(d),
                    document_list_item,
                    list,
                ),
                Err(reply) => reply,
            },
            None => Reply::problem(404, "No route found."),
        },
        ("GET", [kind, id]) => match SimDocType::from_v2(kind)
            .and_then(|t| account.documents_of(t).find(|d| d.id == *id))
        {
            Some(d) => Reply::json(200, document_json(d)),
            None => Reply::problem(404, "Document not found."),
        },
        ("POST", ["webhooks"]) => register_webhook(state, &account_id, &body),
        ("POST", [kind]) => match SimDocType::from_v2(kind) {
            Some(t) => create_document(state, &account_id, t, &body),
            None => Reply::problem(404, "No route found."),
        },
        // §4.5: payments `POST …/{id}/payments {amount, treasury_id, date, description}`
        // (invoices among the types simulated); `POST /invoices/{id}/cancel`.
        ("POST", ["invoices", id, "payments"]) => {
            let date = text(body.get("date"))
                .and_then(|t| NaiveDate::parse_from_str(t.get(..10)?, "%Y-%m-%d").ok())
                .map(madrid_midnight);
            match (decimal(body.get("amount"), "amount"), date) {
                (Ok(Some(amount)), Some(date)) => {
                    match ops::pay_document(
                        state,
                        &account_id,
                        SimDocType::Invoice,
                        id,
                        amount,
                        date,
                    ) {
                        Ok((_, payment)) => Reply::json(201, json!({"id": payment})),
                        Err(e) if e.contains("not found") => {
                            Reply::problem(404, "Document not found.")
                        }
                        Err(e) => Reply::problem(422, &format!("amount: {e}")),
                    }
                }
                _ => Reply::problem(422, "amount and date (YYYY-MM-DD) are required."),
            }
        }
        ("POST", ["invoices", id, "cancel"]) => {
            match ops::cancel_document(state, &account_id, SimDocType::Invoice, id) {
                Some(d) => Reply::json(200, json!({"id": d.id})),
                None => Reply::problem(404, "Document not found."),
            }
        }
        // §4.5: `POST …/{id}/approve` issues a draft (it takes its number).
        ("POST", [kind, id, "approve"]) => {
            let known = SimDocType::from_v2(kind)
                .is_some_and(|t| account.documents_of(t).any(|d| d.id == *id));
            match known
                .then(|| ops::approve_document(state, &account_id, id))
                .flatten()
            {
                Some(d) => Reply::json(200, json!({"id": d.id, "document_number": d.number})),
                None => Reply::problem(404, "Document not found."),
            }
        }
        _ => Reply::problem(404, "No route found."),
    }
}

/// `POST /webhooks {url, events, version?, description?}` (S-MCM; only
/// when the settings model that reading): registers the webhook as a user
/// does in Holded and answers `201 {id}` — never the signing secret, which
/// Holded shows on its screen only.
fn register_webhook(state: &mut State, account_id: &str, body: &Map<String, Value>) -> Reply {
    let Some(url) = text(body.get("url")) else {
        return Reply::problem(422, "url is required.");
    };
    let events: Option<Vec<String>> = body.get("events").and_then(Value::as_array).map(|list| {
        list.iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect()
    });
    let Some(events) = events else {
        return Reply::problem(422, "events must be a list of event names.");
    };
    match super::webhooks::register(state, account_id, &url, &events) {
        Ok(webhook) => Reply::json(201, json!({"id": webhook.id})),
        Err(e) => Reply::problem(422, &e),
    }
}

/// The permission a route needs and its usage name; `None` for unknown
/// routes (`POST /webhooks` is one unless `webhooks_api`).
fn route(method: &str, segments: &[&str], webhooks_api: bool) -> Option<(String, String)> {
    let access = match method {
        "GET" => "read",
        "POST" | "PUT" => "write",
        _ => return None,
    };
    let op = match (method, segments.len()) {
        ("GET", 1) => "list",
        ("GET", _) => "get",
        ("POST", _) => "create",
        _ => "update",
    };
    let scope = match segments {
        ["contacts"] | ["contacts", _] => "contacts:contacts".to_owned(),
        ["products"] | ["products", _] => "inventory:products".to_owned(),
        ["taxes"] if method == "GET" => {
            return Some(("accounting:taxes.read".into(), "api_taxes_list_1".into()));
        }
        ["numbering-series", _] if method == "GET" => {
            return Some((
                "sales:invoicing-settings.read".into(),
                "api_numbering_series_list_1".into(),
            ));
        }
        ["usage"] if method == "GET" => {
            return Some(("developers:usage.read".into(), "api_usage_get_1".into()));
        }
        ["webhooks"] if method == "POST" && webhooks_api => {
            return Some((
                "developers:webhooks.write".into(),
                "api_webhooks_create_1".into(),
            ));
        }
        [kind] | [kind, _] => SimDocType::from_v2(kind)?.scope().to_owned(),
        [kind, _, "approve" | "payments" | "cancel"] if method == "POST" => {
            SimDocType::from_v2(kind)?.scope().to_owned()
        }
        _ => return None,
    };
    let resource = scope.replace([':', '-'], "_");
    Some((
        format!("{scope}.{access}"),
        format!("api_{resource}_{op}_1"),
    ))
}

/// The contact filters this request sends that the simulated Holded honours
/// (exact match): `phone`, `mobile`, `email`, `custom_id` always (both v2
/// sources list them), `code` only when the settings say so (only the June
/// scrape lists it), none when every filter is ignored. Holded ignores a
/// parameter it does not know and answers every contact.
fn contact_filters<'r>(
    req: &'r SimRequest,
    settings: &SimSettings,
) -> Vec<(&'static str, &'r str)> {
    if settings.ignore_contact_filters {
        return Vec::new();
    }
    let mut names = vec!["phone", "mobile", "email", "custom_id"];
    if settings.v2_contact_code_filter {
        names.push("code");
    }
    names
        .into_iter()
        .filter_map(|name| req.param(name).map(|value| (name, value)))
        .collect()
}

/// A v2 list envelope.
#[derive(Serialize)]
struct PageWire<'a, R> {
    items: Vec<R>,
    cursor: Option<&'a str>,
    has_more: bool,
}

/// `contact_id`, `start_date` and `end_date` (ISO date-times on the issue date).
fn document_filter(req: &SimRequest) -> Result<ops::DocumentFilter, Reply> {
    let time = |name: &str| -> Result<Option<i64>, Reply> {
        match req.param(name) {
            None => Ok(None),
            Some(value) => DateTime::parse_from_rfc3339(value)
                .map(|t| Some(t.timestamp()))
                .map_err(|_| {
                    Reply::problem(400, &format!("{name}: This value is not a valid datetime."))
                }),
        }
    };
    let contact_id = match req.param("contact_id") {
        Some(id) if !is_object_id(id) => {
            return Err(Reply::problem(
                400,
                &format!("Error parsing ObjectId string: {id}"),
            ));
        }
        other => other.map(str::to_owned),
    };
    Ok(ops::DocumentFilter {
        contact_id,
        from: time("start_date")?,
        to: time("end_date")?,
    })
}

/// Whether `text` is a MongoDB ObjectId as Holded's ids are (24 hex digits).
fn is_object_id(text: &str) -> bool {
    text.len() == 24 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Cursor pagination over an id-ordered slice: `limit` default 25, max 100;
/// `page` ignored; a cursor is the last id of the previous page; `?cursor=`
/// (empty) is an empty last page; a malformed cursor is a 400. A list fault
/// leaves out recent records or answers a cursor with itself.
fn paginate<'a, T: Listed, R: Serialize>(
    req: &SimRequest,
    items: &'a [T],
    keep: impl Fn(&T) -> bool,
    render: fn(&'a T) -> R,
    list: Option<ListFault>,
) -> Reply {
    let limit = match req.param("limit") {
        None => 25,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(100),
            _ => return Reply::problem(400, &format!("Invalid limit: {l}")),
        },
    };
    let given = req.param("cursor");
    let start = match given {
        Some("") => {
            return Reply::json(200, json!({"items": [], "cursor": null, "has_more": false}));
        }
        Some(c) if is_object_id(c) => items.partition_point(|item| item.id() <= c),
        Some(c) => return Reply::problem(400, &format!("Error parsing ObjectId string: {c}")),
        None => 0,
    };
    let mut rest = items[start..]
        .iter()
        .filter(|item| keep(item) && ListFault::shows(list, *item));
    let page: Vec<&T> = rest.by_ref().take(limit).collect();
    let has_more = rest.next().is_some();
    let cursor = match (list, given) {
        (Some(ListFault::RepeatPage), Some(given)) => Some(given),
        _ => has_more
            .then(|| page.last().map(|item| item.id()))
            .flatten(),
    };
    Reply::serialize(
        200,
        &PageWire {
            items: page.into_iter().map(render).collect(),
            has_more: has_more || cursor.is_some_and(|c| Some(c) == given),
            cursor,
        },
    )
}

/// Nothing: renders as `null`.
type Null = Option<()>;
/// Always empty: renders as `[]`.
type Empty = [(); 0];

/// A contact as v2 renders it (typed, so large pages serialise quickly).
#[derive(Serialize)]
pub struct ContactWire<'a> {
    id: &'a str,
    custom_id: &'a Option<String>,
    name: &'a str,
    code: &'a Option<String>,
    vat_number: &'a Option<String>,
    trade_name: &'a Option<String>,
    is_person: bool,
    email: &'a Option<String>,
    mobile: &'a Option<String>,
    phone: &'a Option<String>,
    #[serde(rename = "type")]
    kind: &'a str,
    iban: &'a Option<String>,
    swift: &'a Option<String>,
    group_id: Null,
    tags: &'a [String],
    created_at: Option<String>,
    updated_at: Option<String>,
    bill_address: AddressWire<'a>,
    client_record: Null,
    supplier_record: Null,
    defaults: DefaultsWire,
    shipping_addresses: Empty,
    notes: Empty,
    contact_persons: Empty,
    custom_fields: Empty,
    extra_emails: Empty,
    website: &'a Option<String>,
    social_networks: Null,
    rate: Null,
}

#[derive(Serialize)]
struct AddressWire<'a> {
    address: &'a Option<String>,
    city: &'a Option<String>,
    postal_code: &'a Option<String>,
    province: &'a Option<String>,
    country: &'a Option<String>,
    country_code: &'a Option<String>,
    info: Null,
}

/// A new contact's defaults as v2 shows them.
#[derive(Serialize)]
struct DefaultsWire {
    sales_channel: Null,
    expenses_account: Null,
    due_days: Null,
    payment_day: Null,
    payment_method: Null,
    discount: u8,
    language: &'static str,
    currency: &'static str,
    sales_tax: Null,
    purchases_tax: Null,
}

fn iso_text(secs: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp(secs, 0).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false))
}

/// A contact as v2 renders it.
pub fn contact_json(c: &SimContact) -> ContactWire<'_> {
    let a = &c.bill_address;
    ContactWire {
        id: &c.id,
        custom_id: &c.custom_id,
        name: &c.name,
        code: &c.code,
        vat_number: &c.vat_number,
        trade_name: &c.trade_name,
        is_person: c.is_person,
        email: &c.email,
        mobile: &c.mobile,
        phone: &c.phone,
        kind: &c.kind,
        iban: &c.iban,
        swift: &c.swift,
        group_id: None,
        tags: &c.tags,
        created_at: iso_text(c.created_at),
        updated_at: iso_text(c.updated_at),
        bill_address: AddressWire {
            address: &a.address,
            city: &a.city,
            postal_code: &a.postal_code,
            province: &a.province,
            country: &a.country,
            country_code: &a.country_code,
            info: None,
        },
        client_record: None,
        supplier_record: None,
        defaults: DefaultsWire {
            sales_channel: None,
            expenses_account: None,
            due_days: None,
            payment_day: None,
            payment_method: None,
            discount: 0,
            language: "es",
            currency: "EUR",
            sales_tax: None,
            purchases_tax: None,
        },
        shipping_addresses: [],
        notes: [],
        contact_persons: [],
        custom_fields: [],
        extra_emails: [],
        website: &c.website,
        social_networks: None,
        rate: None,
    }
}

/// Full replacement: every writable field takes the body's value or its default.
fn replace_contact(c: &mut SimContact, body: &Map<String, Value>) -> Result<(), String> {
    let Some(name) = text(body.get("name")) else {
        return Err("name: This value should not be blank.".to_owned());
    };
    c.name = name;
    c.code = text(body.get("code"));
    c.vat_number = text(body.get("vat_number"));
    c.trade_name = text(body.get("trade_name"));
    c.is_person = flag(body.get("is_person")).unwrap_or(false);
    c.email = text(body.get("email"));
    c.phone = text(body.get("phone"));
    c.mobile = text(body.get("mobile"));
    c.website = text(body.get("website"));
    c.kind = text(body.get("type")).unwrap_or_else(|| "client".to_owned());
    let a = body.get("bill_address").and_then(Value::as_object);
    let field = |k: &str| a.and_then(|a| text(a.get(k)));
    c.bill_address = SimAddress {
        address: field("address"),
        city: field("city"),
        postal_code: field("postal_code"),
        province: field("province"),
        country: field("country"),
        country_code: field("country_code"),
    };
    Ok(())
}

fn update_contact(
    state: &mut State,
    account_id: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Reply {
    let now = state.now().timestamp();
    let Some(account) = state.accounts.get_mut(account_id) else {
        return Reply::problem(404, "Contact not found.");
    };
    let Some(i) = Account::position(&account.contacts, id, |c| &c.id) else {
        return Reply::problem(404, "Contact not found.");
    };
    let mut contact = account.contacts[i].clone();
    if let Err(e) = replace_contact(&mut contact, body) {
        return Reply::problem(422, &e);
    }
    contact.updated_at = now;
    account.contacts[i] = contact;
    Reply::json(200, json!({"id": id}))
}

/// A product as v2 renders it (amounts as decimal strings, no timestamps).
pub fn product_json(p: &SimProduct) -> Value {
    let vat: Decimal = p
        .taxes
        .iter()
        .filter_map(|k| super::model::tax(k))
        .filter(|t| t.group == TaxGroup::Iva)
        .map(|t| t.rate)
        .sum();
    let total = p.price * (Decimal::ONE_HUNDRED + vat) / Decimal::ONE_HUNDRED;
    json!({
        "id": p.id, "kind": "simple", "name": p.name, "description": p.description, "type_id": null,
        "price": money(p.price), "taxes": p.taxes, "total": money(total.normalize()),
        "has_stock": true, "stock": money(p.stock), "barcode": p.barcode, "sku": p.sku,
        "cost": p.cost.map(money), "purchase_price": null, "weight": null, "tags": [],
        "category_id": null, "factory_code": null, "for_sale": true, "for_purchase": false,
        "sales_channel_id": null, "exp_account_id": null, "warehouse_id": null, "archived": false,
        "purchase_taxes": [], "variants": [], "attributes": [], "rates": [],
    })
}

fn create_product(state: &mut State, account_id: &str, body: &Map<String, Value>) -> Reply {
    let Some(name) = text(body.get("name")) else {
        return Reply::problem(422, "name: This value should not be blank.");
    };
    let taxes = texts(body.get("taxes"));
    if let Some(unknown) = ops::unknown_tax(&taxes) {
        return Reply::problem(422, &format!("Tax not found: {unknown}"));
    }
    let (price, cost) = match (
        decimal(body.get("price"), "price"),
        decimal(body.get("cost"), "cost"),
    ) {
        (Ok(p), Ok(c)) => (p.unwrap_or_default(), c),
        (Err(e), _) | (_, Err(e)) => return Reply::problem(422, &e),
    };
    let product = SimProduct {
        name,
        description: text(body.get("description")),
        sku: text(body.get("sku")),
        barcode: text(body.get("barcode")),
        price,
        taxes,
        cost,
        ..Default::default()
    };
    Reply::json(
        201,
        json!({"id": ops::insert_product(state, account_id, product)}),
    )
}

/// A document as a v2 list shows it: the list item of the v2 spec carries no
/// `lines`, `notes`, `draft`, `custom_fields`, `language`, `approved_at`…
/// (S-V2PREVIEW: the `GET /<type>` item schema against `GET /<type>/{id}`);
/// only `GET` of one document has them.
pub fn document_list_item(d: &SimDocument) -> Value {
    let totals = d.totals();
    let mut item = json!({
        "id": d.id, "document_number": Some(&d.number).filter(|n| !n.is_empty()), "contact_id": d.contact_id,
        "contact_name": d.contact_name, "description": d.description,
        "date": d.day().format("%Y-%m-%d").to_string(),
        "due_date": d.collection.due_date.map(|t| super::model::madrid_day(t).format("%Y-%m-%d").to_string()),
        "subtotal": money(totals.subtotal), "discount": "0", "tax": money(totals.tax),
        "total": money(totals.total), "currency": d.currency.to_uppercase(),
        "status": v2_status(d), "tags": [],
    });
    if d.doc_type == SimDocType::Invoice {
        item["payment_method_id"] = Value::Null;
        item["payments_total"] = money(d.paid());
        item["payments_pending"] = money(d.pending());
    }
    item
}

/// A document as v2's `GET /<type>/{id}` renders it: the list item plus
/// lines as `lines[]`, notes, draft and the other detail fields (amounts as
/// strings, `YYYY-MM-DD` dates).
pub fn document_json(d: &SimDocument) -> Value {
    let lines: Vec<Value> = d
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "line_id": format!("{}{:02}", &d.id[..22.min(d.id.len())], i),
                "name": l.name, "description": l.description, "price": money(l.price),
                "units": money(l.units), "discount": money(l.discount),
                "tax": money(l.rate(TaxGroup::Iva)), "retention": money(l.rate(TaxGroup::Retencion)),
                "taxes": l.taxes, "tags": [], "product_id": l.product_id, "variant_id": null,
                "service_id": null, "sku": l.sku, "account": null, "project_id": null,
            })
        })
        .collect();
    let mut document = document_list_item(d);
    for (key, value) in [
        ("lines", Value::Array(lines)),
        ("notes", json!(d.notes)),
        ("language", json!("es")),
        ("currency_change", json!("1")),
        ("accounting_date", Value::Null),
        ("approved_at", json!(d.approved_at.and_then(iso_text))),
        ("draft", json!(d.draft)),
        ("custom_fields", json!([])),
        ("payments_total", money(d.paid())),
        ("payments_pending", money(d.pending())),
        ("payments_refunds", json!("0")),
        (
            "payments_detail",
            d.collection
                .payments
                .iter()
                .map(|p| {
                    json!({"id": p.id, "amount": money(p.amount), "bank_id": null,
                        "date": super::model::madrid_day(p.date).format("%Y-%m-%d").to_string()})
                })
                .collect(),
        ),
    ] {
        document[key] = value;
    }
    document
}

/// v2 `status` from the list filter's values (§4.5: `pending|completed|
/// partial|cancelled|failed`).
fn v2_status(d: &SimDocument) -> &'static str {
    if d.collection.cancelled {
        "cancelled"
    } else if d.paid() > Decimal::ZERO && d.pending().is_zero() {
        "completed"
    } else if d.paid() > Decimal::ZERO {
        "partial"
    } else {
        "pending"
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
                .ok_or_else(|| format!("{}: unknown tax rate {rate}", field("tax")))?
                .to_owned(),
        );
    }
    if let Some(unknown) = ops::unknown_tax(&taxes) {
        return Err(format!("{}: tax not found: {unknown}", field("taxes")));
    }
    let price = match decimal(item.get("price"), &field("price"))? {
        Some(p) => Some(p),
        None => decimal(item.get("subtotal"), &field("subtotal"))?,
    };
    Ok(SimLine {
        name: text(item.get("name")).unwrap_or_default(),
        description: text(item.get("description")),
        units: decimal(item.get("units"), &field("units"))?.unwrap_or(Decimal::ONE),
        price: price.unwrap_or_default(),
        discount: decimal(item.get("discount"), &field("discount"))?.unwrap_or_default(),
        taxes,
        product_id: text(item.get("product_id")),
        sku: text(item.get("sku")),
    })
}

fn create_document(
    state: &mut State,
    account_id: &str,
    doc_type: SimDocType,
    body: &Map<String, Value>,
) -> Reply {
    let Some(day) =
        text(body.get("date")).and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
    else {
        return Reply::problem(422, "date: This value is not a valid date (YYYY-MM-DD).");
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
        Err(e) => return Reply::problem(422, &e),
    };
    let contact = if let Some(id) = text(body.get("contact_id")) {
        let Some(account) = state.accounts.get(account_id) else {
            return Reply::problem(403, "Access denied.");
        };
        match Account::find(&account.contacts, &id, |c| &c.id) {
            Some(c) => (c.id.clone(), c.name.clone()),
            None => return Reply::problem(422, "contact_id: Contact not found."),
        }
    } else if let Some(name) = text(body.get("contact_name")) {
        (ops::contact_from_name(state, account_id, &name), name)
    } else {
        return Reply::problem(422, "Either contact_id or contact_name is required.");
    };
    let document = SimDocument {
        id: String::new(),
        doc_type,
        number: String::new(),
        contact_id: Some(contact.0),
        contact_name: Some(contact.1),
        description: text(body.get("description")),
        notes: text(body.get("notes")),
        date: madrid_midnight(day),
        currency: text(body.get("currency")).map_or_else(|| "eur".to_owned(), |c| c.to_lowercase()),
        lines,
        created_at: 0,
        approved_at: None,
        collection: SimCollection {
            due_date: text(body.get("due_date"))
                .and_then(|t| NaiveDate::parse_from_str(t.get(..10)?, "%Y-%m-%d").ok())
                .map(madrid_midnight),
            ..Default::default()
        },
        draft: true,
    };
    let (id, _) = ops::insert_document(state, account_id, document, false);
    Reply::json(201, json!({"id": id}))
}

fn usage(state: &State, account_id: &str) -> Reply {
    let period = state.period();
    let counts = state
        .accounts
        .get(account_id)
        .and_then(|a| a.usage.get(&period))
        .cloned()
        .unwrap_or_default();
    let total: u64 = counts.values().sum();
    Reply::json(
        200,
        json!({
            "type": "automation_token", "period": period, "usage": total,
            "limit": state.settings.monthly_limit, "count": 1,
            "secondary_usages": counts, "user_usages": {},
        }),
    )
}
