//! Secrets at rest: AES-256-GCM with a random 96-bit nonce per value.
//!
//! A sealed value is the text `hh1.<key id>.<base64url(nonce ‖ ciphertext)>`.
//! The key id (the first four bytes of SHA-256 of the key, in hex) lets a value
//! sealed under another `HH_SECRET_KEY` fail with a message that says so, while a
//! value whose ciphertext was altered fails AES-GCM's authentication check.
//!
//! Also here: expiring signed tokens (HMAC-SHA256), for the OAuth `state` and
//! the console's session cookie.

use std::{fmt, path::Path};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use aes_gcm::{
    Aes256Gcm, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

const PREFIX: &str = "hh1";
const NONCE_LEN: usize = 12;

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The value is not in the `hh1.<kid>.<data>` format.
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
    /// The ciphertext or nonce was altered.
    #[error("the stored secret failed its integrity check: it was altered or corrupted")]
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

/// Seals and opens secrets with the application key.
#[derive(Clone, Debug)]
pub struct Cipher {
    key: SecretKey,
    key_id: String,
}

impl Cipher {
    /// A cipher using `key`.
    pub fn new(key: SecretKey) -> Self {
        let key_id = key.key_id();
        Self { key, key_id }
    }

    fn aead(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.0.expose_secret()))
    }

    /// Encrypts `plaintext` with a fresh random nonce.
    pub fn seal(&self, plaintext: &SecretString) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .aead()
            .encrypt(&nonce, plaintext.expose_secret().as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut data = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&ciphertext);
        format!("{PREFIX}.{}.{}", self.key_id, URL_SAFE_NO_PAD.encode(data))
    }

    /// Decrypts a value produced by [`Cipher::seal`].
    pub fn open(&self, sealed: &str) -> Result<SecretString, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(PREFIX), Some(kid), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        if kid != self.key_id {
            return Err(CryptoError::WrongKey {
                found: kid.to_owned(),
                expected: self.key_id.clone(),
            });
        }
        let data = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| CryptoError::Malformed)?;
        if data.len() <= NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = data.split_at(NONCE_LEN);
        let plaintext = self
            .aead()
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(plaintext)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Tampered)
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

    #[test]
    fn round_trip_uses_a_fresh_nonce_each_time() {
        let cipher = Cipher::new(SecretKey::generate());
        let first = cipher.seal(&secret("pat_abc123"));
        let second = cipher.seal(&secret("pat_abc123"));
        assert_ne!(first, second, "two seals of one value must differ");
        assert!(!first.contains("pat_abc123"));
        assert_eq!(cipher.open(&first).unwrap().expose_secret(), "pat_abc123");
        assert_eq!(cipher.open(&second).unwrap().expose_secret(), "pat_abc123");
    }

    #[test]
    fn another_key_fails_clearly() {
        let sealed = Cipher::new(SecretKey::generate()).seal(&secret("token"));
        let other = Cipher::new(SecretKey::generate());
        let err = other.open(&sealed).unwrap_err();
        assert!(matches!(err, CryptoError::WrongKey { .. }), "{err:?}");
        assert!(err.to_string().contains("another HH_SECRET_KEY"));
    }

    #[test]
    fn tampering_is_detected() {
        let cipher = Cipher::new(SecretKey::generate());
        let sealed = cipher.seal(&secret("refresh-token"));
        let (head, data) = sealed.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(data).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let altered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(cipher.open(&altered).unwrap_err(), CryptoError::Tampered);
        bytes[last] ^= 0x01;
        bytes[0] ^= 0x80; // the nonce
        let altered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(cipher.open(&altered).unwrap_err(), CryptoError::Tampered);
        assert_eq!(cipher.open("garbage").unwrap_err(), CryptoError::Malformed);
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
