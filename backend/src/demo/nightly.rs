//! The nightly sync of the demo portal, run now by the service's own sync
//! engine with the portal's saved settings, showing its progress.

use anyhow::Context;

use super::{
    environment::Service,
    progress::{ScanTotals, TerminalProgress},
    seed::SeededHolded,
};
use crate::{
    store::RunTrigger,
    sync::{SyncReport, SyncRequest},
};

/// Runs the portal's sync as configured (objects and start date from the
/// settings) and fails unless the run completed.
pub async fn run_nightly_sync(
    service: &Service,
    portal_id: i64,
    holded: &SeededHolded,
) -> anyhow::Result<SyncReport> {
    let engine = service
        .runtime
        .sync_engine()
        .context("la configuración de la demo no tiene app de HubSpot")?;
    let progress = TerminalProgress::new(ScanTotals {
        contacts: holded.persons + holded.companies,
        products: holded.products,
        documents: holded.documents,
    });
    let request = SyncRequest {
        portal_id,
        trigger: RunTrigger::Cli,
        objects: None,
        since: None,
        dry_run: false,
        targets: None,
    };
    let report = engine.run(request, &progress).await?;
    anyhow::ensure!(
        report.status == "completed",
        "la ejecución {} terminó «{}»: {}",
        report.run_id,
        report.status,
        report.error.clone().unwrap_or_default()
    );
    Ok(report)
}
