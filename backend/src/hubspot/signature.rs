//! Verifying HubSpot's request signatures (webhooks, `hubspot.fetch`, workflow
//! actions): v3 (HMAC-SHA256, timestamped), and the older v1 and v2 (plain
//! SHA-256 hex digests). Every comparison is constant-time.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How far a v3 timestamp may be from now, either way (HubSpot: 5 minutes).
pub const MAX_TIMESTAMP_SKEW_MS: i64 = 5 * 60 * 1000;

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A required header was absent.
    #[error("falta la cabecera {0} / missing header {0}")]
    MissingHeader(&'static str),
    /// The timestamp header is not a number of milliseconds.
    #[error("marca de tiempo no válida / invalid timestamp")]
    BadTimestamp,
    /// The timestamp is more than five minutes old or in the future.
    #[error(
        "marca de tiempo fuera de la ventana de 5 minutos / timestamp outside the 5-minute window"
    )]
    Stale,
    /// The signature does not match.
    #[error("firma no válida / signature mismatch")]
    Mismatch,
}

/// The parts of an incoming request that a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method as received, e.g. `POST`.
    pub method: &'a str,
    /// The full public URL HubSpot called (scheme, host, path and query).
    pub uri: &'a str,
    /// The raw body bytes, exactly as received (empty when there is none).
    pub body: &'a [u8],
}

/// Percent-encodings HubSpot decodes in the URI before signing with v3.
const V3_DECODED: [(&str, &str); 12] = [
    ("%3A", ":"),
    ("%2F", "/"),
    ("%3F", "?"),
    ("%40", "@"),
    ("%21", "!"),
    ("%24", "$"),
    ("%27", "'"),
    ("%28", "("),
    ("%29", ")"),
    ("%2A", "*"),
    ("%2C", ","),
    ("%3B", ";"),
];

