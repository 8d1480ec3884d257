//! The HubSpot client's typed errors, parsed from HubSpot's error bodies.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// What went wrong talking to HubSpot. Messages are Spanish first (a customer
/// may read them), then English. No variant ever carries a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HubspotError {
    /// HubSpot refused a value (400 `VALIDATION_ERROR`).
    #[error("HubSpot rechazó los datos{}: {message} / HubSpot rejected the data", property.as_deref().map(|p| format!(" (propiedad {p})")).unwrap_or_default())]
    Validation {
        /// The offending property, when HubSpot names it.
        property: Option<String>,
        /// HubSpot's machine reason, e.g. `PROPERTY_DOESNT_EXIST`, `INVALID_EMAIL`.
        reason: Option<String>,
        /// HubSpot's message.
        message: String,
    },
    /// The record already exists (409 `CONFLICT`).
    #[error("el registro ya existe en HubSpot{}: {message} / record already exists", existing_id.as_deref().map(|id| format!(" (id {id})")).unwrap_or_default())]
    Conflict {
        /// The id of the existing record, when HubSpot gives it.
        existing_id: Option<String>,
        /// HubSpot's message.
        message: String,
    },
    /// The object does not exist (404).
    #[error("no existe en HubSpot: {message} / not found")]
    NotFound {
        /// HubSpot's message.
        message: String,
    },
    /// The installation lacks scopes (403 `MISSING_SCOPES`).
    #[error("faltan permisos en la instalación de HubSpot: {} / missing scopes", scopes.join(", "))]
    MissingScopes {
        /// The scopes HubSpot asked for.
        scopes: Vec<String>,
    },
    /// HubSpot refused the refresh token (`invalid_grant`): the app was
    /// uninstalled or its access revoked. Only this disconnects a portal.
    #[error(
        "la conexión con HubSpot no es válida, vuelva a instalar la app: {message} / authentication failed"
    )]
    Auth {
        /// What happened (never the token itself).
        message: String,
    },
    /// HubSpot refused the call with a freshly refreshed token (401), or
    /// forbade it for a reason other than missing scopes (403). The
    /// installation is not known to be gone.
    #[error("HubSpot rechazó la petición (HTTP {status}): {message} / request refused")]
    Refused {
        /// 401 or 403.
        status: u16,
        /// HubSpot's message.
        message: String,
    },
    /// Refreshing the access token failed for a reason that may pass
    /// (timeout, 5xx, 429, an unreadable answer): tried again later.
    #[error("no se pudo renovar el acceso a HubSpot por ahora: {0} / token refresh failed")]
    RefreshFailed(String),
    /// Still rate limited after retrying (429 `TEN_SECONDLY_ROLLING` or search).
    #[error("HubSpot limitó las peticiones ({policy}) / rate limited")]
    RateLimited {
        /// HubSpot's `policyName`, or `SEARCH` for the search limit.
        policy: String,
    },
    /// The portal reached its daily limit; no call is made until `until`.
    #[error(
        "el portal {portal_id} alcanzó el límite diario de HubSpot hasta {until} / daily limit reached"
    )]
    DailyLimit {
        /// The portal.
        portal_id: u64,
        /// When calls resume.
        until: DateTime<Utc>,
    },
    /// HubSpot failed (5xx, 423) after retries, or answered something unexpected.
    #[error("HubSpot no respondió correctamente (HTTP {status}): {message} / server error")]
    Server {
        /// HTTP status.
        status: u16,
        /// HubSpot's message, if any.
        message: String,
    },
    /// The request did not reach HubSpot or the answer was cut.
    #[error("no se pudo contactar con HubSpot: {0} / transport error")]
    Transport(String),
    /// HubSpot answered with a body we could not read.
    #[error("respuesta de HubSpot ilegible: {0} / unreadable response")]
    Decode(String),
    /// The OAuth flow failed (bad state, code exchange, refresh).
    #[error("error de autorización OAuth con HubSpot: {0} / OAuth error")]
    OAuth(String),
    /// The caller's token store failed to load or save tokens.
    #[error("no se pudieron guardar o leer los tokens de HubSpot: {0} / token store error")]
    TokenStore(String),
    /// The caller asked for something HubSpot does not allow (e.g. >100 inputs).
    #[error("petición no válida: {0} / invalid request")]
    InvalidRequest(String),
}

