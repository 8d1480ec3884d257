//! Lenient reading of Holded JSON: fields that come as numbers or strings
//! (`"16,53"`, `""`), Unix seconds or ISO dates, integer postal codes. Every
//! failure names the field path.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Madrid;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::error::HoldedError;

/// A JSON object being read, with its path for error messages.
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    /// Reads `value` as an object at `path`.
    pub(crate) fn new(value: &'a Value, path: impl Into<String>) -> Result<Self, HoldedError> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(HoldedError::decode(
                path,
                format!("expected an object, got {}", kind(other)),
            )),
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A text field; numbers are accepted as their text; empty text is `None`.
    pub(crate) fn text(&self, key: &str) -> Result<Option<String>, HoldedError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(HoldedError::decode(
                self.field(key),
                format!("expected text, got {}", kind(other)),
            )),
        }
    }

    /// A required text field.
    pub(crate) fn required_text(&self, key: &str) -> Result<String, HoldedError> {
        self.text(key)?
            .ok_or_else(|| HoldedError::decode(self.field(key), "missing"))
    }

    /// A decimal from a number, a string with dot or comma decimals, or `""` (none).
    pub(crate) fn decimal(&self, key: &str) -> Result<Option<Decimal>, HoldedError> {
        match self.present(key) {
            None => Ok(None),
            Some(value) => {
                parse_decimal(value).map_err(|m| HoldedError::decode(self.field(key), m))
            }
        }
    }

    /// A decimal that defaults to zero when absent or empty.
    pub(crate) fn decimal_or_zero(&self, key: &str) -> Result<Decimal, HoldedError> {
        Ok(self.decimal(key)?.unwrap_or_default())
    }

    /// A boolean; Holded also sends `1`/`0` and `"true"`/`"false"`.
    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>, HoldedError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) => Ok(Some(n.as_f64() != Some(0.0))),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => match s.as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(HoldedError::decode(self.field(key), "expected a boolean")),
            },
            Some(other) => Err(HoldedError::decode(
                self.field(key),
                format!("expected a boolean, got {}", kind(other)),
            )),
        }
    }

    /// An integer (number or numeric text).
    pub(crate) fn integer(&self, key: &str) -> Result<Option<i64>, HoldedError> {
        match self.text(key)? {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| HoldedError::decode(self.field(key), "expected an integer")),
        }
    }

    /// Unix seconds (v1) as an instant; `0` and `""` mean none.
    pub(crate) fn unix_time(&self, key: &str) -> Result<Option<DateTime<Utc>>, HoldedError> {
        match self.integer(key)? {
            None | Some(0) => Ok(None),
            Some(secs) => DateTime::from_timestamp(secs, 0)
                .map(Some)
                .ok_or_else(|| HoldedError::decode(self.field(key), "timestamp out of range")),
        }
    }

    /// Unix seconds (v1) as a Europe/Madrid calendar day.
    pub(crate) fn unix_date(&self, key: &str) -> Result<Option<NaiveDate>, HoldedError> {
        Ok(self
            .unix_time(key)?
            .map(|t| t.with_timezone(&Madrid).date_naive()))
    }

    /// ISO-8601 date-time (v2); a bare date is taken as midnight UTC.
    pub(crate) fn iso_time(&self, key: &str) -> Result<Option<DateTime<Utc>>, HoldedError> {
        let Some(text) = self.text(key)? else {
            return Ok(None);
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(|d| Some(d.and_time(NaiveTime::MIN).and_utc()))
            .map_err(|_| HoldedError::decode(self.field(key), "expected an ISO-8601 date-time"))
    }

    /// ISO date `YYYY-MM-DD` (v2); a full date-time keeps its date part.
    pub(crate) fn iso_date(&self, key: &str) -> Result<Option<NaiveDate>, HoldedError> {
        let Some(text) = self.text(key)? else {
            return Ok(None);
        };
        let day = text.get(..10).unwrap_or(&text);
        NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| HoldedError::decode(self.field(key), "expected a YYYY-MM-DD date"))
    }

    /// A postal code; integers (v1) are padded back to five digits for Spain.
    pub(crate) fn postal_code(
        &self,
        key: &str,
        country_code: Option<&str>,
    ) -> Result<Option<String>, HoldedError> {
        let Some(value) = self.present(key) else {
            return Ok(None);
        };
        let code = self.text(key)?;
        let spanish = matches!(country_code, None | Some("ES" | "es"));
        Ok(match (value, code) {
            (Value::Number(_), Some(code)) if spanish && code.len() < 5 => {
                Some(format!("{code:0>5}"))
            }
            (_, code) => code,
        })
    }

    /// A nested object, if present.
    pub(crate) fn object(&self, key: &str) -> Result<Option<Obj<'a>>, HoldedError> {
        self.present(key)
            .map(|v| Obj::new(v, self.field(key)))
            .transpose()
    }

    /// An array's elements with their paths (absent means empty).
    pub(crate) fn array(&self, key: &str) -> Result<Vec<(String, &'a Value)>, HoldedError> {
        match self.present(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{}[{i}]", self.field(key)), v))
                .collect()),
            Some(other) => Err(HoldedError::decode(
                self.field(key),
                format!("expected an array, got {}", kind(other)),
            )),
        }
    }

    /// An array the product needs: absent (or `null`) is an error naming the
    /// field, never an empty list.
    pub(crate) fn required_array(
        &self,
        key: &str,
    ) -> Result<Vec<(String, &'a Value)>, HoldedError> {
        match self.present(key) {
            None => Err(HoldedError::decode(self.field(key), "missing")),
            Some(_) => self.array(key),
        }
    }

    /// An array this answer may leave out (`None`): a list item that carries
    /// less than the record read whole.
    pub(crate) fn optional_array(
        &self,
        key: &str,
    ) -> Result<Option<Vec<(String, &'a Value)>>, HoldedError> {
        match self.present(key) {
            None => Ok(None),
            Some(_) => self.array(key).map(Some),
        }
    }

    /// An array of text.
    pub(crate) fn texts(&self, key: &str) -> Result<Vec<String>, HoldedError> {
        self.array(key)?
            .into_iter()
            .map(|(path, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(HoldedError::decode(
                    path,
                    format!("expected text, got {}", kind(other)),
                )),
            })
            .collect()
    }
}

