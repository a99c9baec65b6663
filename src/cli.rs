//! The command tree (clap derive). Each subcommand resolves the configuration, opens the store
//! and calls one stage function; nothing here parses images or talks to registries.
//!
//! Exit codes: 0 success; 1 the work failed (an image that cannot be read, a registry error,
//! a corrupt or hostile layer); 2 bad usage or configuration (clap's own code for usage
//! errors); 3 the database cannot be opened or written.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::advisories::Severity;
use crate::config::{Config, Overrides};
use crate::feeds::definition::FeedDef;
use crate::feeds::sync::{self, Synced};
use crate::images::SourceRef;
use crate::output::{self, Format, ScanFormat, VulnReport};
use crate::scan::{self, ScanOptions};
use crate::store::queries::FindingFilter;
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
    /// Advisory feeds: list them with their health, or sync them now
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// Security mailing lists
    #[command(subcommand)]
    Mail(MailCommand),
    /// Which recorded images an advisory (CVE, DSA, USN, RHSA, ...) or a package affects
    Affected(AffectedArgs),
    /// Stored findings
    #[command(subcommand)]
    Findings(FindingsCommand),
    /// Serve the HTTP API, sync the feeds and watch images on their intervals (until SIGTERM
    /// or Ctrl-C)
    Serve(ServeArgs),
    /// Run one watch round now: poll the watched tags, re-index what changed, settle and
    /// request rebuilds (`serve` runs rounds on `[watch] interval_secs`)
    Watch(WatchArgs),
    /// Rebuild requests and their outcomes
    #[command(subcommand)]
    Rebuilds(RebuildsCommand),
    /// Notifications: the outbox of messages to Slack and webhooks
    #[command(subcommand)]
    Notify(NotifyCommand),
}

