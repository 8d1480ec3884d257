//! The v2 adapter (`/api/v2`, `Authorization: Bearer pat_…`): snake_case, ISO
//! dates, decimal strings, `{items, cursor, has_more}` pages, RFC 7807
//! errors, full-replacement PUT (so updates are get–merge–put), `items` on
//! write vs `lines` on read.

use std::sync::Arc;

use chrono::NaiveDate;

use serde_json::{Map, Value, json};

use super::{
    HoldedApi,
    error::HoldedError,
    matching::through_filter,
    paging::{ListQuery, Pages, collect, v2_pages},
    transport::{Call, Transport},
    types::*,
    wire::{Answer, Obj, decimal_text, madrid_midnight},
};

/// Contact fields v2 accepts on `POST`/`PUT /contacts` (everything else is read-only).
const WRITABLE_CONTACT_FIELDS: [&str; 13] = [
    "name",
    "code",
    "vat_number",
    "trade_name",
    "is_person",
    "email",
    "phone",
    "mobile",
    "website",
    "type",
    "bill_address",
    "custom_fields",
    "defaults",
];

/// Holded API v2 for one token.
#[derive(Debug, Clone)]
pub struct V2Client {
    transport: Arc<Transport>,
    page_size: u32,
}

impl V2Client {
    pub(crate) fn new(transport: Arc<Transport>, page_size: u32) -> Self {
        Self {
            transport,
            page_size: page_size.clamp(1, 100),
        }
    }

    /// Registers a webhook sending `events` to `url` (`POST /webhooks`, which
    /// only one source reports, with scope `developers:webhooks.write`);
    /// returns the id Holded gives it. Holded shows the signing secret on its
    /// own screen only.
    pub async fn register_webhook(
        &self,
        url: &str,
        events: &[&str],
        description: &str,
    ) -> Result<String, HoldedError> {
        let body = json!({
            "url": url,
            "events": events,
            "version": "v1",
            "description": description,
        });
        let reply = self
            .transport
            .json(Call::create("/webhooks", body, "el webhook"))
            .await?;
        Obj::new(&reply, "")?.required_text("id")
    }

    fn contact_pages(&self, list: ListQuery) -> Pages<Contact> {
        v2_pages(self.transport.clone(), list, self.page_size, parse_contact)
    }

    /// The read permissions the product needs, each with a cheap probe.
    fn probes() -> Vec<String> {
        let mut paths = vec!["/contacts".to_owned(), "/products".to_owned()];
        paths.extend(
            DocumentType::ALL
                .iter()
                .map(|t| format!("/{}", t.v2_path())),
        );
        paths.push("/taxes".to_owned());
        paths.push("/numbering-series/invoice".to_owned());
        paths
    }
}

impl HoldedApi for V2Client {
    fn generation(&self) -> Generation {
        Generation::V2
    }

