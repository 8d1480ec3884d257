//! The `holded-hubspot` command line.

use clap::{Parser, Subcommand};

use crate::{
    config::{Config, ConfigArgs},
    runtime::Runtime,
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
}

/// Parses the command line and runs the command; returns the exit code.
pub async fn run() -> i32 {
    let cli = Cli::parse();
    let config = match Config::from_args(&cli.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return 2;
        }
    };
    telemetry::init_logging(config.log_format);
    let result = execute(cli.command, config).await;
    match result {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("error: {err:#}");
            1
        }
    }
}

async fn execute(command: Command, config: Config) -> anyhow::Result<()> {
    let runtime = Runtime::start(config).await?;
    match command {
        Command::Serve { no_workers } => runtime.serve(!no_workers).await,
        Command::Worker => runtime.work().await,
        Command::Migrate => {
            tracing::info!("migrations applied");
            Ok(())
        }
    }
}
