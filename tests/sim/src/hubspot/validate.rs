//! Property value validation as HubSpot does it on writes.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{
    errors::PropertyIssue,
    model::{ObjType, Portal},
};

/// Checks every value an input writes; `existing` holds the record's current
/// values on updates (a deal's stage is checked against its pipeline).
pub fn check(
    portal: &Portal,
    t: ObjType,
    values: &BTreeMap<String, String>,
    existing: Option<&BTreeMap<String, String>>,
) -> Vec<PropertyIssue> {
    let defs = portal.props(t);
    let mut issues = Vec::new();
    let issue = |name: &str, code: &'static str, message: String| PropertyIssue {
        name: name.to_owned(),
        code,
        message,
    };
    for (name, value) in values {
        let Some(def) = defs.get(name) else {
            issues.push(issue(
                name,
                "PROPERTY_DOESNT_EXIST",
                format!("Property \"{name}\" does not exist"),
            ));
            continue;
        };
        if def.read_only {
            issues.push(issue(
                name,
                "READ_ONLY_VALUE",
                format!("{name} is a read only property; its value cannot be set."),
            ));
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let bad = match def.kind.as_str() {
            // String properties hold at most 65,536 characters (HubSpot's
            // property docs); the error code's wording is our best guess.
            "string" if value.chars().count() > MAX_STRING_CHARS => Some((
                "VALUE_TOO_LONG",
                format!(
                    "{name} is {} characters long; the maximum is {MAX_STRING_CHARS}.",
                    value.chars().count()
                ),
            )),
            "number"
                if value.parse::<Decimal>().is_err()
                    && Decimal::from_scientific(value).is_err() =>
            {
                Some((
                    "INVALID_DECIMAL",
                    format!("{value} was not a valid number."),
                ))
            }
            // "Price … cannot be negative" (line items docs); the code is our guess.
            "number" if t == ObjType::LineItems && name == "price" && negative(value) => Some((
                "INVALID_DECIMAL",
                format!("{value} is not a valid price: the price cannot be negative."),
            )),
            "date" | "datetime" if !valid_date(value, def.kind == "date") => {
                Some(("INVALID_DATE", format!("{value} was not a valid date.")))
            }
            "bool" if value != "true" && value != "false" => Some((
                "INVALID_BOOLEAN",
                format!("{value} was not a valid boolean."),
            )),
            "enumeration" if t != ObjType::Deals || (name != "pipeline" && name != "dealstage") => {
                let allowed: Vec<&str> = def.options.iter().map(|o| o.value.as_str()).collect();
                value
                    .split(';')
                    .filter(|v| !v.is_empty())
                    .find(|v| !allowed.contains(v))
                    .map(|v| {
                        (
                            "INVALID_OPTION",
                            format!(
                                "{v} was not one of the allowed options: [{}]",
                                allowed.join(", ")
                            ),
                        )
                    })
            }
            _ => None,
        };
        if let Some((code, message)) = bad {
            issues.push(issue(name, code, message));
        }
    }
    if t == ObjType::Contacts
        && let Some(email) = values.get("email").filter(|e| !e.is_empty())
        && !valid_email(email)
    {
        issues.push(issue(
            "email",
            "INVALID_EMAIL",
            format!("Email address {email} is invalid"),
        ));
    }
    if t == ObjType::Deals {
        issues.extend(check_stage(portal, values, existing));
    }
    issues
}

fn check_stage(
    portal: &Portal,
    values: &BTreeMap<String, String>,
    existing: Option<&BTreeMap<String, String>>,
) -> Option<PropertyIssue> {
    let current = |k: &str| {
        values
            .get(k)
            .or_else(|| existing.and_then(|e| e.get(k)))
            .filter(|v| !v.is_empty())
    };
    let pipeline_id = current("pipeline").map_or("default", String::as_str);
    let Some(pipeline) = portal.pipelines.iter().find(|p| p.id == pipeline_id) else {
        return Some(PropertyIssue {
            name: "pipeline".into(),
            code: "INVALID_OPTION",
            message: format!("{pipeline_id} was not one of the allowed options"),
        });
    };
    let stage = current("dealstage")?;
    if pipeline.stages.iter().any(|s| &s.id == stage) {
        return None;
    }
    let allowed: Vec<&str> = pipeline.stages.iter().map(|s| s.id.as_str()).collect();
    Some(PropertyIssue {
        name: "dealstage".into(),
        code: "INVALID_OPTION",
        message: format!(
            "{stage} was not one of the allowed options: [{}]",
            allowed.join(", ")
        ),
    })
}

fn negative(value: &str) -> bool {
    value
        .parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(value))
        .is_ok_and(|d| d.is_sign_negative() && !d.is_zero())
}

fn valid_date(value: &str, date_only: bool) -> bool {
    if let Ok(ms) = value.parse::<i64>() {
        return !date_only || ms.rem_euclid(86_400_000) == 0;
    }
    if chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() {
        return true;
    }
    !date_only && chrono::DateTime::parse_from_rfc3339(value).is_ok()
}

/// Longest value a string property accepts.
pub const MAX_STRING_CHARS: usize = 65_536;

/// A plausible address: one `@`, a non-empty local part and a dotted domain.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hubspot::model::Tier;

    fn portal() -> Portal {
        Portal::new(1, Tier::Pro, "Europe/Madrid".into(), false)
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rejects_like_hubspot() {
        let p = portal();
        let codes = |t, v: &[(&str, &str)]| {
            check(&p, t, &values(v), None)
                .into_iter()
                .map(|i| i.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(ObjType::Contacts, &[("nope", "x")]),
            ["PROPERTY_DOESNT_EXIST"]
        );
        assert_eq!(
            codes(ObjType::Contacts, &[("email", "not-an-email")]),
            ["INVALID_EMAIL"]
        );
        assert_eq!(
            codes(ObjType::Products, &[("price", "12,5")]),
            ["INVALID_DECIMAL"]
        );
        assert_eq!(
            codes(ObjType::Deals, &[("closedate", "tomorrow")]),
            ["INVALID_DATE"]
        );
        assert_eq!(
            codes(ObjType::Deals, &[("dealstage", "nowhere")]),
            ["INVALID_OPTION"]
        );
        assert_eq!(
            codes(ObjType::LineItems, &[("price", "-0.01")]),
            ["INVALID_DECIMAL"]
        );
        assert!(codes(ObjType::LineItems, &[("price", "0")]).is_empty());
        assert_eq!(
            codes(ObjType::LineItems, &[("amount", "3")]),
            ["READ_ONLY_VALUE"]
        );
        assert!(
            codes(
                ObjType::Deals,
                &[
                    ("dealstage", "closedwon"),
                    ("amount", "10.5"),
                    ("closedate", "2026-01-01")
                ]
            )
            .is_empty()
        );
        assert!(
            codes(
                ObjType::Contacts,
                &[("email", "ana@example.es"), ("phone", "")]
            )
            .is_empty()
        );
    }
}
