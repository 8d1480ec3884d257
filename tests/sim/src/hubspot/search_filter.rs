//! Search filter semantics (operators, case rules, numeric comparison).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{model::PropDef, search::number};

/// HubSpot's filter operators; any other answers 400 (the body does not parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// `value..=highValue`.
    Between,
    /// One of `values`.
    In,
    /// None of `values`.
    NotIn,
    /// Has a value.
    HasProperty,
    /// Has no value.
    NotHasProperty,
    /// Contains a word (`*` wildcards).
    ContainsToken,
    /// Does not contain a word.
    NotContainsToken,
}

/// One filter as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Property (or `associations.{type}`).
    pub property_name: String,
    /// Operator.
    pub operator: Operator,
    /// Value.
    pub value: Option<serde_json::Value>,
    /// Upper bound (`BETWEEN`).
    pub high_value: Option<serde_json::Value>,
    /// Values (`IN`, `NOT_IN`).
    #[serde(default)]
    pub values: Vec<serde_json::Value>,
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Whether `props` pass `filter`. Values compare case-insensitively except
/// on enumerations; numbers and dates compare numerically. String `IN` and
/// `NOT_IN` values must be sent lowercase: only the stored value is lowered.
pub fn matches(
    filter: &Filter,
    props: &BTreeMap<String, String>,
    defs: &BTreeMap<String, PropDef>,
    associated: &dyn Fn(&str, &str) -> bool,
) -> bool {
    let value = filter.value.as_ref().map(text);
    if let Some(to) = filter.property_name.strip_prefix("associations.") {
        return value.is_some_and(|v| associated(to, &v)) == (filter.operator == Operator::Eq);
    }
    let enumeration = defs
        .get(&filter.property_name)
        .is_some_and(|d| d.kind == "enumeration");
    let norm = |s: &str| {
        if enumeration {
            s.to_owned()
        } else {
            s.to_lowercase()
        }
    };
    let actual = props.get(&filter.property_name).filter(|v| !v.is_empty());
    let cmp = |bound: &Option<String>| -> Option<std::cmp::Ordering> {
        let (a, b) = (actual?, bound.as_ref()?);
        match (number(a), number(b)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => Some(norm(a).cmp(&norm(b))),
        }
    };
    let listed = |a: &String| filter.values.iter().any(|v| text(v) == norm(a));
    use std::cmp::Ordering::*;
    match filter.operator {
        Operator::Eq => cmp(&value) == Some(Equal),
        Operator::Neq => cmp(&value) != Some(Equal),
        Operator::Lt => cmp(&value) == Some(Less),
        Operator::Lte => matches!(cmp(&value), Some(Less | Equal)),
        Operator::Gt => cmp(&value) == Some(Greater),
        Operator::Gte => matches!(cmp(&value), Some(Greater | Equal)),
        Operator::Between => {
            matches!(cmp(&value), Some(Greater | Equal))
                && matches!(
                    cmp(&filter.high_value.as_ref().map(text)),
                    Some(Less | Equal)
                )
        }
        Operator::In => actual.is_some_and(listed),
        Operator::NotIn => !actual.is_some_and(listed),
        Operator::HasProperty => actual.is_some(),
        Operator::NotHasProperty => actual.is_none(),
        Operator::ContainsToken => {
            actual.is_some_and(|a| contains_token(a, value.as_deref().unwrap_or("")))
        }
        Operator::NotContainsToken => {
            !actual.is_some_and(|a| contains_token(a, value.as_deref().unwrap_or("")))
        }
    }
}

/// Token match with `*` wildcards.
fn contains_token(actual: &str, token: &str) -> bool {
    let actual = actual.to_lowercase();
    let token = token.to_lowercase();
    let parts: Vec<&str> = token.split('*').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return true;
    }
    if !token.contains('*') {
        return actual
            .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.')
            .any(|w| w == token)
            || actual == token;
    }
    let mut rest = actual.as_str();
    for part in parts {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hubspot::model::{ObjType, builtin_properties};

    fn check(
        operator: &str,
        value: serde_json::Value,
        values: Vec<serde_json::Value>,
        props: &[(&str, &str)],
    ) -> bool {
        let filter: Filter = serde_json::from_value(serde_json::json!({
            "propertyName": "dealname", "operator": operator, "value": value, "values": values
        }))
        .expect("filter");
        let defs = builtin_properties(ObjType::Deals)
            .into_iter()
            .map(|p| (p.name.clone(), p))
            .collect();
        let props = props
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        matches(&filter, &props, &defs, &|_, _| false)
    }

    #[test]
    fn operators_follow_hubspot_rules() {
        let name = [("dealname", "Obra Nueva Madrid")];
        assert!(
            check("EQ", "obra nueva madrid".into(), vec![], &name),
            "case-insensitive on strings"
        );
        assert!(check("CONTAINS_TOKEN", "nueva".into(), vec![], &name));
        assert!(
            check("CONTAINS_TOKEN", "*adri*".into(), vec![], &name),
            "wildcards"
        );
        assert!(
            !check("CONTAINS_TOKEN", "nuev".into(), vec![], &name),
            "tokens are whole words"
        );
        assert!(check(
            "IN",
            serde_json::Value::Null,
            vec!["obra nueva madrid".into()],
            &name
        ));
        assert!(check(
            "NOT_HAS_PROPERTY",
            serde_json::Value::Null,
            vec![],
            &[]
        ));
        assert!(!check(
            "HAS_PROPERTY",
            serde_json::Value::Null,
            vec![],
            &[("dealname", "")]
        ));
        assert!(
            check("NEQ", "x".into(), vec![], &[]),
            "missing values differ from anything"
        );
    }

    #[test]
    fn string_in_values_must_be_sent_lowercase() {
        let name = [("dealname", "ABC")];
        let in_values = |op, v: &str| check(op, serde_json::Value::Null, vec![v.into()], &name);
        assert!(in_values("IN", "abc"), "the stored value is lowered");
        assert!(
            !in_values("IN", "ABC"),
            "uppercase filter values never match"
        );
        assert!(in_values("NOT_IN", "ABC"));
        assert!(!in_values("NOT_IN", "abc"));
    }

    #[test]
    fn unknown_operators_do_not_parse() {
        let parsed = serde_json::from_value::<Filter>(serde_json::json!({
            "propertyName": "dealname", "operator": "STARTS_WITH", "value": "a"
        }));
        assert!(parsed.is_err());
    }
}
