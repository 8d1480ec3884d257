//! Writing a batch so that a record HubSpot refuses for its data never takes
//! its neighbours down. Batch create answers per record (207) when every
//! input has a trace id, but HubSpot may refuse a whole batch upsert or
//! update for one bad input (400, nothing written, the message naming the bad
//! value). Then the inputs the error names are set aside as refused and the
//! rest is sent again; when the error names none, the batch is halved until
//! the refused inputs stand alone. One bad record among 100 costs one extra
//! call.

use std::future::Future;

use super::write::{BATCH, Settled, settle};
use crate::hubspot::{
    BatchOutcome, CreateInput, HubspotError, ObjectType, PortalClient, Properties, UpdateInput,
    UpsertInput,
};

/// What isolation reads of a batch write input.
pub struct View<'a> {
    trace_id: &'a str,
    properties: &'a Properties,
    /// The unique property and value identifying the record (upserts, or
    /// updates by a unique property).
    key: Option<(&'a str, &'a str)>,
    /// The record id, for updates by id.
    record_id: Option<&'a str>,
}

impl View<'_> {
    /// The value the input writes to `property` (or identifies its record by).
    fn value(&self, property: &str) -> Option<&str> {
        match self.key {
            Some((key, value)) if key == property => Some(value),
            _ => self.properties.get(property).map(String::as_str),
        }
    }
}

/// A batch write input.
pub trait BatchInput: Clone + Send + Sync {
    /// What isolation reads of it.
    fn view(&self) -> View<'_>;
    /// Sends `inputs` as one batch.
    fn send<'a>(
        client: &'a PortalClient,
        object: ObjectType,
        inputs: &'a [Self],
    ) -> impl Future<Output = Result<BatchOutcome, HubspotError>> + Send + 'a;
}

impl BatchInput for CreateInput {
    fn view(&self) -> View<'_> {
        View {
            trace_id: &self.trace_id,
            properties: &self.properties,
            key: None,
            record_id: None,
        }
    }

    fn send<'a>(
        client: &'a PortalClient,
        object: ObjectType,
        inputs: &'a [Self],
    ) -> impl Future<Output = Result<BatchOutcome, HubspotError>> + Send + 'a {
        client.batch_create(object, inputs)
    }
}

impl BatchInput for UpdateInput {
    fn view(&self) -> View<'_> {
        View {
            trace_id: &self.trace_id,
            properties: &self.properties,
            key: self.id_property.as_deref().map(|p| (p, self.id.as_str())),
            record_id: self.id_property.is_none().then_some(self.id.as_str()),
        }
    }

    fn send<'a>(
        client: &'a PortalClient,
        object: ObjectType,
        inputs: &'a [Self],
    ) -> impl Future<Output = Result<BatchOutcome, HubspotError>> + Send + 'a {
        client.batch_update(object, inputs)
    }
}

impl BatchInput for UpsertInput {
    fn view(&self) -> View<'_> {
        View {
            trace_id: &self.trace_id,
            properties: &self.properties,
            key: Some((&self.id_property, &self.id)),
            record_id: None,
        }
    }

    fn send<'a>(
        client: &'a PortalClient,
        object: ObjectType,
        inputs: &'a [Self],
    ) -> impl Future<Output = Result<BatchOutcome, HubspotError>> + Send + 'a {
        client.batch_upsert(object, inputs)
    }
}

/// Writes `inputs` in batches of up to 100, isolating the ones HubSpot
/// refuses for their data. `creates[i]` says whether input `i` may create a
/// record (a refusal for a missing required property can only name those).
/// Any other failure (rate limits, 5xx, authentication) ends the write.
pub async fn write<I: BatchInput>(
    client: &PortalClient,
    object: ObjectType,
    inputs: &[I],
    creates: &[bool],
) -> Result<Settled, HubspotError> {
    let mut settled = Settled::default();
    let all: Vec<usize> = (0..inputs.len()).collect();
    let mut groups: Vec<Vec<usize>> = all.chunks(BATCH).rev().map(<[usize]>::to_vec).collect();
    while let Some(group) = groups.pop() {
        let batch: Vec<I> = group.iter().map(|&i| inputs[i].clone()).collect();
        match I::send(client, object, &batch).await {
            Ok(outcome) => {
                let traces: Vec<String> =
                    batch.iter().map(|i| i.view().trace_id.to_owned()).collect();
                let answer = settle(outcome, &traces);
                settled
                    .written
                    .extend(answer.written.into_iter().map(|(j, r)| (group[j], r)));
                settled
                    .refused
                    .extend(answer.refused.into_iter().map(|(j, e)| (group[j], e)));
            }
            Err(error) if error.refuses_data() => {
                if let [only] = group[..] {
                    settled.refused.push((only, error));
                    continue;
                }
                let (named, rest): (Vec<usize>, Vec<usize>) = group
                    .iter()
                    .partition(|&&i| names(&error, &inputs[i].view(), creates[i]));
                if named.is_empty() {
                    let (first, second) = group.split_at(group.len() / 2);
                    groups.push(second.to_vec());
                    groups.push(first.to_vec());
                } else {
                    settled
                        .refused
                        .extend(named.into_iter().map(|i| (i, error.clone())));
                    if !rest.is_empty() {
                        groups.push(rest);
                    }
                }
            }
            Err(error) => return Err(error),
        }
    }
    settled.written.sort_by_key(|(i, _)| *i);
    settled.refused.sort_by_key(|(i, _)| *i);
    Ok(settled)
}