impl HubspotError {
    /// Whether HubSpot refused the request for what it carries (400, 404,
    /// 409): sending it again unchanged gets the same answer.
    pub fn refuses_data(&self) -> bool {
        matches!(
            self,
            Self::Validation { .. } | Self::NotFound { .. } | Self::Conflict { .. }
        )
    }

    /// Whether HubSpot may have done what was asked though the answer says
    /// otherwise (a 5xx, a timeout, a connection cut after sending): a
    /// create must be looked for before it is sent again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Server { status, .. } => *status >= 500,
            Self::Transport(_) => true,
            _ => false,
        }
    }

    /// The property a validation error says is required, when that is what
    /// it says (a portal admin made it required and the write lacks it).
    pub fn required_property(&self) -> Option<&str> {
        match self {
            Self::Validation {
                property: Some(property),
                reason,
                message,
            } if reason.as_deref().is_some_and(|r| r.contains("REQUIRED"))
                || message.to_lowercase().contains("required") =>
            {
                Some(property)
            }
            _ => None,
        }
    }
}

/// HubSpot's error body (every field optional, as the spec says).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Error category, e.g. `VALIDATION_ERROR`.
    pub category: Option<String>,
    /// Human message.
    #[serde(default)]
    pub message: String,
    /// Rate-limit policy for 429s.
    pub policy_name: Option<String>,
    /// Details.
    #[serde(default)]
    pub errors: Vec<ErrorDetail>,
    /// Context (e.g. `objectWriteTraceId`, `requiredGranularScopes`).
    #[serde(default)]
    pub context: Value,
}

/// One entry of an error body's `errors`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Machine code, e.g. `PROPERTY_DOESNT_EXIST`.
    pub code: Option<String>,
    /// Context, e.g. `{"propertyName": ["email"]}`.
    #[serde(default)]
    pub context: Value,
}

