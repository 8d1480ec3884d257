//! The demo's closing output: the sync summary table (per object kind:
//! created, updated, unchanged, failed, API calls), the requests each
//! simulator answered, wall times, the seeded deals, and where the running
//! service can be reached.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::{
    deals::SEEDED_STAGE,
    environment::{Environment, Service},
    scenario::Outcome,
};
use crate::sync::KindReport;

/// The Spanish name of a sync kind, with the English one.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "contacts" => "contactos (contacts)",
        "companies" => "empresas (companies)",
        "products" => "productos (products)",
        "deals" => "negocios (deals)",
        _ => "otros (other)",
    }
}

/// One row of the table.
fn row(label: &str, counts: [u64; 6]) {
    let [created, updated, unchanged, failed, hubspot, holded] = counts;
    println!(
        "  {label:<22} {created:>9} {updated:>12} {unchanged:>12} {failed:>10} {hubspot:>17} {holded:>16}"
    );
}

fn counts(report: &KindReport) -> [u64; 6] {
    [
        report.created.into(),
        report.updated.into(),
        report.unchanged.into(),
        report.failed.into(),
        report.hubspot_calls,
        report.holded_calls,
    ]
}

/// Prints the summary of a finished scenario that took `elapsed`.
pub fn print(env: &Environment, outcome: &Outcome, elapsed: Duration) {
    let sync = &outcome.sync;
    println!();
    println!(
        "Resumen de la sincronización del portal {} (sync summary), ejecución (run) {}",
        outcome.portal_id, sync.run_id
    );
    println!(
        "  {:<22} {:>9} {:>12} {:>12} {:>10} {:>17} {:>16}",
        "objeto",
        "creados",
        "actualizados",
        "sin cambios",
        "con error",
        "llamadas HubSpot",
        "llamadas Holded"
    );
    println!(
        "  {:<22} {:>9} {:>12} {:>12} {:>10} {:>17} {:>16}",
        "(kind)",
        "(created)",
        "(updated)",
        "(unchanged)",
        "(failed)",
        "(HubSpot calls)",
        "(Holded calls)"
    );
    let mut total = [0u64; 6];
    for report in &sync.kinds {
        let counts = counts(report);
        for (sum, value) in total.iter_mut().zip(counts) {
            *sum += value;
        }
        row(kind_label(report.kind), counts);
    }
    row("total", total);
    let holded_requests: u64 = env
        .sims
        .holded
        .stats()
        .requests
        .iter()
        .map(|r| r.count)
        .sum();
    println!(
        "Peticiones atendidas por los simuladores en toda la demo, instalación incluida (requests the simulators answered, install included): HubSpot {} · Holded {holded_requests}",
        env.sims.hubspot.stats().total
    );
    println!(
        "Tiempo (wall time): sincronización (sync) {:.1} s · demo completa (whole demo) {:.1} s",
        sync.elapsed_ms as f64 / 1000.0,
        elapsed.as_secs_f64()
    );
    println!(
        "Negocios creados en HubSpot en la etapa «{SEEDED_STAGE}» (deals seeded in HubSpot): {}",
        outcome.deals.len()
    );
    for deal in &outcome.deals {
        println!(
            "  · {} ({}, negocio / deal {})",
            deal.name, deal.document_type, deal.deal_id
        );
    }
    println!(
        "Documentos creados en Holded desde esos negocios (documents created from those deals): {}",
        outcome.documents.len()
    );
    for document in &outcome.documents {
        println!(
            "  · {} {} · {} · {}",
            document.kind,
            document.number.as_deref().unwrap_or("(borrador)"),
            document
                .total
                .map(|t| crate::deals::money::format_amount(t, "EUR"))
                .unwrap_or_default(),
            document.link.as_deref().unwrap_or_default()
        );
    }
    println!(
        "Holded: {} documentos (documents) en la cuenta (in account) {}",
        env.sims
            .holded
            .documents(&outcome.holded.account.account_id)
            .len(),
        outcome.holded.account.account_id
    );
}

/// Prints where the running service can be reached, and how to stop it.
pub fn print_serving(service: &Service) {
    println!();
    println!(
        "El servicio sigue en marcha (the service keeps running): {}",
        service.url
    );
    println!(
        "  Consola del operador (operator console): {}/console",
        service.url
    );
    println!(
        "  Token de administración (admin token, shown on purpose for the console): {}",
        service.admin_token.expose_secret()
    );
    println!("  Ctrl-C lo detiene limpiamente (Ctrl-C stops it gracefully).");
}
