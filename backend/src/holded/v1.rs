//! The v1 adapter (`/api/invoicing/v1`, header `key`): camelCase, Unix
//! seconds, JSON numbers (sometimes `""`), bare-array pages, `CustomId` on
//! write vs `customId` on read, `contactId`/`items[].subtotal` on write vs
//! `contact`/`products[].price` on read.

use std::sync::Arc;

use chrono::NaiveDate;

use serde_json::{Map, Value, json};

use super::{
    HoldedApi,
    error::HoldedError,
    matching::through_filter,
    paging::{ListQuery, Pages, collect, v1_pages},
    transport::{Call, Transport},
    types::*,
    wire::{Answer, Obj, madrid_midnight, parse_decimal},
};

/// Holded API v1 for one key.
#[derive(Debug, Clone)]
pub struct V1Client {
    transport: Arc<Transport>,
}

impl V1Client {
    pub(crate) fn new(transport: Arc<Transport>) -> Self {
        Self { transport }
    }

    fn contact_pages(&self, list: ListQuery) -> Pages<Contact> {
        v1_pages(self.transport.clone(), list, parse_contact, |c| &c.id)
    }
}

impl HoldedApi for V1Client {
    fn generation(&self) -> Generation {
        Generation::V1
    }

    fn calls_made(&self) -> u64 {
        self.transport
            .calls()
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn check_key(&self) -> Result<KeyCheck, HoldedError> {
        self.transport.json(Call::get("/taxes")).await?;
        Ok(KeyCheck {
            generation: Generation::V1,
            missing_permissions: Vec::new(),
        })
    }

    fn contacts(&self) -> Pages<Contact> {
        self.contact_pages(ListQuery::new("/contacts"))
    }

    fn products(&self) -> Pages<Product> {
        v1_pages(
            self.transport.clone(),
            ListQuery::new("/products"),
            parse_product,
            |p| &p.id,
        )
    }

    fn documents(&self, doc_type: DocumentType) -> Pages<Document> {
        v1_pages(
            self.transport.clone(),
            ListQuery::new(format!("/documents/{}", doc_type.v1_name())),
            move |value: &Value, path| document_from(value, path, doc_type, Answer::ListItem),
            |d| &d.id,
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
        let path = format!("/documents/{}/{id}", doc_type.v1_name());
        let body = self.transport.json(Call::get(path)).await?;
        document_from(&body, String::new(), doc_type, Answer::Whole)
    }

    async fn contact_documents(
        &self,
        doc_type: DocumentType,
        contact_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Document>, HoldedError> {
        // `starttmp` and `endtmp` are Unix seconds and go together; the end is
        // the last second of `to` in Madrid.
        let end = madrid_midnight(to + chrono::Days::new(1)) - 1;
        let list = ListQuery::new(format!("/documents/{}", doc_type.v1_name()))
            .filter("contactid", contact_id)
            .filter("starttmp", madrid_midnight(from).to_string())
            .filter("endtmp", end.to_string());
        collect(v1_pages(
            self.transport.clone(),
            list,
            move |value: &Value, path| document_from(value, path, doc_type, Answer::ListItem),
            |d| &d.id,
        ))
        .await
    }

    async fn find_contacts(&self, lookup: ContactLookup<'_>) -> Result<FoundContacts, HoldedError> {
        match lookup {
            // v1 filters only phone and mobile (exactly, `+` included).
            ContactLookup::Phone(_) => {
                let by = |field| ListQuery::new("/contacts").filter(field, lookup.filter_value());
                let by_phone = through_filter(self.contact_pages(by("phone")), lookup).await?;
                let by_mobile = through_filter(self.contact_pages(by("mobile")), lookup).await?;
                Ok(by_phone.merge(by_mobile))
            }
            // The spec's `customId` filter (`?customId=a,b`; one live test
            // found it answering nothing): checked like every filter.
            ContactLookup::CustomId(_) => {
                let list = ListQuery::new("/contacts").filter("customId", lookup.filter_value());
                through_filter(self.contact_pages(list), lookup).await
            }
            // No NIF or email filter: only a scan of every contact would tell.
            ContactLookup::Nif(_) | ContactLookup::Email(_) => Ok(FoundContacts::default()),
        }
    }

    async fn create_contact(&self, changes: &ContactChanges) -> Result<String, HoldedError> {
        let body = self
            .transport
            .json(Call::create(
                "/contacts",
                contact_body(changes),
                "el contacto",
            ))
            .await?;
        created_id(&body)
    }

    async fn update_contact(&self, id: &str, changes: &ContactChanges) -> Result<(), HoldedError> {
        // v1 PUT is partial: only the fields sent change. (Holded's v1 PUT does not
        // document `CustomId` or `tags`, and ignores `socialNetworks` on update.)
        let path = format!("/contacts/{id}");
        self.transport
            .json(Call::put(path, contact_body(changes)))
            .await?;
        Ok(())
    }

    async fn create_document(&self, doc: &NewDocument) -> Result<CreatedDocument, HoldedError> {
        let path = format!("/documents/{}", doc.doc_type.v1_name());
        let body = self
            .transport
            .json(Call::create(path, document_body(doc), "el documento"))
            .await?;
        let reply = Obj::new(&body, "")?;
        Ok(CreatedDocument {
            id: reply.required_text("id")?,
            number: reply.text("invoiceNum")?,
            contact_id: reply.text("contactId")?,
        })
    }

    async fn taxes(&self) -> Result<Vec<Tax>, HoldedError> {
        let body = self.transport.json(Call::get("/taxes")).await?;
        each(&body, |tax| {
            Ok(Tax {
                key: tax.required_text("key")?,
                name: tax.text("name")?,
                rate: tax.decimal_or_zero("amount")?,
                scope: tax.text("scope")?,
                group: tax.text("group")?,
            })
        })
    }

    async fn numbering_series(
        &self,
        doc_type: DocumentType,
    ) -> Result<Vec<NumberingSeries>, HoldedError> {
        let kind = match doc_type {
            DocumentType::SalesOrder => "salesOrder",
            other => other.v1_name(),
        };
        let body = self
            .transport
            .json(Call::get(format!("/numberingseries/{kind}")))
            .await?;
        each(&body, |s| {
            Ok(NumberingSeries {
                id: s.required_text("id")?,
                name: s.text("name")?.unwrap_or_default(),
                format: s.text("format")?,
                last: s.integer("last")?,
            })
        })
    }

    async fn usage(&self) -> Result<Option<Usage>, HoldedError> {
        // v1 has no usage endpoint, and a v1 key cannot call v2's.
        Ok(None)
    }
}

/// Applies `read` to every element of a bare array.
fn each<T>(
    body: &Value,
    read: impl Fn(&Obj<'_>) -> Result<T, HoldedError>,
) -> Result<Vec<T>, HoldedError> {
    let Value::Array(items) = body else {
        return Err(HoldedError::decode("(body)", "expected a JSON array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| read(&Obj::new(v, format!("[{i}]"))?))
        .collect()
}

fn created_id(body: &Value) -> Result<String, HoldedError> {
    Obj::new(body, "")?.required_text("id")
}

fn parse_contact(value: &Value, path: String) -> Result<Contact, HoldedError> {
    let c = Obj::new(value, path)?;
    let bill_address = match c.object("billAddress")? {
        Some(a) => {
            let country_code = a.text("countryCode")?;
            Address {
                address: a.text("address")?,
                city: a.text("city")?,
                postal_code: a.postal_code("postalCode", country_code.as_deref())?,
                province: a.text("province")?,
                country: a.text("country")?,
                country_code,
            }
        }
        None => Address::default(),
    };
    let website = match c.object("socialNetworks")? {
        Some(s) => s.text("website")?,
        None => None,
    };
    Ok(Contact {
        id: c.required_text("id")?,
        custom_id: c.text("customId")?,
        name: c.text("name")?.unwrap_or_default(),
        trade_name: c.text("tradeName")?,
        nif: c.text("code")?,
        vat_number: c.text("vatnumber")?,
        email: c.text("email")?,
        phone: c.text("phone")?,
        mobile: c.text("mobile")?,
        is_person: c.flag("isperson")?.unwrap_or(false),
        kind: c.text("type")?,
        iban: c.text("iban")?,
        swift: c.text("swift")?,
        website,
        bill_address,
        tags: c.texts("tags")?,
        updated_at: c.unix_time("updatedAt")?,
    })
}

fn contact_body(changes: &ContactChanges) -> Value {
    let mut body = Map::new();
    let mut put = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            body.insert(key.to_owned(), json!(v));
        }
    };
    put("CustomId", &changes.custom_id);
    put("name", &changes.name);
    put("tradeName", &changes.trade_name);
    put("code", &changes.nif);
    put("vatnumber", &changes.vat_number);
    put("email", &changes.email);
    put("phone", &changes.phone);
    put("mobile", &changes.mobile);
    put("type", &changes.kind);
    put("iban", &changes.iban);
    put("swift", &changes.swift);
    if let Some(is_person) = changes.is_person {
        body.insert("isperson".into(), json!(is_person));
    }
    if let Some(a) = &changes.bill_address {
        body.insert(
            "billAddress".into(),
            json!({
                "address": a.address, "city": a.city, "postalCode": a.postal_code,
                "province": a.province, "country": a.country, "countryCode": a.country_code,
            }),
        );
    }
    if let Some(website) = &changes.website {
        body.insert("socialNetworks".into(), json!({ "website": website }));
    }
    if let Some(tags) = &changes.tags {
        body.insert("tags".into(), json!(tags));
    }
    Value::Object(body)
}

fn parse_product(value: &Value, path: String) -> Result<Product, HoldedError> {
    let p = Obj::new(value, path)?;
    let taxes = p.texts("taxes")?;
    Ok(Product {
        id: p.required_text("id")?,
        name: p.text("name")?.unwrap_or_default(),
        description: p.text("desc")?,
        sku: p.text("sku")?,
        barcode: p.text("barcode")?,
        price: p.decimal_or_zero("price")?,
        vat: p.decimal("tax")?.or_else(|| super::vat_from_keys(&taxes)),
        taxes,
        cost: p.decimal("cost")?,
        kind: p.text("kind")?,
    })
}

/// A document; its lines (`products[]`) must be there when it is read whole
/// (v1 lists carry them too, but a list item without them is read whole).
fn document_from(
    value: &Value,
    path: String,
    doc_type: DocumentType,
    answer: Answer,
) -> Result<Document, HoldedError> {
    let d = Obj::new(value, path)?;
    let lines = answer.array(&d, "products")?.map(|lines| {
        lines
            .into_iter()
            .map(|(path, line)| {
                let l = Obj::new(line, path)?;
                let mut taxes = l.texts("taxes")?;
                if taxes.is_empty()
                    && let Some(vat) = l.decimal("tax")?.filter(|v| !v.is_zero())
                {
                    taxes.push(format!("s_iva_{}", vat.normalize()));
                }
                Ok(DocumentLine {
                    name: l.text("name")?.unwrap_or_default(),
                    description: l.text("desc")?,
                    units: l.decimal_or_zero("units")?,
                    unit_price: l.decimal_or_zero("price")?,
                    discount: l.decimal_or_zero("discount")?,
                    taxes,
                    product_id: l.text("productId")?,
                    sku: l.text("sku")?,
                })
            })
            .collect::<Result<Vec<_>, HoldedError>>()
    });
    Ok(Document {
        lines: lines.transpose()?,
        id: d.required_text("id")?,
        doc_type,
        number: d.text("docNumber")?,
        contact_id: d.text("contact")?,
        contact_name: d.text("contactName")?,
        description: d.text("desc")?,
        date: d.unix_date("date")?,
        notes: d.text("notes")?,
        subtotal: d.decimal_or_zero("subtotal")?,
        tax: d.decimal_or_zero("tax")?,
        total: d.decimal_or_zero("total")?,
        currency: d.text("currency")?,
        draft: d.flag("draft")?,
        billing: Billing {
            approved_at: d.unix_time("approvedAt")?,
            due_date: d.unix_date("dueDate")?,
            paid: d.decimal_or_zero("paymentsTotal")?,
            pending: d.decimal("paymentsPending")?,
            last_payment: d
                .array("paymentsDetail")?
                .into_iter()
                .map(|(path, p)| Obj::new(p, path)?.unix_date("date"))
                .collect::<Result<Vec<_>, HoldedError>>()?
                .into_iter()
                .flatten()
                .max(),
            // §4.4: 5 = cancelled in Holded's status table (the other reading,
            // 3, is also "paid"; cancellation is only taken from 5).
            cancelled: d.integer("status")? == Some(5),
        },
    })
}

/// v1 wants JSON numbers; the decimal's text becomes the JSON number Holded reads.
fn number(value: rust_decimal::Decimal) -> Value {
    let text = value.normalize().to_string();
    serde_json::from_str::<Value>(&text)
        .ok()
        .filter(|v| parse_decimal(v).ok().flatten() == Some(value))
        .unwrap_or(Value::String(text))
}

fn document_body(doc: &NewDocument) -> Value {
    let items: Vec<Value> = doc
        .lines
        .iter()
        .map(|line| {
            let mut item = json!({
                "name": line.name,
                "units": number(line.units),
                "subtotal": number(line.unit_price),
                "discount": number(line.discount),
                "taxes": line.taxes,
            });
            if let Some(vat) = super::vat_from_keys(&line.taxes) {
                item["tax"] = number(vat);
            }
            for (key, value) in [
                ("desc", &line.description),
                ("productId", &line.product_id),
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
        "date": madrid_midnight(doc.date),
        "items": items,
        "applyContactDefaults": false,
    });
    match &doc.contact {
        DocumentContact::Id(id) => body["contactId"] = json!(id),
        DocumentContact::Name(name) => body["contactName"] = json!(name),
    }
    for (key, value) in [
        ("desc", &doc.description),
        ("notes", &doc.notes),
        ("numSerieId", &doc.numbering_series_id),
    ] {
        if let Some(v) = value {
            body[key] = json!(v);
        }
    }
    if let Some(currency) = &doc.currency {
        body["currency"] = json!(currency.to_lowercase());
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn write_side_names_differ_from_read_side() {
        let changes = ContactChanges {
            custom_id: Some("CRM-1".into()),
            ..Default::default()
        };
        assert_eq!(contact_body(&changes), json!({"CustomId": "CRM-1"}));
        let doc = NewDocument {
            doc_type: DocumentType::Invoice,
            contact: DocumentContact::Id("c1".into()),
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            description: None,
            notes: None,
            currency: None,
            numbering_series_id: None,
            lines: vec![DocumentLine {
                name: "Horas".into(),
                units: Decimal::new(2, 0),
                unit_price: Decimal::new(4550, 2),
                taxes: vec!["s_iva_21".into()],
                ..Default::default()
            }],
        };
        let body = document_body(&doc);
        assert_eq!(body["contactId"], "c1");
        assert_eq!(body["items"][0]["subtotal"], json!(45.5));
        assert_eq!(body["items"][0]["tax"], json!(21));
        assert!(body["items"][0].get("price").is_none());
    }
}