impl ErrorBody {
    /// Parses a body, tolerating anything (HTML pages, empty bodies).
    pub fn parse(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Self {
            message: String::from_utf8_lossy(bytes).chars().take(300).collect(),
            ..Self::default()
        })
    }

    /// The issues a validation error lists — (property, machine reason,
    /// message) — from its `errors`, or else from the JSON list that HubSpot's
    /// message carries (`Property values were not valid: [{… "error":"X","name":"p"}]`).
    fn issues(&self) -> Vec<(Option<String>, Option<String>, String)> {
        if !self.errors.is_empty() {
            return self
                .errors
                .iter()
                .map(|d| {
                    (
                        first_string(&d.context, "propertyName"),
                        d.code.clone(),
                        d.message.clone(),
                    )
                })
                .collect();
        }
        let Some(Value::Array(items)) = self
            .message
            .find('[')
            .and_then(|start| serde_json::from_str::<Value>(&self.message[start..]).ok())
        else {
            return Vec::new();
        };
        let text =
            |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
        items
            .iter()
            .map(|item| {
                (
                    text(item, "name"),
                    text(item, "error"),
                    text(item, "message").unwrap_or_default(),
                )
            })
            .collect()
    }

    /// A validation error's property and reason (of the first issue that
    /// names one) and its message: the issues' own messages, which HubSpot's
    /// outer message only wraps in JSON, or the outer message when it lists none.
    fn validation(self) -> HubspotError {
        let issues = self.issues();
        let (property, reason) = issues
            .iter()
            .find(|(p, r, _)| p.is_some() || r.is_some())
            .map(|(p, r, _)| (p.clone(), r.clone()))
            .unwrap_or_default();
        let messages: Vec<&str> = issues
            .iter()
            .map(|(_, _, m)| m.as_str())
            .filter(|m| !m.is_empty())
            .collect();
        let message = if messages.is_empty() {
            self.message
        } else {
            messages.join("; ")
        };
        HubspotError::Validation {
            property,
            reason,
            message,
        }
    }

    /// The id in "Existing ID: 123".
    fn existing_id(&self) -> Option<String> {
        let tail = self.message.split("Existing ID:").nth(1)?;
        let id: String = tail
            .trim()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (!id.is_empty()).then_some(id)
    }

    /// Scopes named in a `MISSING_SCOPES` body.
    fn scopes(&self) -> Vec<String> {
        self.errors
            .iter()
            .flat_map(|d| strings(&d.context, "requiredGranularScopes"))
            .chain(strings(&self.context, "requiredGranularScopes"))
            .collect()
    }

    /// Trace ids this error refers to (batch per-record errors).
    pub fn trace_ids(&self) -> Vec<String> {
        strings(&self.context, "objectWriteTraceId")
    }

    /// Maps a non-success answer to a typed error.
    pub fn into_error(self, status: u16) -> HubspotError {
        match (status, self.category.as_deref()) {
            (409, _) | (_, Some("CONFLICT")) => HubspotError::Conflict {
                existing_id: self.existing_id(),
                message: self.message,
            },
            (404, _) | (_, Some("OBJECT_NOT_FOUND")) => HubspotError::NotFound {
                message: self.message,
            },
            (403, _) if self.category.as_deref() == Some("MISSING_SCOPES") => {
                HubspotError::MissingScopes {
                    scopes: self.scopes(),
                }
            }
            (401, _) | (403, _) => HubspotError::Refused {
                status,
                message: self.message,
            },
            (429, _) => HubspotError::RateLimited {
                policy: self.policy_name.unwrap_or_else(|| "SEARCH".into()),
            },
            // The server gave up reading the request: nothing was done, and
            // sending it again is what HTTP says to do, as after a 5xx.
            (408, _) => HubspotError::Server {
                status,
                message: self.message,
            },
            (400..=499, _) => self.validation(),
            _ => HubspotError::Server {
                status,
                message: self.message,
            },
        }
    }
}

fn strings(context: &Value, key: &str) -> Vec<String> {
    match context.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn first_string(context: &Value, key: &str) -> Option<String> {
    strings(context, key).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_names_existing_id() {
        let body = ErrorBody::parse(
            br#"{"status":"error","message":"Contact already exists. Existing ID: 5101","category":"CONFLICT"}"#,
        );
        match body.into_error(409) {
            HubspotError::Conflict { existing_id, .. } => {
                assert_eq!(existing_id.as_deref(), Some("5101"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_request_timeout_is_retried_as_a_server_error() {
        match ErrorBody::parse(b"Request Timeout").into_error(408) {
            HubspotError::Server { status: 408, .. } => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn validation_names_property_from_message() {
        let body = ErrorBody::parse(
            br#"{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"missing\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"missing\"}]"}"#,
        );
        match body.into_error(400) {
            HubspotError::Validation {
                property,
                reason,
                message,
            } => {
                assert_eq!(property.as_deref(), Some("missing"));
                assert_eq!(reason.as_deref(), Some("PROPERTY_DOESNT_EXIST"));
                assert_eq!(message, "Property \"missing\" does not exist");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_scopes_are_named() {
        let body = ErrorBody::parse(
            br#"{"status":"error","category":"MISSING_SCOPES","message":"This app hasn't been granted all required scopes","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["crm.objects.companies.write"]}}]}"#,
        );
        match body.into_error(403) {
            HubspotError::MissingScopes { scopes } => {
                assert_eq!(scopes, ["crm.objects.companies.write"])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn html_bodies_become_server_errors() {
        let body = ErrorBody::parse(b"<html>Bad gateway</html>");
        assert!(matches!(
            body.into_error(502),
            HubspotError::Server { status: 502, .. }
        ));
    }
}
