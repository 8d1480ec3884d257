//! The operator's credential, `HH_ADMIN_TOKEN`: it opens the console and
//! `/metrics`.

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;

/// Whether `given` is the configured admin token (`false` when none is set).
/// Both are hashed first, so the constant-time comparison leaks neither
/// content nor length; surrounding whitespace (a paste) is ignored.
pub fn is_admin_token(config: &Config, given: &str) -> bool {
    config
        .admin_token
        .as_ref()
        .is_some_and(|token| same_token(token.expose_secret(), given))
}

fn same_token(expected: &str, given: &str) -> bool {
    let expected = Sha256::digest(expected.as_bytes());
    Sha256::digest(given.trim().as_bytes())
        .ct_eq(&expected)
        .into()
}

/// The token of an `Authorization: Bearer <token>` header, if any.
pub fn bearer_token(req: &actix_web::HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn only_the_admin_token_matches() {
        let token = "operator-token-0123456789";
        assert!(same_token(token, "operator-token-0123456789"));
        assert!(
            same_token(token, " operator-token-0123456789\n"),
            "pasted with spaces"
        );
        assert!(!same_token(token, "operator-token-012345678"));
        assert!(!same_token(token, "operator-token-01234567890"));
        assert!(!same_token(token, ""));
    }
}