    fn calls_made(&self) -> u64 {
        self.transport
            .calls()
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn check_key(&self) -> Result<KeyCheck, HoldedError> {
        let mut missing = Vec::new();
        for path in Self::probes() {
            match self
                .transport
                .json(Call::get(path).query("limit", "1"))
                .await
            {
                Ok(_) => {}
                Err(HoldedError::MissingPermission { permission }) => missing.push(permission),
                Err(other) => return Err(other),
            }
        }
        Ok(KeyCheck {
            generation: Generation::V2,
            missing_permissions: missing,
        })
    }

    fn contacts(&self) -> Pages<Contact> {
        self.contact_pages(ListQuery::new("/contacts"))
    }

    fn products(&self) -> Pages<Product> {
        v2_pages(
            self.transport.clone(),
            ListQuery::new("/products"),
            self.page_size,
            parse_product,
        )
    }

    fn documents(&self, doc_type: DocumentType) -> Pages<Document> {
        v2_pages(
            self.transport.clone(),
            ListQuery::new(format!("/{}", doc_type.v2_path())),
            self.page_size,
            move |value: &Value, path| parse_document(value, path, doc_type, Answer::ListItem),
        )
    }

    async fn contact(&self, id: &str) -> Result<Contact, HoldedError> {
        let body = self
            .transport
            .json(Call::get(format!("/contacts/{id}")))
            .await?;
        parse_contact(&body, String::new())
    }

    async fn product(&self, id: &str) -> Result<Product, HoldedError> {
        let body = self
            .transport
            .json(Call::get(format!("/products/{id}")))
            .await?;
        parse_product(&body, String::new())
    }

    async fn document(&self, doc_type: DocumentType, id: &str) -> Result<Document, HoldedError> {
        let path = format!("/{}/{id}", doc_type.v2_path());
        let body = self.transport.json(Call::get(path)).await?;
        parse_document(&body, String::new(), doc_type, Answer::Whole)
    }

    async fn contact_documents(
        &self,
        doc_type: DocumentType,
        contact_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Document>, HoldedError> {
        // Document dates are Madrid calendar days: the window is Madrid time.
        let at = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 0)
                .unwrap_or_default()
                .with_timezone(&chrono_tz::Europe::Madrid)
                .to_rfc3339()
        };
        let end = madrid_midnight(to + chrono::Days::new(1)) - 1;
        let list = ListQuery::new(format!("/{}", doc_type.v2_path()))
            .filter("contact_id", contact_id)
            .filter("start_date", at(madrid_midnight(from)))
            .filter("end_date", at(end));
        collect(v2_pages(
            self.transport.clone(),
            list,
            self.page_size,
            move |value: &Value, path| parse_document(value, path, doc_type, Answer::ListItem),
        ))
        .await
    }

    async fn find_contacts(&self, lookup: ContactLookup<'_>) -> Result<FoundContacts, HoldedError> {
        // `code` is a filter in the June reference only (not in the April
        // spec); either way every answer is checked (`through_filter`).
        let filters: &[&'static str] = match lookup {
            ContactLookup::Nif(_) => &["code"],
            ContactLookup::Email(_) => &["email"],
            ContactLookup::Phone(_) => &["phone", "mobile"],
            ContactLookup::CustomId(_) => &["custom_id"],
        };
        let mut found: Option<FoundContacts> = None;
        for filter in filters {
            let list = ListQuery::new("/contacts").filter(filter, lookup.filter_value());
            let these = through_filter(self.contact_pages(list), lookup).await?;
            found = Some(match found {
                Some(before) => before.merge(these),
                None => these,
            });
        }
        Ok(found.unwrap_or_default())
    }

    async fn create_contact(&self, changes: &ContactChanges) -> Result<String, HoldedError> {
        let mut body = Map::new();
        apply_changes(&mut body, changes);
        let reply = self
            .transport
            .json(Call::create(
                "/contacts",
                Value::Object(body),
                "el contacto",
            ))
            .await?;
        Obj::new(&reply, "")?.required_text("id")
    }

    async fn update_contact(&self, id: &str, changes: &ContactChanges) -> Result<(), HoldedError> {
        // Full replacement: start from what Holded has, change, send it all back.
        let path = format!("/contacts/{id}");
        let current = self.transport.json(Call::get(path.clone())).await?;
        let Value::Object(current) = current else {
            return Err(HoldedError::decode("(body)", "expected a contact object"));
        };
        let mut body: Map<String, Value> = current
            .into_iter()
            .filter(|(k, v)| WRITABLE_CONTACT_FIELDS.contains(&k.as_str()) && !v.is_null())
            .collect();
        apply_changes(&mut body, changes);
        self.transport
            .json(Call::put(path, Value::Object(body)))
            .await?;
        Ok(())
    }

    async fn create_document(&self, doc: &NewDocument) -> Result<CreatedDocument, HoldedError> {
        let path = format!("/{}", doc.doc_type.v2_path());
        let reply = self
            .transport
            .json(Call::create(path, document_body(doc), "el documento"))
            .await?;
        Ok(CreatedDocument {
            id: Obj::new(&reply, "")?.required_text("id")?,
            number: None,
            contact_id: None,
        })
    }

