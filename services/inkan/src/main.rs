//! `inkan`: one binary for every deployment shape.
//!
//! - `inkan serve` runs all four services in one process (monolithic mode).
//! - `inkan serve --role admin` (etc.) runs one (microservices mode).
//! - `inkan migrate` creates or upgrades the event store's schema (the log
//!   and the read-model tables beside it).
//! - `inkan projections rebuild` rebuilds the read-model tables from the whole log.
//! - `inkan projects show <id>` prints a project's relying-party configuration.
//!
//! # Layout
//! - `main.rs`: the command line, and nothing else.
//! - the library (`src/lib.rs`): backends, health, listeners, safety checks
//!   and `serve::App`, which tests also run in process.

// mimalloc, tuned (see libs/alloc): less CPU per request than glibc malloc,
// and freed memory goes back to the OS.
#[global_allocator]
static ALLOCATOR: inkan_alloc::Allocator = inkan_alloc::Allocator;

use inkan::{projects, serve};

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use inkan_config::{LogFormat, Role, Settings};

/// Inkan: an OpenID Connect provider. Every option can also be set by its
/// environment variable or in a TOML config file (`key = value`, keys as the
/// option names with underscores); command line > environment > file > default.
#[derive(Debug, Parser)]
#[command(name = "inkan", version)]
struct Cli {
    /// TOML config file.
    #[arg(long, env = "INKAN_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the provider (all services, or one role).
    Serve {
        /// Which services this process runs.
        #[arg(long, env = "INKAN_ROLE", value_enum, default_value = "all")]
        role: Role,
        #[command(flatten)]
        settings: Settings,
    },
    /// Create or upgrade the event store's schema, then exit.
    Migrate {
        #[command(flatten)]
        settings: Settings,
    },
    /// Inspect projects through a running Inkan's admin API.
    #[command(subcommand)]
    Projects(projects::ProjectsCommand),
    /// Maintain the read-model tables (the admin's checkpointed projections).
    #[command(subcommand)]
    Projections(ProjectionsCommand),
}

#[derive(Debug, Subcommand)]
enum ProjectionsCommand {
    /// Empty the read-model tables and project the whole event log into them
    /// again, then print how many events per second that took.
    Rebuild {
        #[command(flatten)]
        settings: Settings,
    },
}

fn main() -> ExitCode {
    // Before any thread exists (the tokio runtime is built below).
    inkan_alloc::tune();
    let args: Vec<String> = std::env::args().collect();
    let mut command = Cli::command();
    if let Some(path) = inkan_config::config_file_from(&args) {
        command = match inkan_config::apply_config_file(command, &path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("inkan: {e}");
                return ExitCode::from(2);
            }
        };
    }
    let cli = match Cli::from_arg_matches(&command.get_matches_from(args)) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Kept alive until exit: dropping it flushes the spans still buffered.
    let mut _telemetry = None;
    if let Command::Serve { settings, .. }
    | Command::Migrate { settings }
    | Command::Projections(ProjectionsCommand::Rebuild { settings }) = &cli.command
    {
        let format = match settings.log_format {
            LogFormat::Pretty => inkan_telemetry::Format::Pretty,
            LogFormat::Json => inkan_telemetry::Format::Json,
        };
        let service = match &cli.command {
            Command::Serve { role, .. } => format!("inkan-{}", format!("{role:?}").to_lowercase()),
            Command::Projections(_) => "inkan-projections".to_string(),
            _ => "inkan-migrate".to_string(),
        };
        let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok();
        _telemetry = Some(inkan_telemetry::init(
            format,
            &settings.log,
            endpoint.as_deref(),
            &service,
        ));
    }

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("inkan: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { role, settings } => serve::run(role, settings).await,
            Command::Migrate { settings } => serve::migrate(settings).await,
            Command::Projects(command) => projects::run(command).await,
            Command::Projections(ProjectionsCommand::Rebuild { settings }) => {
                serve::rebuild_projections(settings).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inkan: {e:#}");
            ExitCode::FAILURE
        }
    }
}
