//! The command tree (clap derive). Each subcommand resolves the configuration, opens the store
//! and calls one stage function; nothing here parses images or talks to registries.
//!
//! Exit codes: 0 success; 1 the work failed (an image that cannot be read, a registry error,
//! a corrupt or hostile layer); 2 bad usage or configuration (clap's own code for usage
//! errors); 3 the database cannot be opened or written.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::images::auth::Credentials;
use crate::images::registry::RegistryOptions;
use crate::images::SourceRef;
use crate::output::{self, Format};
use crate::scan::{self, ScanOptions};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "cascade",
    version,
    about = "Keeps container images patched: which images hold which packages, and which advisories touch them"
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Config file [default: cascade.toml when present]
    #[arg(long, global = true, env = "CASCADE_CONFIG")]
    config: Option<PathBuf>,
    /// SQLite database [default: $XDG_DATA_HOME/cascade/cascade.db]
    #[arg(long, global = true, env = "CASCADE_DB")]
    db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read the installed packages of one image and record its inventory
    Scan(ScanArgs),
    /// Inspect recorded images
    #[command(subcommand)]
    Images(ImagesCommand),
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// Image: a registry reference (debian:bookworm, host:5000/repo:tag, repo@sha256:...),
    /// oci-dir:PATH[:TAG], oci-archive:PATH[:TAG] or docker-archive:PATH[:REPO:TAG]
    image: String,
    /// Platform to pick from a multi-platform image, os/arch[/variant] [default: linux/amd64]
    #[arg(long, env = "CASCADE_PLATFORM")]
    platform: Option<String>,
    /// Registry (host[:port]) that may be reached over plain HTTP; loopback always may
    #[arg(long = "insecure-registry", env = "CASCADE_INSECURE_REGISTRIES", value_delimiter = ',')]
    insecure_registries: Vec<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum ImagesCommand {
    /// List recorded images with their OS and package counts
    List,
}

/// Failures sorted by exit code.
enum Failure {
    Work(anyhow::Error),
    Usage(anyhow::Error),
    Store(anyhow::Error),
}

impl Failure {
    fn report(self) -> ExitCode {
        let (code, err) = match self {
            Failure::Work(e) => (1, e),
            Failure::Usage(e) => (2, e),
            Failure::Store(e) => (3, e),
        };
        eprintln!("error: {err:#}");
        ExitCode::from(code)
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    let mut overrides = Overrides { config: cli.global.config, db: cli.global.db, ..Default::default() };
    match cli.command {
        Command::Scan(args) => {
            overrides.platform = args.platform;
            overrides.insecure_registries = args.insecure_registries;
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let source = SourceRef::parse(&args.image).map_err(|e| Failure::Usage(e.into()))?;
            let credentials = Credentials::load().map_err(|e| Failure::Usage(e.into()))?;
            let options = ScanOptions {
                platform: config.platform.clone(),
                limits: config.limits,
                registry: RegistryOptions {
                    insecure_registries: config.insecure_registries.clone(),
                    timeout: config.registry_timeout,
                    credentials,
                    ..RegistryOptions::default()
                },
            };
            let mut store = open_store(&config)?;
            let report = scan::scan(&mut store, &source, &options).map_err(Failure::Work)?;
            let text = match args.format {
                Format::Table => output::scan_table(&report),
                Format::Json => output::scan_json(&report),
            };
            print!("{text}");
            Ok(())
        }
        Command::Images(ImagesCommand::List) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let store = open_store(&config)?;
            let images = store.images().map_err(|e| Failure::Store(e.into()))?;
            print!("{}", output::images_table(&images));
            Ok(())
        }
    }
}

fn open_store(config: &Config) -> Result<Store, Failure> {
    Store::open(&config.db).map_err(|e| Failure::Store(e.into()))
}
