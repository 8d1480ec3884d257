//! The `holded-hubspot` command line.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, parser::ValueSource};

use crate::{
    config::{Config, ConfigArgs},
    healthcheck,
    runtime::Runtime,
    settings::SyncObjects,
    store::RunTrigger,
    sync::{KindReport, Progress, SyncRequest},
    telemetry,
};

const AFTER_HELP: &str = "\
Every option can also be set by the environment variable shown next to it.
Logging levels come from RUST_LOG (default: info), e.g. RUST_LOG=holded_hubspot=debug.
A missing or malformed value stops start-up with one line that names it.";

/// Holded ⇄ HubSpot: keeps Holded (ERP) and HubSpot (CRM) in step.
#[derive(Parser, Debug)]
#[command(name = "holded-hubspot", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Service(ServiceCommand),
    /// Show the whole product working with nothing configured, against the simulators.
    ///
    /// In one process: both simulators, a fresh database in ./data/demo/, the
    /// service, an OAuth install, signed settings, a seeded Holded company and
    /// the nightly sync with a summary; then the service keeps serving
    /// (console included) until Ctrl-C. Listens on a free port unless HH_BIND
    /// is given. The demo brings its own database, HubSpot app and simulators:
    /// DATABASE_URL, HH_DATA_DIR, HH_PUBLIC_URL, HH_SECRET_KEY, HH_ADMIN_TOKEN,
    /// HUBSPOT_* and HOLDED_API_BASE are not used.
    Demo {
        /// End right after the summary (exit code 0) instead of serving until Ctrl-C.
        #[arg(long)]
        exit: bool,
    },
    /// Exit 0 when the service answers /healthz (for container health checks).
    Healthcheck {
        /// URL to check instead of /healthz of HH_BIND's port on this machine.
        #[arg(long)]
        url: Option<String>,
    },
}

/// The commands that run the configured service.
#[derive(Subcommand, Debug)]
enum ServiceCommand {
    /// Serve HTTP and, unless --no-workers, run the scheduler and job workers.
    Serve {
        /// Serve HTTP only; scheduler and jobs run in `worker` processes.
        #[arg(long)]
        no_workers: bool,
    },
    /// Run the scheduler and job workers only (no HTTP).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Re-seal every stored secret under HH_SECRET_KEY, then exit.
    ///
    /// Rotation: set the new key as HH_SECRET_KEY and the old one as
    /// HH_SECRET_KEY_PREVIOUS (the service keeps working meanwhile), run this,
    /// then drop HH_SECRET_KEY_PREVIOUS. Exits 1 if a value opens under
    /// neither key (it is left as it is and named).
    RotateSecrets,
    /// Run the Holded → HubSpot sync of one portal now, printing progress and a summary.
    Sync {
        /// HubSpot portal (hub) id.
        #[arg(long = "portal")]
        portal: i64,
        /// Objects to sync (default: the portal's settings), comma separated:
        /// contacts, companies, products, documents.
        #[arg(long, value_delimiter = ',')]
        objects: Option<Vec<SyncObject>>,
        /// Bring records from this date (YYYY-MM-DD; default: the settings' date).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Compute the plan (counts and a sample of changes) and write nothing to HubSpot.
        #[arg(long)]
        dry_run: bool,
    },
}

/// An object kind for `sync --objects`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SyncObject {
    Contacts,
    Companies,
    Products,
    Documents,
}

/// Parses the command line and runs the command; returns the exit code.
pub async fn run() -> i32 {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    match cli.command {
        Command::Demo { exit } => {
            let bind_given = matches.value_source("bind") != Some(ValueSource::DefaultValue);
            let bind = bind_given.then(|| cli.config.bind.clone());
            run_demo(cli.config, bind, exit).await
        }
        Command::Healthcheck { url } => check_health(url, &cli.config).await,
        Command::Service(command) => run_service(command, &cli.config).await,
    }
}

#[cfg(feature = "demo")]
async fn run_demo(config: ConfigArgs, bind: Option<String>, exit: bool) -> i32 {
    crate::demo::run(config, bind, exit).await
}

/// A build without the `demo` feature (the production image) has no
/// simulators: say how to get a build that has them.
#[cfg(not(feature = "demo"))]
async fn run_demo(_: ConfigArgs, _: Option<String>, _: bool) -> i32 {
    eprintln!(
        "error: this build of holded-hubspot has no demo (it was built without the `demo` feature, as the production image is). Run it from a clone of the repository: cargo run -p holded-hubspot -- demo"
    );
    2
}

