//! Secrets at rest and the service's other keys, all from `HH_SECRET_KEY`.
//!
//! From the one secret key, HKDF-SHA256 derives a separate key per use: one
//! for secrets at rest, one to sign OAuth `state` values, one to sign console
//! sessions ([`Keyring`]). A secret at rest is sealed with AES-256-GCM, a
//! random 96-bit nonce, and associated data naming what it protects
//! ([`SealedFor`]: table, column, portal), so a ciphertext copied into
//! another row or portal does not open. It is stored as the text
//! `hh2.<key id>.<base64url(nonce ‖ ciphertext)>`; the key id (the first four
//! bytes of SHA-256 of the secret key, in hex) tells a value sealed under
//! another key from one that was altered.
//!
//! Rotation: with `HH_SECRET_KEY_PREVIOUS` set, values sealed under the
//! previous key still open; new values are sealed under the current one, and
//! `rotate-secrets` re-seals the rest. Values of the first format
//! (`hh1.…`: the secret key itself, no associated data), written before this
//! version, still open, and are re-sealed by `rotate-secrets` too.
//!
//! Also here: expiring signed tokens (HMAC-SHA256), for the OAuth `state` and
//! the console's session cookie.

use std::{fmt, path::Path};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use aes_gcm::{
    Aes256Gcm, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng, Payload},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

/// The current format: derived key, associated data.
const PREFIX: &str = "hh2";
/// The first format: the secret key itself, no associated data (read only).
const LEGACY_PREFIX: &str = "hh1";
const NONCE_LEN: usize = 12;

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The value is not in the `hh2.<kid>.<data>` (or `hh1.…`) format.
    #[error("the stored secret is not in a format this version understands")]
    Malformed,
    /// The value was sealed under a different key.
    #[error(
        "the stored secret was encrypted with another HH_SECRET_KEY (key id {found}, current key id {expected})"
    )]
    WrongKey {
        /// Key id found in the value.
        found: String,
        /// Key id of the key in use.
        expected: String,
    },
    /// The ciphertext or nonce was altered, or it belongs to another row.
    #[error(
        "the stored secret failed its integrity check: it was altered, corrupted or copied from another record"
    )]
    Tampered,
}

/// Why the secret key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The text is not base64 of exactly 32 bytes.
    #[error(
        "must be the base64 encoding of exactly 32 bytes (generate one with `openssl rand -base64 32`)"
    )]
    Invalid,
    /// The key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// The application's secret key, kept out of `Debug` output.
#[derive(Clone)]
pub struct SecretKey(std::sync::Arc<SecretBox<[u8; 32]>>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([REDACTED])")
    }
}

impl SecretKey {
    /// Parses a key from its base64 text (standard alphabet, padding optional).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let trimmed = text.trim();
        let bytes = STANDARD
            .decode(trimmed)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
            .map_err(|_| KeyError::Invalid)?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Invalid)?;
        Ok(Self(std::sync::Arc::new(SecretBox::new(Box::new(array)))))
    }

    /// Generates a fresh random key.
    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        let array: [u8; 32] = key.into();
        Self(std::sync::Arc::new(SecretBox::new(Box::new(array))))
    }

    /// The key as base64 text, for writing to the key file.
    fn to_base64(&self) -> String {
        STANDARD.encode(self.0.expose_secret())
    }

    /// Reads the key stored at `path`, or generates one there (mode 0600) when
    /// the file does not exist. Returns the key and whether it was generated.
    pub fn load_or_generate(path: &Path) -> Result<(Self, bool), KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::from_base64(&text)?, false)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                write_private_file(path, &key.to_base64()).map_err(io)?;
                Ok((key, true))
            }
            Err(err) => Err(io(err)),
        }
    }

    /// Short public identifier of this key (not secret: a truncated hash).
    pub fn key_id(&self) -> String {
        to_hex(&Sha256::digest(self.0.expose_secret())[..4])
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key)
        .expect("HMAC accepts keys of any length");
    mac.update(message);
    let mut out = [0; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// Why a token made by [`sign_expiring`] was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not `{nonce}.{expiry}.{mac}`.
    #[error("malformed token")]
    Malformed,
    /// Not signed with this key, or altered.
    #[error("token signature mismatch")]
    BadSignature,
    /// Past its expiry.
    #[error("token expired")]
    Expired,
}

fn token_mac(key: &[u8], payload: &str) -> String {
    URL_SAFE_NO_PAD.encode(hmac_sha256(key, payload.as_bytes()))
}

