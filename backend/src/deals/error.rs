//! Why working on a document request stopped: the rep has to fix something
//! (permanent), or another attempt later may succeed (transient).

use crate::{
    holded::HoldedError, hubspot::HubspotError, i18n::spanish_part as spanish, quota::Paused,
    settings::StoredKeyError,
};

/// A stop in the deal → document flow. Messages are Spanish (the rep reads
/// them on the deal) and never carry a key or token.
#[derive(Debug, thiserror::Error)]
pub enum DealError {
    /// Waits for the rep (missing association, Holded refused the data, wrong
    /// key…): the request is marked failed with this message.
    #[error("{0}")]
    Permanent(String),
    /// The deal is not one of the portal's deals (or was deleted); waits like
    /// a permanent stop.
    #[error("{0}")]
    DealNotFound(String),
    /// Holded or HubSpot did not answer well; tried again with backoff.
    #[error("{0}")]
    Transient(String),
    /// Holded refused a call: the account spent its monthly request quota.
    #[error("Holded: la cuota mensual de peticiones está agotada")]
    QuotaSpent,
    /// The account's quota is spent: the request waits, without counting
    /// an attempt, until the next month begins.
    #[error("{}", .0.message)]
    Paused(Paused),
    /// Another worker took the request over (this one's lease expired).
    #[error("otro proceso continúa con esta solicitud")]
    LeaseLost,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
}

impl From<StoredKeyError> for DealError {
    fn from(err: StoredKeyError) -> Self {
        match err {
            StoredKeyError::Missing => Self::Permanent(
                "Falta la clave de API de Holded en la configuración de la app.".to_owned(),
            ),
            StoredKeyError::Unreadable(_) => Self::Permanent(
                "No se puede leer la clave de Holded guardada: vuelve a guardarla en la configuración."
                    .to_owned(),
            ),
            StoredKeyError::Client(err) => err.into(),
        }
    }
}

impl From<HoldedError> for DealError {
    fn from(err: HoldedError) -> Self {
        if matches!(err, HoldedError::QuotaExhausted { .. }) {
            return Self::QuotaSpent;
        }
        let message = format!("Holded: {}", spanish(&err.to_string()));
        if err.is_transient() || matches!(err, HoldedError::AmbiguousCreate { .. }) {
            Self::Transient(message)
        } else {
            Self::Permanent(message)
        }
    }
}

impl From<HubspotError> for DealError {
    fn from(err: HubspotError) -> Self {
        let message = format!("HubSpot: {}", spanish(&err.to_string()));
        match err {
            HubspotError::RateLimited { .. }
            | HubspotError::DailyLimit { .. }
            | HubspotError::Server { .. }
            | HubspotError::Transport(_)
            | HubspotError::RefreshFailed(_)
            | HubspotError::TokenStore(_)
            | HubspotError::OAuth(_) => Self::Transient(message),
            _ => Self::Permanent(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holded_failures_are_classified() {
        let timeout: DealError = HoldedError::Timeout.into();
        assert!(matches!(timeout, DealError::Transient(_)));
        let ambiguous: DealError = HoldedError::AmbiguousCreate {
            what: "el documento".into(),
            cause: "timeout".into(),
        }
        .into();
        assert!(matches!(ambiguous, DealError::Transient(_)));
        let refused: DealError = HoldedError::Validation {
            message: "contact_id: Contact not found.".into(),
        }
        .into();
        match refused {
            DealError::Permanent(text) => {
                assert!(
                    text.starts_with("Holded: Holded rechazó los datos"),
                    "{text}"
                );
                assert!(!text.contains("rejected"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hubspot_failures_are_classified() {
        let busy: DealError = HubspotError::Server {
            status: 502,
            message: String::new(),
        }
        .into();
        assert!(matches!(busy, DealError::Transient(_)));
        let gone: DealError = HubspotError::NotFound {
            message: "deal".into(),
        }
        .into();
        assert!(matches!(gone, DealError::Permanent(_)));
    }
}
