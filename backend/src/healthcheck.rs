//! `holded-hubspot healthcheck`: asks a running service (or any URL) whether
//! it is alive, for container health checks — the runtime image has no curl.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

/// How long the check waits for an answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// `/healthz` of the service listening on `bind` on this machine. An
/// unspecified address (`0.0.0.0`, `[::]`, as in containers) is reached
/// through loopback.
pub fn local_healthz(bind: SocketAddr) -> String {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/healthz", SocketAddr::new(ip, bind.port()))
}

/// GETs `url`; fine when it answers 2xx within [`TIMEOUT`], otherwise the
/// reason in one line.
pub async fn check(url: &str) -> Result<(), String> {
    let client = crate::http::client_builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: sin respuesta / no answer ({e})"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url}: HTTP {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::local_healthz;

    #[test]
    fn unspecified_bind_addresses_are_checked_through_loopback() {
        let url = |bind: &str| local_healthz(bind.parse().unwrap());
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080/healthz");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080/healthz");
        assert_eq!(url("10.1.2.3:9000"), "http://10.1.2.3:9000/healthz");
    }
}