/// An unguessable token `{nonce}.{expiry}.{mac}` valid until `expires_at`:
/// a random nonce, the expiry in Unix seconds, and HMAC-SHA256 under `key`.
pub fn sign_expiring(key: &[u8], expires_at: DateTime<Utc>) -> String {
    let payload = format!(
        "{}.{}",
        uuid::Uuid::new_v4().simple(),
        expires_at.timestamp()
    );
    let mac = token_mac(key, &payload);
    format!("{payload}.{mac}")
}

/// Checks a token made by [`sign_expiring`] under the same `key` (the
/// signature in constant time, then the expiry) and returns its nonce.
pub fn verify_expiring<'t>(
    key: &[u8],
    token: &'t str,
    now: DateTime<Utc>,
) -> Result<&'t str, TokenError> {
    let (payload, mac) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let expected = token_mac(key, payload);
    if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
        return Err(TokenError::BadSignature);
    }
    let (nonce, expiry) = payload.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let expiry: i64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
    if now.timestamp() > expiry {
        return Err(TokenError::Expired);
    }
    Ok(nonce)
}

/// Lower-case hexadecimal of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, format!("{contents}\n"))
}

/// HKDF-SHA256 of the secret key for one purpose.
fn derive(key: &SecretKey, purpose: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    hkdf::Hkdf::<Sha256>::new(None, key.0.expose_secret())
        .expand(purpose, &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// What a sealed value protects: its associated data, so that a ciphertext
/// opens only in the row and column it was sealed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedFor {
    /// Table, e.g. `settings`.
    pub table: &'static str,
    /// Column, e.g. `holded_key_enc`.
    pub column: &'static str,
    /// The portal whose row it is.
    pub portal_id: i64,
}

impl SealedFor {
    fn associated_data(&self) -> String {
        format!("{}.{}.{}", self.table, self.column, self.portal_id)
    }
}

/// One secret key's keys for secrets at rest.
#[derive(Clone)]
struct SealingKey {
    key_id: String,
    /// HKDF-derived key for `hh2` values.
    derived: Aes256Gcm,
    /// The secret key itself, for `hh1` values.
    legacy: Aes256Gcm,
    /// HKDF-derived key for [`Cipher::fingerprint`].
    fingerprint: std::sync::Arc<SecretBox<[u8; 32]>>,
}

impl SealingKey {
    fn new(key: &SecretKey) -> Self {
        let derived = derive(key, b"holded-hubspot/secrets-at-rest/v2");
        Self {
            key_id: key.key_id(),
            derived: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&derived)),
            legacy: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.0.expose_secret())),
            fingerprint: std::sync::Arc::new(SecretBox::new(Box::new(derive(
                key,
                b"holded-hubspot/fingerprint/v1",
            )))),
        }
    }
}

/// Seals and opens secrets at rest with the current key, and opens values
/// sealed under the previous one (see the module docs).
#[derive(Clone)]
pub struct Cipher {
    current: SealingKey,
    previous: Option<SealingKey>,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("key_id", &self.current.key_id)
            .field(
                "previous_key_id",
                &self.previous.as_ref().map(|k| &k.key_id),
            )
            .finish()
    }
}

/// Whether a sealed value is in the current format under the current key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealState {
    /// Nothing to do.
    Current,
    /// Opens, but should be re-sealed (previous key or first format).
    Stale,
}

impl Cipher {
    /// A cipher sealing with `key`.
    pub fn new(key: SecretKey) -> Self {
        Self {
            current: SealingKey::new(&key),
            previous: None,
        }
    }

    /// Also opens values sealed under `previous` (key rotation).
    pub fn with_previous(mut self, previous: Option<SecretKey>) -> Self {
        self.previous = previous.as_ref().map(SealingKey::new);
        self
    }

    /// The current key's id.
    pub fn key_id(&self) -> &str {
        &self.current.key_id
    }

    /// A keyed hash (hex, 128 bits) of `value` for `purpose`: the same value
    /// gives the same text under the current key, and the value cannot be
    /// recovered from it, even when it is guessable (a NIF, an email). A new
    /// `HH_SECRET_KEY` gives other fingerprints.
    pub fn fingerprint(&self, purpose: &str, value: &str) -> String {
        let message = [purpose.as_bytes(), b"\0", value.as_bytes()].concat();
        to_hex(&hmac_sha256(self.current.fingerprint.expose_secret(), &message)[..16])
    }