#[derive(Debug, Subcommand)]
enum NotifyCommand {
    /// List outbox messages, newest first
    List {
        /// pending, delivered or dead
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        route: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Put a dead-lettered message (or, with --all, every one) back in line for delivery
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
    /// Route new events and deliver the messages that are due, once (`serve` does this
    /// continuously)
    Send,
}

#[derive(Debug, Args)]
struct WatchArgs {
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum RebuildsCommand {
    /// List rebuild requests, newest first, with causes and outcomes
    List {
        /// Only rebuilds of this image
        #[arg(long)]
        image: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Request a failed or timed-out rebuild again (the next watch round sends it)
    Retry { id: i64 },
}

#[derive(Debug, Args)]
struct AffectedArgs {
    /// An advisory id or alias: CVE-2024-1234, DSA-5678-1, USN-6409-1, RHSA-2024:1234
    #[arg(required_unless_present = "package", conflicts_with = "package")]
    advisory: Option<String>,
    /// Images holding this package (binary or source name) instead
    #[arg(long)]
    package: Option<String>,
    /// With --package: only installed versions below this one (compared per ecosystem)
    #[arg(long, requires = "package", value_name = "VERSION")]
    below: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum FindingsCommand {
    /// Recompute every finding from the stored images and advisories (after an upgrade; the
    /// result equals what the incremental updates keep)
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum FeedsCommand {
    /// List feeds with their schedule and health
    List,
    /// Fetch and ingest feeds now (all enabled feeds, or the named ones)
    Sync(SyncArgs),
}

#[derive(Debug, Args)]
struct SyncArgs {
    /// Feeds to sync [default: every enabled feed]
    names: Vec<String>,
    /// Ingest this document as the (one) named feed's data instead of fetching it
    #[arg(long, value_name = "PATH")]
    from_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum MailCommand {
    /// Import advisory mails from mbox files, Maildir folders, pipermail .txt.gz archives or
    /// single messages
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
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
    format: ScanFormat,
    /// Only vulnerabilities with a fixed version
    #[arg(long)]
    fixable_only: bool,
    /// Only vulnerabilities at least this severe: negligible, low, medium, high, critical
    #[arg(long, value_parser = parse_severity)]
    severity: Option<Severity>,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    match Severity::parse(s) {
        Severity::Unknown => Err(format!("unknown severity {s:?}: use negligible, low, medium, high or critical")),
        severity => Ok(severity),
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on, host:port (port 0 picks a free one) [default: 127.0.0.1:8080]
    #[arg(long, env = "CASCADE_LISTEN")]
    listen: Option<String>,
    /// Serve only: do not sync feeds
    #[arg(long)]
    no_sync: bool,
    /// Serve only: do not watch images (no polling, no rebuild triggers)
    #[arg(long)]
    no_watch: bool,
    /// Serve only: do not send notifications (events still enter the outbox)
    #[arg(long)]
    no_notify: bool,
}

#[derive(Debug, Subcommand)]
enum ImagesCommand {
    /// List recorded images with their OS and package counts
    List,
    /// Show which image each image is built on (config, annotations, layer prefixes) and
    /// whether it is built on its parent's current digest
    Graph {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
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
            let options = ScanOptions::from_config(&config).map_err(|e| Failure::Usage(e.into()))?;
            let mut store = open_store(&config)?;
            let report = scan::scan(&mut store, &source, &options).map_err(Failure::Work)?;
            let filter =
                FindingFilter { min_severity: args.severity, fixable: args.fixable_only, ..FindingFilter::default() };
            let findings = store.image_findings(report.image_id, &filter).map_err(|e| Failure::Store(e.into()))?;
            let os = report.inventory.os.as_ref();
            let coverage = store
                .coverage(os.map(|o| o.distro.as_str()), os.map(|o| o.release.as_str()).filter(|r| !r.is_empty()))
                .map_err(|e| Failure::Store(e.into()))?;
            let vulns = VulnReport { scan: &report, findings: &findings, coverage };
            print!("{}", output::scan(&vulns, args.format));
            Ok(())
        }
        Command::Affected(args) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let store = open_store(&config)?;
            let text = match (&args.advisory, &args.package) {
                (Some(advisory), _) => {
                    let images =
                        store.affected_images(advisory).map_err(|e| Failure::Store(e.into()))?.ok_or_else(|| {
                            Failure::Work(anyhow::anyhow!("advisory {advisory} is not known to any feed"))
                        })?;
                    match args.format {
                        Format::Table => output::affected_table(&images),
                        Format::Json => output::affected_json(&images),
                    }
                }
                (None, Some(package)) => {
                    let page = store
                        .images_with_package(package, args.below.as_deref(), None, usize::MAX)
                        .map_err(|e| Failure::Store(e.into()))?;
                    match args.format {
                        Format::Table => output::package_images_table(&page.items),
                        Format::Json => output::package_images_json(&page.items),
                    }
                }
                (None, None) => unreachable!("clap requires an advisory or --package"),
            };
            print!("{text}");
            Ok(())
        }
        Command::Findings(FindingsCommand::Rebuild) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let mut store = open_store(&config)?;
            let started = std::time::Instant::now();
            let n = store.rebuild_findings().map_err(|e| Failure::Store(e.into()))?;
            println!("{n} findings in {} ms", started.elapsed().as_millis());
            Ok(())
        }
        Command::Feeds(FeedsCommand::List) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let store = open_store(&config)?;
            let health = store.feed_health().map_err(|e| Failure::Store(e.into()))?;
            print!("{}", output::feeds_table(&config.feeds, &health));
            Ok(())
        }
        Command::Feeds(FeedsCommand::Sync(args)) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let selected = select_feeds(&config.feeds, &args.names).map_err(Failure::Usage)?;
            let mut store = open_store(&config)?;
            if let Some(path) = &args.from_file {
                let [def] = selected.as_slice() else {
                    return Err(Failure::Usage(anyhow::anyhow!("--from-file ingests one feed: name exactly one")));
                };
                let bytes = std::fs::read(path)
                    .map_err(|e| Failure::Usage(anyhow::anyhow!("cannot read {}: {e}", path.display())))?;
                let url = format!("file://{}", path.display());
                let now = crate::clock::now_rfc3339();
                let n_bytes = bytes.len() as u64;
                let changes = sync::ingest_document(&mut store, def, bytes, Some(&url), &now, &Default::default())
                    .map_err(|e| Failure::Work(e.into()))?;
                println!("{}", output::sync_line(&def.name, &Synced::Ingested { changes, n_bytes }));
                return Ok(());
            }
            let progress = std::io::stderr().is_terminal();
            let mut n_failed = 0;
            for def in &selected {
                if progress {
                    eprint!("syncing {} ...\r", def.name);
                }
                match sync::sync_feed(&mut store, def) {
                    Ok(synced) => println!("{}", output::sync_line(&def.name, &synced)),
                    Err(e) => {
                        n_failed += 1;
                        println!("{}: failed: {e}", def.name);
                    }
                }
            }
            if n_failed > 0 {
                return Err(Failure::Work(anyhow::anyhow!(
                    "{n_failed} of {} feeds failed; their previous data is kept",
                    selected.len()
                )));
            }
            Ok(())
        }
        Command::Mail(MailCommand::Import { paths }) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let mut store = open_store(&config)?;
            let report = crate::mail::import::import_paths(&mut store, &paths).map_err(Failure::Work)?;
            print!("{}", output::mail_report(&report));
            Ok(())
        }
        Command::Serve(args) => {
            overrides.listen = args.listen;
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let options =
                crate::api::ServeOptions { sync: !args.no_sync, watch: !args.no_watch, notify: !args.no_notify };
            crate::api::run(&config, &options).map_err(|e| match e {
                e if e.is_usage() => Failure::Usage(e.into()),
                e @ crate::api::ServeError::Store(_) => Failure::Store(e.into()),
                e => Failure::Work(e.into()),
            })
        }
        Command::Images(ImagesCommand::Graph { format }) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let store = open_store(&config)?;
            let entries = crate::watch::graph_entries(&store, &config.watch, &config.platform.to_string())
                .map_err(|e| Failure::Store(e.into()))?;
            print!(
                "{}",
                match format {
                    Format::Table => output::rebuilds::graph_table(&entries),
                    Format::Json => output::rebuilds::graph_json(&entries),
                }
            );
            Ok(())
        }
        Command::Watch(args) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            if config.watch.images.is_empty() {
                return Err(Failure::Usage(anyhow::anyhow!(
                    "no watched images: add [[watch.images]] entries to the config"
                )));
            }
            let options = ScanOptions::from_config(&config).map_err(|e| Failure::Usage(e.into()))?;
            let mut store = open_store(&config)?;
            let mut watcher =
                crate::watch::Watcher::new(config.watch.clone(), options).map_err(|e| Failure::Usage(e.into()))?;
            let report = watcher.round(&mut store).map_err(|e| Failure::Store(e.into()))?;
            match args.format {
                Format::Table => print!("{}", output::rebuilds::round_lines(&report)),
                Format::Json => println!("{}", serde_json::to_string_pretty(&report).expect("round reports serialize")),
            }
            Ok(())
        }
        Command::Rebuilds(RebuildsCommand::Retry { id }) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let mut store = open_store(&config)?;
            match store.retry_rebuild(id, crate::watch::unix_now()).map_err(|e| Failure::Store(e.into()))? {
                Some(new_id) => {
                    println!("rebuild {id} requested again as rebuild {new_id}; the next watch round sends it");
                    Ok(())
                }
                None => Err(Failure::Work(anyhow::anyhow!(
                    "rebuild {id} is not a failed or timed-out rebuild whose causes are still its own, \
                     or its image has a rebuild in flight"
                ))),
            }
        }
        Command::Rebuilds(RebuildsCommand::List { image, limit, format }) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let store = open_store(&config)?;
            let image = image.as_deref().map(crate::graph::canonical);
            let records = store.rebuilds(image.as_deref(), limit).map_err(|e| Failure::Store(e.into()))?;
            print!(
                "{}",
                match format {
                    Format::Table => output::rebuilds::rebuilds_table(&records),
                    Format::Json => output::rebuilds::rebuilds_json(&records),
                }
            );
            Ok(())
        }
        Command::Notify(command) => {
            let config = Config::load(&overrides).map_err(|e| Failure::Usage(e.into()))?;
            let mut store = open_store(&config)?;
            match command {
                NotifyCommand::List { status, route, limit, format } => {
                    if let Some(s) = status.as_deref().filter(|s| !["pending", "delivered", "dead"].contains(s)) {
                        return Err(Failure::Usage(anyhow::anyhow!(
                            "unknown status {s:?}: use pending, delivered or dead"
                        )));
                    }
                    let messages = store
                        .outbox(status.as_deref(), route.as_deref(), limit)
                        .map_err(|e| Failure::Store(e.into()))?;
                    print!(
                        "{}",
                        match format {
                            Format::Table => output::notifications::outbox_table(&messages),
                            Format::Json => output::notifications::outbox_json(&messages),
                        }
                    );
                }
                NotifyCommand::Retry { id, all } => {
                    let n = store
                        .retry_dead(if all { None } else { id }, crate::watch::unix_now())
                        .map_err(|e| Failure::Store(e.into()))?;
                    if n == 0 && !all {
                        return Err(Failure::Work(anyhow::anyhow!(
                            "no dead-lettered message with id {}",
                            id.unwrap_or(0)
                        )));
                    }
                    println!("{n} message(s) back in line for delivery");
                }
                NotifyCommand::Send => {
                    let mut sender = crate::notify::Sender::default();
                    let mut total = crate::notify::PassReport::default();
                    // Every due message of every route, pacing included; stops when nothing
                    // more is due now.
                    loop {
                        let (report, next) = crate::notify::pass(
                            &mut store,
                            &mut sender,
                            &config.notify,
                            &config.watch,
                            &config.platform.to_string(),
                        )
                        .map_err(|e| Failure::Store(e.into()))?;
                        let progressed = report.n_delivered + report.n_failed + report.n_dead + report.n_events > 0;
                        total.n_events += report.n_events;
                        total.n_messages += report.n_messages;
                        total.n_delivered += report.n_delivered;
                        total.n_failed += report.n_failed;
                        total.n_dead += report.n_dead;
                        match next {
                            Some(wait) if wait <= config.notify.min_interval && progressed => std::thread::sleep(wait),
                            _ => break,
                        }
                    }
                    println!(
                        "{} events routed into {} messages; {} delivered, {} failed (will retry), {} dead-lettered",
                        total.n_events, total.n_messages, total.n_delivered, total.n_failed, total.n_dead
                    );
                }
            }
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

/// The named feeds (any, enabled or not), or every enabled feed when none is named.
fn select_feeds(feeds: &[FeedDef], names: &[String]) -> anyhow::Result<Vec<FeedDef>> {
    if names.is_empty() {
        return Ok(feeds.iter().filter(|f| f.enabled).cloned().collect());
    }
    names
        .iter()
        .map(|name| {
            feeds.iter().find(|f| &f.name == name).cloned().ok_or_else(|| {
                let known: Vec<&str> = feeds.iter().map(|f| f.name.as_str()).collect();
                anyhow::anyhow!("no feed named {name:?}; known feeds: {}", known.join(", "))
            })
        })
        .collect()
}

/// Opens the store and applies the config's matching policy (rebuilding the findings when it
/// changed since they were computed).
fn open_store(config: &Config) -> Result<Store, Failure> {
    Store::open_with_policy(&config.db, config.matching).map_err(|e| Failure::Store(e.into()))
}