/// What an answer is: an item of a list, or a record read whole (the only
/// answer that must carry everything the product needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// An element of a list page.
    ListItem,
    /// `GET` of one record.
    Whole,
}

impl Answer {
    /// The array `key` of `obj` as this answer must carry it: required when
    /// whole, possibly left out (`None`) in a list item.
    pub(crate) fn array<'a>(
        self,
        obj: &Obj<'a>,
        key: &str,
    ) -> Result<Option<Vec<(String, &'a Value)>>, HoldedError> {
        match self {
            Self::Whole => obj.required_array(key).map(Some),
            Self::ListItem => obj.optional_array(key),
        }
    }
}

/// Parses a Holded amount: JSON number, `"12.5"`, `"16,53"`, `"1.234,56"`; `""` is an error here
/// (callers treat absent/empty before calling when empty is allowed).
pub(crate) fn parse_decimal(value: &Value) -> Result<Option<Decimal>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map(Some)
                .map_err(|e| format!("not a decimal: {e}"))
        }
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => decimal_from_text(s.trim()).map(Some),
        other => Err(format!("expected a number, got {}", kind(other))),
    }
}

fn decimal_from_text(text: &str) -> Result<Decimal, String> {
    let normalised = match (text.rfind(','), text.rfind('.')) {
        // "1.234,56": dots group thousands, comma is the decimal mark.
        (Some(comma), Some(dot)) if comma > dot => text.replace('.', "").replace(',', "."),
        // "1,234.56": commas group thousands.
        (Some(_), Some(_)) => text.replace(',', ""),
        (Some(_), None) => text.replace(',', "."),
        _ => text.to_owned(),
    };
    Decimal::from_str(&normalised).map_err(|_| format!("not a decimal: {text:?}"))
}

/// Midnight Europe/Madrid of `date`, as Unix seconds (v1 document dates).
pub(crate) fn madrid_midnight(date: NaiveDate) -> i64 {
    let naive = date.and_time(NaiveTime::MIN);
    Madrid
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| naive.and_utc().timestamp())
}

/// Renders a decimal the way v2 expects (plain string, no exponent).
pub(crate) fn decimal_text(value: Decimal) -> String {
    value.normalize().to_string()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_from_every_wire_form() {
        let v = json!({"a": 12.5, "b": "16,53", "c": "", "d": "1.234,56", "e": "7", "f": null, "g": true});
        let o = Obj::new(&v, "").expect("object");
        assert_eq!(o.decimal("a").unwrap(), Some(Decimal::new(125, 1)));
        assert_eq!(o.decimal("b").unwrap(), Some(Decimal::new(1653, 2)));
        assert_eq!(o.decimal("c").unwrap(), None);
        assert_eq!(o.decimal("d").unwrap(), Some(Decimal::new(123456, 2)));
        assert_eq!(o.decimal("e").unwrap(), Some(Decimal::new(7, 0)));
        assert_eq!(o.decimal("f").unwrap(), None);
        match o.decimal("g") {
            Err(HoldedError::Decode { field, .. }) => assert_eq!(field, "g"),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn integer_postal_codes_keep_spanish_leading_zeros() {
        let v = json!({"es": 8001, "text": "08001", "fr": 7500});
        let o = Obj::new(&v, "billAddress").expect("object");
        assert_eq!(
            o.postal_code("es", Some("ES")).unwrap().as_deref(),
            Some("08001")
        );
        assert_eq!(
            o.postal_code("text", None).unwrap().as_deref(),
            Some("08001")
        );
        assert_eq!(
            o.postal_code("fr", Some("FR")).unwrap().as_deref(),
            Some("7500")
        );
    }

    #[test]
    fn dates_from_unix_seconds_and_iso() {
        let v = json!({"u": 1767222000, "iso": "2026-05-02T10:11:12+02:00", "day": "2026-01-01", "zero": 0});
        let o = Obj::new(&v, "").expect("object");
        // 2025-12-31T23:00:00Z is 2026-01-01 in Madrid.
        assert_eq!(
            o.unix_date("u").unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 1)
        );
        assert_eq!(
            madrid_midnight(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            1767222000
        );
        assert_eq!(
            o.iso_time("iso").unwrap().map(|t| t.to_rfc3339()),
            Some("2026-05-02T08:11:12+00:00".to_owned())
        );
        assert_eq!(
            o.iso_date("day").unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 1)
        );
        assert_eq!(o.unix_time("zero").unwrap(), None);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let v = json!({"items": [{"price": {}}]});
        let o = Obj::new(&v, "").expect("object");
        let (path, item) = o.array("items").unwrap().remove(0);
        let line = Obj::new(item, path).unwrap();
        match line.decimal("price") {
            Err(HoldedError::Decode { field, .. }) => assert_eq!(field, "items[0].price"),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}