    async fn taxes(&self) -> Result<Vec<Tax>, HoldedError> {
        let pages = v2_pages(
            self.transport.clone(),
            ListQuery::new("/taxes"),
            self.page_size,
            |value: &Value, path| {
                let t = Obj::new(value, path)?;
                Ok(Tax {
                    key: t.required_text("id")?,
                    name: t.text("name")?,
                    rate: t.decimal_or_zero("amount")?,
                    scope: t.text("scope")?,
                    group: t.text("group")?,
                })
            },
        );
        collect(pages).await
    }

    async fn numbering_series(
        &self,
        doc_type: DocumentType,
    ) -> Result<Vec<NumberingSeries>, HoldedError> {
        let pages = v2_pages(
            self.transport.clone(),
            ListQuery::new(format!("/numbering-series/{}", doc_type.v1_name())),
            self.page_size,
            |value: &Value, path| {
                let s = Obj::new(value, path)?;
                Ok(NumberingSeries {
                    id: s.required_text("id")?,
                    name: s.text("name")?.unwrap_or_default(),
                    format: s.text("format")?,
                    last: s.integer("last")?,
                })
            },
        );
        collect(pages).await
    }

    async fn usage(&self) -> Result<Option<Usage>, HoldedError> {
        let body = self.transport.json(Call::get("/usage")).await?;
        let u = Obj::new(&body, "")?;
        Ok(Some(Usage {
            period: u.required_text("period")?,
            usage: u
                .integer("usage")?
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            limit: u.integer("limit")?.and_then(|n| u64::try_from(n).ok()),
        }))
    }
}

fn apply_changes(body: &mut Map<String, Value>, changes: &ContactChanges) {
    let texts = [
        ("name", &changes.name),
        ("trade_name", &changes.trade_name),
        ("code", &changes.nif),
        ("vat_number", &changes.vat_number),
        ("email", &changes.email),
        ("phone", &changes.phone),
        ("mobile", &changes.mobile),
        ("type", &changes.kind),
        ("website", &changes.website),
    ];
    for (key, value) in texts {
        if let Some(v) = value {
            body.insert(key.to_owned(), json!(v));
        }
    }
    if let Some(is_person) = changes.is_person {
        body.insert("is_person".into(), json!(is_person));
    }
    if let Some(a) = &changes.bill_address {
        body.insert(
            "bill_address".into(),
            json!({
                "address": a.address, "city": a.city, "postal_code": a.postal_code,
                "province": a.province, "country": a.country, "country_code": a.country_code,
            }),
        );
    }
}

fn parse_contact(value: &Value, path: String) -> Result<Contact, HoldedError> {
    let c = Obj::new(value, path)?;
    let bill_address = match c.object("bill_address")? {
        Some(a) => {
            let country_code = a.text("country_code")?;
            Address {
                address: a.text("address")?,
                city: a.text("city")?,
                postal_code: a.postal_code("postal_code", country_code.as_deref())?,
                province: a.text("province")?,
                country: a.text("country")?,
                country_code,
            }
        }
        None => Address::default(),
    };
    Ok(Contact {
        id: c.required_text("id")?,
        custom_id: c.text("custom_id")?,
        name: c.text("name")?.unwrap_or_default(),
        trade_name: c.text("trade_name")?,
        nif: c.text("code")?,
        vat_number: c.text("vat_number")?,
        email: c.text("email")?,
        phone: c.text("phone")?,
        mobile: c.text("mobile")?,
        is_person: c.flag("is_person")?.unwrap_or(false),
        kind: c.text("type")?,
        iban: c.text("iban")?,
        swift: c.text("swift")?,
        website: c.text("website")?,
        bill_address,
        tags: c.texts("tags")?,
        updated_at: c.iso_time("updated_at")?,
    })
}