/// Applies HubSpot's v3 URI decoding rules (only the twelve listed encodings,
/// case-insensitive; everything else stays as is).
pub fn decode_v3_uri(uri: &str) -> String {
    let mut out = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let candidate = rest.get(pos..pos + 3).unwrap_or("");
        match V3_DECODED
            .iter()
            .find(|(enc, _)| enc.eq_ignore_ascii_case(candidate))
        {
            Some((_, plain)) => {
                out.push_str(plain);
                rest = &rest[pos + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[pos + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The v3 signature: base64(HMAC-SHA256(secret, method + uri + body + timestamp)).
pub fn sign_v3(secret: &SecretString, request: &SignedRequest<'_>, timestamp_ms: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(request.method.as_bytes());
    mac.update(request.uri.as_bytes());
    mac.update(request.body);
    mac.update(timestamp_ms.to_string().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The v1 signature: hex(SHA-256(secret + body)).
pub fn sign_v1(secret: &SecretString, body: &[u8]) -> String {
    let mut digest = Sha256::new();
    digest.update(secret.expose_secret().as_bytes());
    digest.update(body);
    hex(&digest.finalize())
}

/// The v2 signature: hex(SHA-256(secret + method + uri + body)).
pub fn sign_v2(secret: &SecretString, request: &SignedRequest<'_>) -> String {
    let mut digest = Sha256::new();
    digest.update(secret.expose_secret().as_bytes());
    digest.update(request.method.as_bytes());
    digest.update(request.uri.as_bytes());
    digest.update(request.body);
    hex(&digest.finalize())
}

/// Who `hubspot.fetch` says is calling: the parameters HubSpot appends to a
/// UI extension's request URL before signing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchIdentity<'a> {
    /// The portal (hub id).
    pub portal_id: u64,
    /// The signed-in user.
    pub user_id: u64,
    /// That user's email.
    pub user_email: &'a str,
    /// The app the extension belongs to.
    pub app_id: u64,
}

/// The URL HubSpot calls for a UI extension's `hubspot.fetch(url)`: `url`
/// with `portalId`, `userId`, `userEmail` and `appId` appended.
pub fn hubspot_fetch_url(url: &str, identity: &FetchIdentity<'_>) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("portalId", &identity.portal_id.to_string())
        .append_pair("userId", &identity.user_id.to_string())
        .append_pair("userEmail", identity.user_email)
        .append_pair("appId", &identity.app_id.to_string())
        .finish();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

/// Verifies `X-HubSpot-Signature-v3` given `X-HubSpot-Request-Timestamp`.
///
/// The timestamp must be within five minutes of `now` in either direction.
/// The URI is tried with HubSpot's decoding rules applied and, because the
/// official SDKs and HubSpot's dev proxy sign it verbatim, also as received.
pub fn verify_v3(
    secret: &SecretString,
    request: &SignedRequest<'_>,
    signature: Option<&str>,
    timestamp: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::MissingHeader("X-HubSpot-Signature-v3"))?;
    let timestamp =
        timestamp.ok_or(SignatureError::MissingHeader("X-HubSpot-Request-Timestamp"))?;
    let timestamp_ms: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now.timestamp_millis() - timestamp_ms).abs() > MAX_TIMESTAMP_SKEW_MS {
        return Err(SignatureError::Stale);
    }
    let decoded = decode_v3_uri(request.uri);
    let candidates = [decoded.as_str(), request.uri];
    let matched = candidates.iter().fold(false, |found, uri| {
        let expected = sign_v3(secret, &SignedRequest { uri, ..*request }, timestamp_ms);
        found | bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes()))
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Verifies a v1 `X-HubSpot-Signature` (body only, no replay protection).
pub fn verify_v1(
    secret: &SecretString,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::MissingHeader("X-HubSpot-Signature"))?;
    constant_time_hex(&sign_v1(secret, body), signature)
}

/// Verifies a v2 `X-HubSpot-Signature` (method, URI and body; no replay protection).
pub fn verify_v2(
    secret: &SecretString,
    request: &SignedRequest<'_>,
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::MissingHeader("X-HubSpot-Signature"))?;
    constant_time_hex(&sign_v2(secret, request), signature)
}

fn constant_time_hex(expected: &str, given: &str) -> Result<(), SignatureError> {
    let given = given.trim().to_ascii_lowercase();
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HubSpot's published example secret.
    fn secret() -> SecretString {
        SecretString::from("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy")
    }

    const V1_BODY: &str = r#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;

    #[test]
    fn v1_published_vector() {
        let expected = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de";
        assert_eq!(sign_v1(&secret(), V1_BODY.as_bytes()), expected);
        assert_eq!(
            verify_v1(&secret(), V1_BODY.as_bytes(), Some(expected)),
            Ok(())
        );
        let tampered = V1_BODY.replace("62515", "62516");
        assert_eq!(
            verify_v1(&secret(), tampered.as_bytes(), Some(expected)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn v2_published_vectors() {
        let get = SignedRequest {
            method: "GET",
            uri: "https://www.example.com/webhook_uri",
            body: b"",
        };
        let get_sig = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e";
        assert_eq!(sign_v2(&secret(), &get), get_sig);
        let post = SignedRequest {
            method: "POST",
            uri: "https://www.example.com/webhook_uri",
            body: br#"{"example_field":"example_value"}"#,
        };
        let post_sig = "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900";
        assert_eq!(sign_v2(&secret(), &post), post_sig);
        assert_eq!(verify_v2(&secret(), &post, Some(post_sig)), Ok(()));
        assert_eq!(
            verify_v2(
                &secret(),
                &SignedRequest {
                    method: "PUT",
                    ..post
                },
                Some(post_sig)
            ),
            Err(SignatureError::Mismatch)
        );
    }

    const URI: &str = "https://example.com/webhooks/hubspot?portalId=62515";

    fn request(body: &[u8]) -> SignedRequest<'_> {
        SignedRequest {
            method: "POST",
            uri: URI,
            body,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_780_000_000_000).expect("valid instant")
    }

    #[test]
    fn v3_round_trip_and_tampering() {
        let ts = now().timestamp_millis();
        let sig = sign_v3(&secret(), &request(V1_BODY.as_bytes()), ts);
        let ts_text = ts.to_string();
        let verify = |req: &SignedRequest<'_>, at: DateTime<Utc>| {
            verify_v3(&secret(), req, Some(&sig), Some(&ts_text), at)
        };
        assert_eq!(verify(&request(V1_BODY.as_bytes()), now()), Ok(()));
        assert_eq!(
            verify(&request(b"[{\"eventId\":2}]"), now()),
            Err(SignatureError::Mismatch),
            "tampered body"
        );
        let other_uri = SignedRequest {
            uri: "https://example.com/webhooks/hubspot?portalId=1",
            ..request(V1_BODY.as_bytes())
        };
        assert_eq!(
            verify(&other_uri, now()),
            Err(SignatureError::Mismatch),
            "tampered URI"
        );
        let other_method = SignedRequest {
            method: "PUT",
            ..request(V1_BODY.as_bytes())
        };
        assert_eq!(
            verify(&other_method, now()),
            Err(SignatureError::Mismatch),
            "tampered method"
        );
        let late = now() + chrono::Duration::minutes(5) + chrono::Duration::seconds(1);
        assert_eq!(
            verify(&request(V1_BODY.as_bytes()), late),
            Err(SignatureError::Stale)
        );
        let early = now() - chrono::Duration::minutes(6);
        assert_eq!(
            verify(&request(V1_BODY.as_bytes()), early),
            Err(SignatureError::Stale),
            "future timestamp"
        );
        let within = now() + chrono::Duration::minutes(4);
        assert_eq!(verify(&request(V1_BODY.as_bytes()), within), Ok(()));
        assert_eq!(
            verify_v3(&secret(), &request(b""), Some(&sig), None, now()),
            Err(SignatureError::MissingHeader("X-HubSpot-Request-Timestamp"))
        );
        assert_eq!(
            verify_v3(&secret(), &request(b""), Some(&sig), Some("soon"), now()),
            Err(SignatureError::BadTimestamp)
        );
    }

    #[test]
    fn v3_known_answer() {
        // Computed independently: python3 -c "import hmac,hashlib,base64;
        // print(base64.b64encode(hmac.new(b'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy',
        // b'POSThttps://www.example.com/webhook_uri{\"example_field\":\"example_value\"}1564113600000',
        // hashlib.sha256).digest()).decode())"
        let req = SignedRequest {
            method: "POST",
            uri: "https://www.example.com/webhook_uri",
            body: br#"{"example_field":"example_value"}"#,
        };
        assert_eq!(sign_v3(&secret(), &req, 1_564_113_600_000), V3_KNOWN);
    }

    const V3_KNOWN: &str = "eT0ip2TKVpsIi1vb5C2Uu42eNdHL+oTE3NRZOF67O2U=";

    #[test]
    fn v3_uri_decoding() {
        assert_eq!(
            decode_v3_uri("https://x.com/a%3Ab%2fc?q=%40me%2C%20you%3b%25"),
            "https://x.com/a:b/c?q=@me,%20you;%25"
        );
        let ts = now().timestamp_millis();
        let signed_uri = "https://x.com/hook?email=a@b.com";
        let sig = sign_v3(
            &secret(),
            &SignedRequest {
                method: "GET",
                uri: signed_uri,
                body: b"",
            },
            ts,
        );
        let received = SignedRequest {
            method: "GET",
            uri: "https://x.com/hook?email=a%40b.com",
            body: b"",
        };
        assert_eq!(
            verify_v3(
                &secret(),
                &received,
                Some(&sig),
                Some(&ts.to_string()),
                now()
            ),
            Ok(())
        );
    }
}
