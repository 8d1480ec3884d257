//! `holded-hubspot demo`: the whole product working in one process with
//! nothing configured. Both simulators start on free local ports, the normal
//! service runtime (HTTP, scheduler, workers) runs against them on a fresh
//! SQLite database in `./data/demo/`, and the scenario drives it the way
//! HubSpot and an admin would: OAuth install over HTTP, settings saved with
//! `hubspot.fetch`-signed requests, a seeded Spanish company in Holded, the
//! nightly sync with progress, deals moved into their trigger stages so that
//! an estimate, a proforma, a delivery note and an invoice are created in
//! Holded, and a summary. Then the service keeps serving
//! until Ctrl-C, or, with `--exit`, the demo ends.
//!
//! Module map: [`environment`] starts the simulators and the service,
//! [`scenario`] lists the steps, [`install`], [`seed`], [`settings`],
//! [`nightly`], [`deals`] and [`documents`] are the steps, [`progress`] and [`summary`] print.

pub mod deals;
pub mod documents;
pub mod environment;
pub mod install;
pub mod nightly;
pub mod progress;
pub mod realtime;
pub mod scenario;
pub mod seed;
pub mod settings;
pub mod summary;

use std::time::Instant;

use crate::{config::ConfigArgs, runtime::shutdown_signal};

/// Exit code when Ctrl-C or SIGTERM interrupts the scenario (128 + SIGINT).
const INTERRUPTED: i32 = 130;

/// Runs the demo; returns the exit code. `bind` is `HH_BIND` when the user
/// gave one (otherwise a free local port is used); with `exit` the demo ends
/// after the summary instead of serving until Ctrl-C or SIGTERM.
pub async fn run(args: ConfigArgs, bind: Option<String>, exit: bool) -> i32 {
    let started = Instant::now();
    let interrupted = match shutdown_signal() {
        Ok(signal) => signal,
        Err(err) => {
            eprintln!("✘ No se pueden escuchar las señales (cannot listen for signals): {err}");
            return 1;
        }
    };
    tokio::pin!(interrupted);
    println!("Holded ⇄ HubSpot · demostración (demo)");
    let finished = tokio::select! {
        finished = scenario::run(args, bind) => finished,
        _ = &mut interrupted => {
            println!("Demo interrumpida (demo interrupted).");
            return INTERRUPTED;
        }
    };
    let (environment, outcome) = match finished {
        Ok(done) => done,
        Err(failed) => {
            eprintln!("{failed}");
            return 1;
        }
    };
    summary::print(&environment, &outcome, started.elapsed());
    if !exit {
        summary::print_serving(&environment.service);
        if let Err(err) = interrupted.await {
            eprintln!(
                "✘ Error esperando la señal de parada (error waiting for the stop signal): {err}"
            );
        }
        println!("Parando el servicio… (stopping the service…)");
    }
    match environment.stop().await {
        Ok(()) => 0,
        Err(err) => {
            eprintln!(
                "✘ El servicio no se detuvo limpiamente (the service did not stop cleanly): {err:#}"
            );
            1
        }
    }
}
