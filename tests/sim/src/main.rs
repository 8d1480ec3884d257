//! `holded-hubspot-sim`: runs the Holded and HubSpot simulators until Ctrl-C.

use std::net::SocketAddr;

use clap::Parser;
use holded_hubspot_sim::{SimConfig, start};

/// Local simulators of the Holded and HubSpot APIs, for tests and the demo.
#[derive(Parser, Debug)]
#[command(name = "holded-hubspot-sim", version, about)]
struct Args {
    /// Address of the Holded simulator.
    #[arg(long, default_value = "127.0.0.1:9101")]
    holded_addr: SocketAddr,
    /// Address of the HubSpot simulator.
    #[arg(long, default_value = "127.0.0.1:9102")]
    hubspot_addr: SocketAddr,
    /// Where the HubSpot simulator delivers webhooks (the app's /webhooks/hubspot).
    #[arg(long)]
    webhook_url: Option<String>,
    /// Milliseconds every API answer takes (network latency; control calls answer at once).
    #[arg(long, default_value = "0")]
    latency_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let sims = start(SimConfig {
        holded_addr: args.holded_addr,
        hubspot_addr: args.hubspot_addr,
        webhook_url: args.webhook_url,
        latency: std::time::Duration::from_millis(args.latency_ms),
    })
    .await?;
    println!("Holded simulator:  {}", sims.holded_url);
    println!("HubSpot simulator: {}", sims.hubspot_url);
    tokio::signal::ctrl_c().await?;
    sims.stop().await;
    Ok(())
}
