//! Typed Holded errors. Each message (Spanish first, as a customer may read
//! it) says what happened and what to do. No message contains a key.

use std::time::Duration;

use super::types::Generation;

/// Everything a Holded call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HoldedError {
    /// The key was rejected (unknown, revoked or missing).
    #[error(
        "Holded rechazó la clave API ({generation}). Crea una clave nueva en Holded → Configuración → Desarrolladores y vuelve a guardarla. / Holded rejected the API key."
    )]
    Unauthorized {
        /// Generation the key was sent to.
        generation: &'static str,
    },
    /// The key belongs to the other API generation.
    #[error(
        "La clave es de otra generación de la API de Holded (se esperaba {expected}). Las claves v2 empiezan por «pat_»; las v1 no. / The key belongs to the other Holded API generation."
    )]
    WrongKeyGeneration {
        /// Generation the key was used with.
        expected: &'static str,
    },
    /// The v2 token lacks a permission.
    #[error(
        "Al token de Holded le falta el permiso «{permission}». Edita el token en Holded → Desarrolladores y añádelo. / The Holded token lacks permission {permission}."
    )]
    MissingPermission {
        /// The scope Holded named (e.g. `contacts:contacts.read`).
        permission: String,
    },
    /// The record does not exist.
    #[error("Holded no encuentra {what}. / Not found in Holded.")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// Holded rejected the request's content.
    #[error(
        "Holded rechazó los datos: {message}. Corrige el registro y reintenta. / Holded rejected the data."
    )]
    Validation {
        /// Holded's own message.
        message: String,
    },
    /// Too many requests; retries were exhausted.
    #[error("Holded limita las peticiones; reintenta más tarde. / Holded rate limit reached.")]
    RateLimited {
        /// The wait Holded asked for, if it said.
        retry_after: Option<Duration>,
    },
    /// The account spent its monthly request quota: nothing more until next
    /// month (or a bigger plan). Not retried.
    #[error(
        "Holded rechazó la petición: la cuenta agotó su cuota mensual de peticiones a la API ({detail}). / Holded monthly request quota spent."
    )]
    QuotaExhausted {
        /// What Holded said.
        detail: String,
    },
    /// Holded failed (5xx); retries were exhausted.
    #[error("Holded falló (HTTP {status}); reintenta más tarde. / Holded server error.")]
    Server {
        /// HTTP status.
        status: u16,
    },
    /// No answer in time; retries were exhausted.
    #[error("Holded no respondió a tiempo; reintenta más tarde. / Holded timed out.")]
    Timeout,
    /// The connection could not be opened (nothing was sent).
    #[error("No se pudo conectar con Holded: {0}. / Could not reach Holded.")]
    Connection(String),
    /// The connection broke while the request or its answer was in flight.
    #[error(
        "La conexión con Holded se cortó: {0}; reintenta más tarde. / Connection to Holded interrupted."
    )]
    Interrupted(String),
    /// An HTML page instead of JSON (v1 answers unknown routes and some bad requests so, with HTTP 200).
    #[error(
        "Holded devolvió una página web en lugar de datos (HTTP {status}, {path}); la petición no es válida para Holded. / Holded answered with an HTML page."
    )]
    HtmlPage {
        /// HTTP status (usually 200).
        status: u16,
        /// Request path.
        path: String,
    },
    /// The body could not be read as expected.
    #[error(
        "Respuesta de Holded no reconocida en «{field}»: {message}. / Undecodable Holded response."
    )]
    Decode {
        /// Path of the field that failed (e.g. `items[3].price`).
        field: String,
        /// What was wrong.
        message: String,
    },
    /// A create may or may not have happened (sent, then no clear answer).
    /// Look for the record before creating again.
    #[error(
        "No sabemos si Holded creó {what} (la respuesta no llegó). Comprueba en Holded antes de crearlo otra vez. / Ambiguous create outcome: {cause}"
    )]
    AmbiguousCreate {
        /// What was being created.
        what: String,
        /// What went wrong after sending.
        cause: String,
    },
}

impl HoldedError {
    /// Whether another attempt of a safe (read or idempotent) request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout
                | Self::Connection(_)
                | Self::Interrupted(_)
        )
    }

    /// The wait Holded asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn decode(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Decode {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn unauthorized(generation: Generation) -> Self {
        Self::Unauthorized {
            generation: generation.as_str(),
        }
    }
}
