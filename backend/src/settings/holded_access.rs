//! How the service reaches a portal's Holded account: the key from its
//! settings, opened with the service's key for secrets at rest, against
//! `HOLDED_API_BASE`. One place for the sync, the deal flow and the
//! settings' own checks.

use secrecy::SecretString;
use url::Url;

use crate::{
    crypto::{Cipher, CryptoError, SealedFor},
    holded::{ClientOptions, HoldedClient, HoldedError},
    store::entities::{holded_webhook, settings},
};

/// Why the stored key gives no client.
#[derive(Debug, thiserror::Error)]
pub enum StoredKeyError {
    /// The portal saved no key.
    #[error("falta la clave de API de Holded en la configuración")]
    Missing,
    /// The sealed key cannot be opened (another `HH_SECRET_KEY`?).
    #[error("no se puede leer la clave de Holded guardada: {0}")]
    Unreadable(#[from] CryptoError),
    /// The client cannot be built.
    #[error(transparent)]
    Client(#[from] HoldedError),
}

/// Opens, seals and uses Holded keys; cheap to clone.
#[derive(Clone, Debug)]
pub struct HoldedAccess {
    cipher: Cipher,
    base: Url,
    options: ClientOptions,
}

impl HoldedAccess {
    /// Keys sealed with `cipher`, used against Holded at `base`.
    pub fn new(cipher: Cipher, base: Url, options: ClientOptions) -> Self {
        Self {
            cipher,
            base,
            options,
        }
    }

    /// A client for `key` (one the user just typed, say).
    pub fn client(&self, key: SecretString) -> Result<HoldedClient, HoldedError> {
        HoldedClient::new(&self.base, key, self.options.clone())
    }

    /// A client with the key the portal's `settings` keep.
    pub fn stored_client(
        &self,
        settings: &settings::Model,
    ) -> Result<HoldedClient, StoredKeyError> {
        let sealed = settings
            .holded_key_enc
            .as_deref()
            .ok_or(StoredKeyError::Missing)?;
        let key = self
            .cipher
            .open(sealed, holded_key_slot(settings.portal_id))?;
        let options = ClientOptions {
            portal: Some(settings.portal_id),
            ..self.options.clone()
        };
        Ok(HoldedClient::new(&self.base, key, options)?)
    }

    /// Calls a month a Holded account's plan allows (`HH_HOLDED_MONTHLY_QUOTA`).
    pub fn monthly_quota(&self) -> u64 {
        self.options.monthly_quota
    }

    /// `key` sealed for the settings row of `portal_id`.
    pub fn seal(&self, key: &SecretString, portal_id: i64) -> String {
        self.cipher.seal(key, holded_key_slot(portal_id))
    }

    /// A Holded webhook signing secret sealed for `portal_id`.
    pub fn seal_webhook_secret(&self, secret: &SecretString, portal_id: i64) -> String {
        self.cipher.seal(secret, webhook_secret_slot(portal_id))
    }

    /// The signing secret of `row`'s webhook.
    pub fn webhook_secret(
        &self,
        row: &holded_webhook::Model,
    ) -> Result<Option<SecretString>, CryptoError> {
        row.secret_enc
            .as_deref()
            .map(|sealed| self.cipher.open(sealed, webhook_secret_slot(row.portal_id)))
            .transpose()
    }
}

/// Where a portal's Holded webhook signing secret is sealed:
/// `holded_webhooks.secret_enc`.
pub fn webhook_secret_slot(portal_id: i64) -> SealedFor {
    SealedFor {
        table: "holded_webhooks",
        column: "secret_enc",
        portal_id,
    }
}

/// Where a portal's Holded key is sealed: `settings.holded_key_enc`.
pub fn holded_key_slot(portal_id: i64) -> SealedFor {
    SealedFor {
        table: "settings",
        column: "holded_key_enc",
        portal_id,
    }
}