/// `healthcheck`: 0 when healthy, 1 with the reason on standard error.
async fn check_health(url: Option<String>, args: &ConfigArgs) -> i32 {
    let url = match url {
        Some(url) => url,
        None => match Config::from_args(args) {
            Ok(config) => healthcheck::local_healthz(config.bind),
            Err(err) => {
                eprintln!("error: {err}");
                return 2;
            }
        },
    };
    match healthcheck::check(&url).await {
        Ok(()) => 0,
        Err(reason) => {
            eprintln!("unhealthy: {reason}");
            1
        }
    }
}

/// Validates the configuration, then runs a service command.
async fn run_service(command: ServiceCommand, args: &ConfigArgs) -> i32 {
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return 2;
        }
    };
    telemetry::init_logging(config.log_format, "info");
    let result = execute(command, config).await;
    match result {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {err:#}");
            1
        }
    }
}

async fn execute(command: ServiceCommand, config: Config) -> anyhow::Result<()> {
    let runtime = Runtime::start(config).await?;
    match command {
        ServiceCommand::Serve { no_workers } => runtime.serve(!no_workers).await,
        ServiceCommand::Worker => runtime.work().await,
        ServiceCommand::Migrate => {
            tracing::info!("migrations applied");
            Ok(())
        }
        ServiceCommand::RotateSecrets => rotate_secrets(&runtime).await,
        ServiceCommand::Sync {
            portal,
            objects,
            since,
            dry_run,
        } => sync_now(&runtime, portal, objects, since, dry_run).await,
    }
}

async fn rotate_secrets(runtime: &Runtime) -> anyhow::Result<()> {
    let rotation = runtime.store.rotate_secrets(&runtime.keys.cipher).await?;
    println!(
        "Secretos re-cifrados con la clave {}: {} · ya al día: {} · ilegibles: {}",
        runtime.keys.cipher.key_id(),
        rotation.resealed,
        rotation.current,
        rotation.unreadable.len()
    );
    if rotation.unreadable.is_empty() {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "estos secretos no se abren con HH_SECRET_KEY ni con HH_SECRET_KEY_PREVIOUS y se han dejado como estaban: {}",
            rotation.unreadable.join(", ")
        ))
    }
}

/// Prints progress lines to standard output.
struct PrintProgress;

impl Progress for PrintProgress {
    fn page(&self, kind: &str, scanned: usize) {
        println!("  {kind}: {scanned} leídos de Holded…");
    }

    fn kind_done(&self, r: &KindReport) {
        println!(
            "✔ {:<10} creados {:>6} · actualizados {:>6} · sin cambios {:>6} · omitidos {:>6} · con error {:>5} · eliminados {:>5} · llamadas HubSpot {:>5} / Holded {:>5}",
            r.kind,
            r.created,
            r.updated,
            r.unchanged,
            r.skipped,
            r.failed,
            r.deleted,
            r.hubspot_calls,
            r.holded_calls
        );
        for planned in &r.planned {
            println!("    · {planned}");
        }
        if let Some(warning) = &r.warning {
            println!("  ⚠ {warning}");
        }
    }
}

async fn sync_now(
    runtime: &Runtime,
    portal: i64,
    objects: Option<Vec<SyncObject>>,
    since: Option<chrono::NaiveDate>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let engine = runtime.sync_engine().ok_or_else(|| {
        anyhow::anyhow!("HUBSPOT_CLIENT_ID: the HubSpot app must be configured to sync")
    })?;
    let objects = objects.map(|list| SyncObjects {
        contacts: list.contains(&SyncObject::Contacts),
        companies: list.contains(&SyncObject::Companies),
        products: list.contains(&SyncObject::Products),
        documents: list.contains(&SyncObject::Documents),
    });
    println!(
        "Sincronizando el portal {portal}{}…",
        if dry_run {
            " (simulación: no se escribe nada en HubSpot)"
        } else {
            ""
        }
    );
    let request = SyncRequest {
        portal_id: portal,
        trigger: RunTrigger::Cli,
        objects,
        since,
        dry_run,
        targets: None,
    };
    let report = engine.run(request, &PrintProgress).await?;
    println!(
        "Ejecución {} · {} · {:.1} s",
        report.run_id,
        report.status,
        report.elapsed_ms as f64 / 1000.0
    );
    match report.status.as_str() {
        "completed" => Ok(()),
        _ => Err(anyhow::anyhow!(
            report.error.unwrap_or_else(|| report.status.clone())
        )),
    }
}