fn parse_product(value: &Value, path: String) -> Result<Product, HoldedError> {
    let p = Obj::new(value, path)?;
    let taxes = p.texts("taxes")?;
    Ok(Product {
        id: p.required_text("id")?,
        name: p.text("name")?.unwrap_or_default(),
        description: p.text("description")?,
        sku: p.text("sku")?,
        barcode: p.text("barcode")?,
        price: p.decimal_or_zero("price")?,
        vat: super::vat_from_keys(&taxes),
        taxes,
        cost: p.decimal("cost")?,
        kind: p.text("kind")?,
    })
}

/// A document: a list item carries no `lines` (nor notes or draft); read
/// whole it must.
fn parse_document(
    value: &Value,
    path: String,
    doc_type: DocumentType,
    answer: Answer,
) -> Result<Document, HoldedError> {
    let d = Obj::new(value, path)?;
    let lines = answer.array(&d, "lines")?.map(|lines| {
        lines
            .into_iter()
            .map(|(path, line)| {
                let l = Obj::new(line, path)?;
                Ok(DocumentLine {
                    name: l.text("name")?.unwrap_or_default(),
                    description: l.text("description")?,
                    units: l.decimal_or_zero("units")?,
                    unit_price: l.decimal_or_zero("price")?,
                    discount: l.decimal_or_zero("discount")?,
                    taxes: l.texts("taxes")?,
                    product_id: l.text("product_id")?,
                    sku: l.text("sku")?,
                })
            })
            .collect::<Result<Vec<_>, HoldedError>>()
    });
    Ok(Document {
        lines: lines.transpose()?,
        id: d.required_text("id")?,
        doc_type,
        number: d.text("document_number")?,
        contact_id: d.text("contact_id")?,
        contact_name: d.text("contact_name")?,
        description: d.text("description")?,
        date: d.iso_date("date")?,
        notes: d.text("notes")?,
        subtotal: d.decimal_or_zero("subtotal")?,
        tax: d.decimal_or_zero("tax")?,
        total: d.decimal_or_zero("total")?,
        currency: d.text("currency")?,
        draft: d.flag("draft")?,
        billing: Billing {
            approved_at: d.iso_time("approved_at")?,
            due_date: d.iso_date("due_date")?,
            paid: d.decimal_or_zero("payments_total")?,
            pending: d.decimal("payments_pending")?,
            last_payment: d
                .array("payments_detail")?
                .into_iter()
                .map(|(path, p)| Obj::new(p, path)?.iso_date("date"))
                .collect::<Result<Vec<_>, HoldedError>>()?
                .into_iter()
                .flatten()
                .max(),
            cancelled: d.text("status")?.as_deref() == Some("cancelled"),
        },
    })
}

fn document_body(doc: &NewDocument) -> Value {
    let items: Vec<Value> = doc
        .lines
        .iter()
        .map(|line| {
            let mut item = json!({
                "name": line.name,
                "units": decimal_text(line.units),
                "price": decimal_text(line.unit_price),
                "discount": decimal_text(line.discount),
                "taxes": line.taxes,
            });
            for (key, value) in [
                ("description", &line.description),
                ("product_id", &line.product_id),
                ("sku", &line.sku),
            ] {
                if let Some(v) = value {
                    item[key] = json!(v);
                }
            }
            item
        })
        .collect();
    let mut body = json!({
        "date": doc.date.format("%Y-%m-%d").to_string(),
        "items": items,
    });
    match &doc.contact {
        DocumentContact::Id(id) => body["contact_id"] = json!(id),
        DocumentContact::Name(name) => body["contact_name"] = json!(name),
    }
    for (key, value) in [
        ("description", &doc.description),
        ("notes", &doc.notes),
        ("number_line_id", &doc.numbering_series_id),
    ] {
        if let Some(v) = value {
            body[key] = json!(v);
        }
    }
    if let Some(currency) = &doc.currency {
        body["currency"] = json!(currency.to_uppercase());
    }
    body
}