    /// Encrypts `plaintext` for `target` with a fresh random nonce.
    pub fn seal(&self, plaintext: &SecretString, target: SealedFor) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = target.associated_data();
        let ciphertext = self
            .current
            .derived
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut data = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&ciphertext);
        format!(
            "{PREFIX}.{}.{}",
            self.current.key_id,
            URL_SAFE_NO_PAD.encode(data)
        )
    }

    /// Decrypts a value sealed for `target` (by [`Cipher::seal`], under the
    /// current or the previous key, or in the first format).
    pub fn open(&self, sealed: &str, target: SealedFor) -> Result<SecretString, CryptoError> {
        self.open_with_state(sealed, target)
            .map(|(secret, _)| secret)
    }

    /// [`Cipher::open`], also telling whether the value should be re-sealed.
    pub fn open_with_state(
        &self,
        sealed: &str,
        target: SealedFor,
    ) -> Result<(SecretString, SealState), CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(prefix), Some(kid), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.key_id == kid)
            .ok_or_else(|| CryptoError::WrongKey {
                found: kid.to_owned(),
                expected: self.current.key_id.clone(),
            })?;
        let data = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| CryptoError::Malformed)?;
        if data.len() <= NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = data.split_at(NONCE_LEN);
        let nonce = Nonce::from_slice(nonce);
        let aad = target.associated_data();
        let plaintext = match prefix {
            PREFIX => key.derived.decrypt(
                nonce,
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            ),
            LEGACY_PREFIX => key.legacy.decrypt(nonce, ciphertext),
            _ => return Err(CryptoError::Malformed),
        }
        .map_err(|_| CryptoError::Tampered)?;
        let state = if prefix == PREFIX && kid == self.current.key_id {
            SealState::Current
        } else {
            SealState::Stale
        };
        String::from_utf8(plaintext)
            .map(|text| (SecretString::from(text), state))
            .map_err(|_| CryptoError::Tampered)
    }
}

/// The keys HKDF derives from `HH_SECRET_KEY` for signing: OAuth `state`
/// values and console sessions each have their own.
#[derive(Clone)]
pub struct Keyring {
    /// Secrets at rest.
    pub cipher: Cipher,
    oauth_state: std::sync::Arc<SecretBox<[u8; 32]>>,
    console_session: std::sync::Arc<SecretBox<[u8; 32]>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Every key derived from `key`; `previous` still opens secrets at rest.
    pub fn new(key: &SecretKey, previous: Option<SecretKey>) -> Self {
        let secret =
            |purpose: &[u8]| std::sync::Arc::new(SecretBox::new(Box::new(derive(key, purpose))));
        Self {
            cipher: Cipher::new(key.clone()).with_previous(previous),
            oauth_state: secret(b"holded-hubspot/oauth-state/v1"),
            console_session: secret(b"holded-hubspot/console-session/v1"),
        }
    }

    /// The key that signs OAuth `state` values.
    pub fn oauth_state_key(&self) -> &[u8; 32] {
        self.oauth_state.expose_secret()
    }

