//! Outgoing HTTP: every client is built here so that TLS is set up once
//! (rustls with the `ring` provider, the one the database driver uses too).

use std::sync::Once;

/// A `reqwest` client builder with TLS ready and the service's user agent.
pub fn client_builder() -> reqwest::ClientBuilder {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // Fails only if another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder().user_agent(concat!("holded-hubspot/", env!("CARGO_PKG_VERSION")))
}