/// Whether `error` certainly names `input`: a required property the input
/// lacks (only inputs that may create a record), the bad value of the
/// property it names, or the record id it did not find. A conflict names no
/// input: the existing record's id says nothing about which input collided.
fn names(error: &HubspotError, input: &View<'_>, creates: bool) -> bool {
    match error {
        HubspotError::Validation { .. } if let Some(required) = error.required_property() => {
            creates && input.value(required).is_none_or(str::is_empty)
        }
        HubspotError::Validation {
            property: Some(property),
            message,
            ..
        } => input
            .value(property)
            .filter(|v| !v.is_empty())
            .is_some_and(|value| mentions(message, value)),
        HubspotError::NotFound { message } => {
            input.record_id.is_some_and(|id| mentions(message, id))
        }
        _ => false,
    }
}

/// Whether `text` mentions `value` as a whole word: not inside a longer one
/// (`5` is not mentioned by `12,5`).
fn mentions(text: &str, value: &str) -> bool {
    let opens = |c: char| c.is_whitespace() || "\"'«[(".contains(c);
    let closes = |c: char| c.is_whitespace() || "\"'»])".contains(c);
    text.match_indices(value).any(|(at, _)| {
        text[..at].chars().next_back().is_none_or(opens)
            && text[at + value.len()..].chars().next().is_none_or(closes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(error: &HubspotError, input: &impl BatchInput, creates: bool) -> bool {
        names(error, &input.view(), creates)
    }

    fn upsert(holded_id: &str, pairs: &[(&str, &str)]) -> UpsertInput {
        let properties: Properties = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        UpsertInput::new("holded_id", holded_id, properties)
    }

    fn invalid(property: &str, message: &str) -> HubspotError {
        HubspotError::Validation {
            property: Some(property.to_owned()),
            reason: None,
            message: message.to_owned(),
        }
    }

    #[test]
    fn a_bad_value_names_the_inputs_that_carry_it_and_no_other() {
        let error = invalid("email", "Email address roto@@ejemplo is invalid");
        assert!(named(
            &error,
            &upsert("h1", &[("email", "roto@@ejemplo")]),
            false
        ));
        assert!(!named(
            &error,
            &upsert("h2", &[("email", "roto@ejemplo.es")]),
            false
        ));
        assert!(!named(
            &error,
            &upsert("h3", &[("email", "ejemplo")]),
            false
        ));
        let decimal = invalid("price", "12,5 was not a valid number.");
        assert!(named(&decimal, &upsert("p1", &[("price", "12,5")]), false));
        assert!(!named(&decimal, &upsert("p2", &[("price", "5")]), false));
        assert!(!named(&decimal, &upsert("p3", &[("price", "12")]), false));
    }

    #[test]
    fn a_missing_required_property_names_only_inputs_that_may_create() {
        let error = invalid("hs_legal_basis", "hs_legal_basis is required");
        let lacking = upsert("h1", &[("email", "ana@ejemplo.es")]);
        assert!(named(&error, &lacking, true));
        assert!(
            !named(&error, &lacking, false),
            "an update is not refused for it"
        );
        let carrying = upsert("h2", &[("hs_legal_basis", "Consentimiento")]);
        assert!(!named(&error, &carrying, true));
        // A bad value names no input that lacks the property.
        let too_long = invalid("address", "address is 66000 characters long");
        assert!(!named(&too_long, &lacking, true));
    }

    #[test]
    fn not_found_names_the_record_id_and_conflicts_name_nothing() {
        let error = HubspotError::NotFound {
            message: "Object not found.  objectId are usually numeric. id: 10234".into(),
        };
        let update = |id: &str| UpdateInput::new(id, Properties::new());
        assert!(named(&error, &update("10234"), false));
        assert!(!named(&error, &update("1023"), false));
        let conflict = HubspotError::Conflict {
            existing_id: Some("10234".into()),
            message: "Contact already exists. Existing ID: 10234".into(),
        };
        assert!(!named(&conflict, &update("10234"), false));
    }
}