    /// The key that signs console sessions.
    pub fn console_session_key(&self) -> &[u8; 32] {
        self.console_session.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiring_tokens_hold_until_their_expiry_under_their_key_only() {
        let now = Utc::now();
        let hour = chrono::Duration::hours(1);
        let token = sign_expiring(b"key", now + hour);
        let nonce = verify_expiring(b"key", &token, now).unwrap();
        assert!(token.starts_with(nonce) && nonce.len() == 32);
        assert_eq!(
            verify_expiring(b"key", &token, now + hour + chrono::Duration::seconds(1)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify_expiring(b"other", &token, now),
            Err(TokenError::BadSignature)
        );
        let (payload, mac) = token.rsplit_once('.').unwrap();
        let (nonce, _) = payload.rsplit_once('.').unwrap();
        let extended = format!("{nonce}.{}.{mac}", (now + hour * 100).timestamp());
        assert_eq!(
            verify_expiring(b"key", &extended, now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify_expiring(b"key", "nothing", now),
            Err(TokenError::Malformed)
        );
        assert_ne!(token, sign_expiring(b"key", now + hour), "fresh nonce");
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    const KEY_OF_7: SealedFor = SealedFor {
        table: "settings",
        column: "holded_key_enc",
        portal_id: 7,
    };

    /// A value in the first format, as versions before `hh2` wrote it.
    fn legacy_seal(key: &SecretKey, plaintext: &str) -> String {
        let aead = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.0.expose_secret()));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut data = nonce.to_vec();
        data.extend(aead.encrypt(&nonce, plaintext.as_bytes()).unwrap());
        format!("hh1.{}.{}", key.key_id(), URL_SAFE_NO_PAD.encode(data))
    }

    #[test]
    fn round_trip_uses_a_fresh_nonce_each_time() {
        let cipher = Cipher::new(SecretKey::generate());
        let first = cipher.seal(&secret("pat_abc123"), KEY_OF_7);
        let second = cipher.seal(&secret("pat_abc123"), KEY_OF_7);
        assert_ne!(first, second, "two seals of one value must differ");
        assert!(first.starts_with("hh2.") && !first.contains("pat_abc123"));
        assert_eq!(
            cipher.open(&first, KEY_OF_7).unwrap().expose_secret(),
            "pat_abc123"
        );
        assert_eq!(
            cipher.open(&second, KEY_OF_7).unwrap().expose_secret(),
            "pat_abc123"
        );
    }

    #[test]
    fn a_value_opens_only_where_it_was_sealed() {
        let cipher = Cipher::new(SecretKey::generate());
        let sealed = cipher.seal(&secret("pat_abc123"), KEY_OF_7);
        let other_portal = SealedFor {
            portal_id: 8,
            ..KEY_OF_7
        };
        let other_column = SealedFor {
            table: "portals",
            column: "refresh_token_enc",
            portal_id: 7,
        };
        assert_eq!(
            cipher.open(&sealed, other_portal).unwrap_err(),
            CryptoError::Tampered
        );
        assert_eq!(
            cipher.open(&sealed, other_column).unwrap_err(),
            CryptoError::Tampered
        );
    }

    #[test]
    fn another_key_fails_clearly() {
        let sealed = Cipher::new(SecretKey::generate()).seal(&secret("token"), KEY_OF_7);
        let other = Cipher::new(SecretKey::generate());
        let err = other.open(&sealed, KEY_OF_7).unwrap_err();
        assert!(matches!(err, CryptoError::WrongKey { .. }), "{err:?}");
        assert!(err.to_string().contains("another HH_SECRET_KEY"));
    }

    #[test]
    fn the_previous_key_and_the_first_format_still_open_and_ask_to_be_resealed() {
        let old = SecretKey::generate();
        let new = SecretKey::generate();
        let before = Cipher::new(old.clone()).seal(&secret("refresh-1"), KEY_OF_7);
        let legacy = legacy_seal(&old, "refresh-0");
        let rotated = Cipher::new(new.clone()).with_previous(Some(old));
        let (value, state) = rotated.open_with_state(&before, KEY_OF_7).unwrap();
        assert_eq!(
            (value.expose_secret(), state),
            ("refresh-1", SealState::Stale)
        );
        let (value, state) = rotated.open_with_state(&legacy, KEY_OF_7).unwrap();
        assert_eq!(
            (value.expose_secret(), state),
            ("refresh-0", SealState::Stale)
        );
        let now = rotated.seal(&secret("refresh-2"), KEY_OF_7);
        assert!(now.contains(&new.key_id()));
        let (_, state) = rotated.open_with_state(&now, KEY_OF_7).unwrap();
        assert_eq!(state, SealState::Current);
        // Without the previous key, the old value is named as another key's.
        let err = Cipher::new(new).open(&before, KEY_OF_7).unwrap_err();
        assert!(matches!(err, CryptoError::WrongKey { .. }), "{err:?}");
    }

    #[test]
    fn each_purpose_has_its_own_derived_key() {
        let key = SecretKey::generate();
        let keys = Keyring::new(&key, None);
        let raw: &[u8; 32] = key.0.expose_secret();
        assert_ne!(keys.oauth_state_key(), keys.console_session_key());
        assert_ne!(keys.oauth_state_key(), raw);
        assert_eq!(
            keys.oauth_state_key(),
            Keyring::new(&key, None).oauth_state_key(),
            "derivation is deterministic"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let cipher = Cipher::new(SecretKey::generate());
        let sealed = cipher.seal(&secret("refresh-token"), KEY_OF_7);
        let (head, data) = sealed.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(data).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let altered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            cipher.open(&altered, KEY_OF_7).unwrap_err(),
            CryptoError::Tampered
        );
        bytes[last] ^= 0x01;
        bytes[0] ^= 0x80; // the nonce
        let altered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            cipher.open(&altered, KEY_OF_7).unwrap_err(),
            CryptoError::Tampered
        );
        assert_eq!(
            cipher.open("garbage", KEY_OF_7).unwrap_err(),
            CryptoError::Malformed
        );
    }

    #[test]
    fn key_parsing_rejects_wrong_lengths() {
        assert!(SecretKey::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(SecretKey::from_base64(&STANDARD.encode([7u8; 31])).is_err());
        assert!(SecretKey::from_base64("not base64!").is_err());
        assert_eq!(
            format!("{:?}", SecretKey::generate()),
            "SecretKey([REDACTED])"
        );
    }

    #[test]
    fn generated_key_file_is_private_and_reloads() {
        let dir = std::env::temp_dir().join(format!("hh-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret.key");
        let (key, generated) = SecretKey::load_or_generate(&path).unwrap();
        assert!(generated);
        let (again, generated) = SecretKey::load_or_generate(&path).unwrap();
        assert!(!generated);
        assert_eq!(key.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
