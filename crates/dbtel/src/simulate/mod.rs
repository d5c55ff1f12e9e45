//! `dbtel simulate`: a simulated driver workload through the real library into real HTTP
//! endpoints, with an optional outage, and a report that accounts for every event.
//!
//! By default it starts one embedded endpoint per simulated host on 127.0.0.1 (each on a port of
//! its own, so each is a distinct host key), runs `--connections` connections over them through
//! one [`TelemetryClientManager`] (each connection with a handle of its own on the lane of its
//! host and identity, `--identities` lanes per host), releases each handle as its connection
//! closes, shuts the manager down for the final accounting, and checks it against what the
//! endpoints received. With `--endpoint URL` (once per host) it exports to those instead.
//!
//! The library's `DATABRICKS_TELEMETRY_*` variables are read as a driver reads them (a flag
//! given wins; see [`environment`]); the report says where each of those settings came from.
//! SIGINT or SIGTERM stops the workload; the run then closes as usual (within its close
//! timeout) and prints the report it has (see [`interrupt`]).
//!
//! Exit codes: 0 when every event is accounted for; 1 when one is not, or the run failed; 2 for
//! bad flags (including settings the library rejects); 130 or 143 when SIGINT or SIGTERM
//! stopped it (the report says whether everything was accounted for).

mod actions;
mod environment;
mod interrupt;
mod monitor;
mod outage;
mod progress;
mod report;
mod settings;
#[cfg(unix)]
mod spool;
mod targets;
mod workload;

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use databricks_telemetry::export::UserAgentError;
use databricks_telemetry::unstable::thread_stats;
use databricks_telemetry::unstable::{breaker, shown};
use databricks_telemetry::ConfigError;
use databricks_telemetry::HostKey;
use databricks_telemetry::{AcquireError, TelemetryClientManager};
use telemetry_endpoint::{EndpointError, FeatureFlagAnswer, TelemetryEndpoint};

use self::interrupt::StopSignal;
use self::monitor::ExportWatch;
use self::outage::{OutageSpec, ScheduledOutage};
use self::progress::{ProgressGoal, ProgressView};
use self::report::{EndpointCounts, HostOutcome, OutageReport, RunOutcome, SimulationReport};
use self::settings::LibraryFlags;
use self::targets::{TargetError, Token};
use self::workload::{Progress, SimulatedHost, WorkloadPlan};

/// Connections when `--connections` is not given.
pub(crate) const DEFAULT_CONNECTIONS: u32 = 8;
/// The most simulated hosts: the bound of `--hosts` and of the number of `--endpoint` flags.
pub(crate) const MAX_HOSTS: u32 = 64;
/// Embedded hosts when neither `--hosts` nor `--endpoint` is given.
pub(crate) const DEFAULT_HOSTS: u32 = 2;
/// Statements per connection when neither `--statements` nor `--duration` is given.
pub(crate) const DEFAULT_STATEMENTS: u64 = 200;
/// Events per second over all connections when `--rate` is not given: about 6 s for the
/// default workload, long enough for a 2 s outage to open and close the breakers.
pub(crate) const DEFAULT_RATE: f64 = 500.0;
/// Threads the connections run on when `--threads` is not given.
pub(crate) const DEFAULT_THREADS: u32 = 4;

/// Arguments of `dbtel simulate`.
#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// Simulated connections (driver sessions), spread round-robin over the hosts, then over
    /// each host's identities.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connections: u32,

    /// Identities per host (users, each with credentials of its own): each is a lane of its own
    /// in the library; needs at least this many connections per host, and a token.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    identities: u32,

    /// Simulated hosts: embedded endpoints to start [default: 2], or, with --endpoint, the
    /// number of endpoints given (which it must then equal).
    #[arg(long, value_name = "H", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_HOSTS)))]
    hosts: Option<u32>,

    /// Statements per connection [default: 200; unlimited with --duration].
    #[arg(long, value_name = "S")]
    statements: Option<u64>,

    /// Events per second over all connections; 0 runs as fast as possible.
    #[arg(long, value_name = "EVENTS", default_value_t = DEFAULT_RATE, value_parser = parse_rate)]
    rate: f64,

    /// Stop running statements after this long (e.g. 10s, 500ms, 1m); connections then close.
    #[arg(long, value_name = "DURATION", value_parser = outage::parse_duration)]
    duration: Option<Duration>,

    /// Make the embedded endpoints fail uploads for a while: KIND:DURATION@START, e.g. 503:2s@1s
    /// (KIND: an HTTP status from 400 to 599, hang or reset).
    #[arg(long, value_name = "KIND:DURATION@START")]
    outage: Option<OutageSpec>,

    /// Export to this endpoint instead of embedded ones; repeat it once per host (at most 64).
    #[arg(long = "endpoint", value_name = "URL")]
    endpoints: Vec<String>,

    /// Allow plain http:// endpoints (loopback hosts only); always on for embedded endpoints.
    #[arg(long)]
    allow_insecure_http: bool,

    /// Bearer token to send; the embedded endpoints require it (a random one when not given).
    /// Never printed.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "DATABRICKS_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,

    /// Write what the embedded endpoints accepted to FILE, one frontend log per line (read it
    /// with `dbtel inspect`).
    #[arg(long, value_name = "FILE")]
    capture: Option<PathBuf>,

    /// How the embedded endpoints answer the feature-flag route: on, off, missing, error or
    /// error=CODE [default: on]; not with --endpoint.
    #[arg(long, value_name = "ANSWER", value_parser = parse_flags)]
    server_flag: Option<FeatureFlagAnswer>,

    /// Threads the connections run on.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_THREADS,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,

    /// Seed of the workload's random choices (the same seed makes the same workload).
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,

    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,

    /// Let the library spool to DIR (its `spool_dir`): events a run cannot deliver (an outage,
    /// an exit mid-outage) wait there, and the next run with the same DIR sends them; its
    /// embedded endpoints listen on the ports DIR remembers, so its hosts are the same. The
    /// report says how many events came from the spool, and from which runs (Unix).
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,

    #[command(flatten)]
    library: LibraryFlags,
}

/// The lowest `--rate` other than 0: one event a day.
const MIN_RATE: f64 = 1.0 / 86_400.0;

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate == 0.0 || (rate.is_finite() && rate >= MIN_RATE) => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a number of events per second (0 for unpaced, or at least one a day)"
        )),
    }
}

fn parse_flags(text: &str) -> Result<FeatureFlagAnswer, String> {
    text.parse()
        .map_err(|error: telemetry_endpoint::FeatureFlagParseError| error.to_string())
}

/// The flag that sets the setting a configuration error names: the option key after the
/// prefix, with dashes (`adbc.databricks.telemetry.batch_size` is `--batch-size`).
fn flag_of(error: &ConfigError) -> Option<String> {
    let key = match error {
        ConfigError::InvalidValue { key, .. } | ConfigError::Exceeds { key, .. } => key,
        _ => return None,
    };
    key.strip_prefix(databricks_telemetry::TelemetryConfig::OPTION_PREFIX)
        .map(|name| format!("--{}", name.replace('_', "-")))
}

/// Why `dbtel simulate` could not run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SimulateError {
    /// Flags that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A library setting out of range.
    #[error("{}{source}", flag_of(source).map(|flag| format!("{flag}: ")).unwrap_or_default())]
    Config {
        /// What the library said.
        #[from]
        source: ConfigError,
    },
    /// An endpoint that cannot be used.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The spool directory could not be used.
    #[error("--spool {}: {source}", path.display())]
    Spool {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// An embedded endpoint could not start.
    #[error("cannot start an embedded endpoint: {0}")]
    Endpoint(#[from] EndpointError),
    /// The simulated driver's user agent was refused (a bug: it is a constant).
    #[error("invalid user agent: {0}")]
    UserAgent(#[from] UserAgentError),
    /// A telemetry handle could not be acquired.
    #[error("cannot acquire a telemetry handle: {0}")]
    Acquire(#[from] AcquireError),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Spawn(#[source] io::Error),
    /// The SIGINT and SIGTERM handlers could not be set up.
    #[error("cannot set up the signal handlers: {0}")]
    Signals(#[source] io::Error),
    /// The capture could not be written.
    #[error("cannot write the capture file {}: {source}", path.display())]
    Capture {
        /// The capture file asked for.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// Writing the report failed.
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] io::Error),
}

impl SimulateError {
    /// 2 for bad flags, 1 for anything else.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            SimulateError::Usage(_) | SimulateError::Config { .. } | SimulateError::Target(_) => 2,
            _ => 1,
        }
    }
}

/// How a run that completed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accounting {
    /// Every event is accounted for.
    Balanced,
    /// Something does not add up (the report says what).
    Unbalanced,
    /// SIGINT or SIGTERM stopped the workload; the report was printed.
    Interrupted(StopSignal),
}

impl Accounting {
    /// 0 when balanced, 1 when not, 128 + the signal's number when interrupted.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Accounting::Balanced => 0,
            Accounting::Unbalanced => 1,
            Accounting::Interrupted(signal) => signal.exit_code(),
        }
    }
}

impl SimulateArgs {
    /// The workload plan, after checking that the flags fit together.
    fn plan(&self) -> Result<WorkloadPlan, SimulateError> {
        let usage = |message: String| Err(SimulateError::Usage(message));
        if self.endpoints.len() > MAX_HOSTS as usize {
            return usage(format!(
                "{} --endpoint URLs given; at most {MAX_HOSTS} (one per simulated host, like --hosts)",
                self.endpoints.len()
            ));
        }
        if !self.endpoints.is_empty() {
            if self.server_flag.is_some() {
                return usage(
                    "--server-flag sets how the embedded endpoints answer; it cannot be used with --endpoint"
                        .to_owned(),
                );
            }
            if let Some(hosts) = self.hosts.filter(|&h| h as usize != self.endpoints.len()) {
                return usage(format!(
                    "--hosts {hosts} does not match the {} --endpoint URLs given; give one --endpoint per host",
                    self.endpoints.len()
                ));
            }
            if self.outage.is_some() {
                return usage(
                    "--outage needs the embedded endpoints; it cannot be used with --endpoint"
                        .to_owned(),
                );
            }
            if self.capture.is_some() {
                return usage(
                    "--capture needs the embedded endpoints; it cannot be used with --endpoint"
                        .to_owned(),
                );
            }
            let mut seen = HashSet::new();
            for url in &self.endpoints {
                let key = HostKey::parse(url).map_err(|error| TargetError {
                    url: url.clone(),
                    reason: error.to_string(),
                })?;
                if !seen.insert(key.clone()) {
                    return usage(format!(
                        "--endpoint \"{}\" names host {key} again; each simulated host needs an endpoint of its own",
                        shown(url)
                    ));
                }
            }
        }
        if (self.connections as usize) < self.host_count() {
            return usage(format!(
                "--connections {} is fewer than the {} hosts; every host needs a connection",
                self.connections,
                self.host_count()
            ));
        }
        if self.identities > 1 && !self.endpoints.is_empty() && self.token.is_none() {
            return usage(format!(
                "--identities {} needs a token (--token or DATABRICKS_TOKEN): without credentials every connection of a host shares one anonymous lane",
                self.identities
            ));
        }
        let needed = self.host_count() as u64 * u64::from(self.identities);
        if u64::from(self.connections) < needed {
            return usage(format!(
                "--connections {} is fewer than {needed} ({} hosts x --identities {}); every identity of every host needs a connection",
                self.connections,
                self.host_count(),
                self.identities
            ));
        }
        Ok(WorkloadPlan {
            connections: self.connections,
            identities: self.identities,
            statements: match (self.statements, self.duration) {
                (None, None) => Some(DEFAULT_STATEMENTS),
                (statements, _) => statements,
            },
            rate: (self.rate > 0.0).then_some(self.rate),
            duration: self.duration,
            threads: self.threads,
            seed: self.seed,
        })
    }

    fn host_count(&self) -> usize {
        if self.endpoints.is_empty() {
            self.hosts.unwrap_or(DEFAULT_HOSTS) as usize
        } else {
            self.endpoints.len()
        }
    }
}

/// Runs the simulation, prints the report, and says whether every event was accounted for.
pub(crate) fn run(args: SimulateArgs) -> Result<Accounting, SimulateError> {
    let plan = args.plan()?;
    // A capture file that cannot be created fails now, not after the whole run.
    let capture_file = args
        .capture
        .as_ref()
        .map(|path| {
            std::fs::File::create(path).map_err(|source| SimulateError::Capture {
                path: path.clone(),
                source,
            })
        })
        .transpose()?;
    let embedded = args.endpoints.is_empty();
    let env = |name: &str| std::env::var(name).ok();
    let spool_settings = environment::resolve_spool(
        args.spool.as_deref(),
        args.library.spool_max_bytes,
        args.library.spool_max_age_ms,
        &env,
    )?;
    #[cfg(unix)]
    let mut spool_run = spool_settings
        .dir
        .as_ref()
        .map(|dir| {
            spool::SpoolRun::open(dir).map_err(|source| SimulateError::Spool {
                path: dir.clone(),
                source,
            })
        })
        .transpose()?;
    #[cfg(not(unix))]
    if spool_settings.dir.is_some() {
        return usage("--spool needs a Unix system".to_owned());
    }
    #[cfg(unix)]
    let spool_dir = spool_run.as_ref().map(|run| run.dir().to_owned());
    #[cfg(not(unix))]
    let spool_dir: Option<PathBuf> = None;
    let (config, mut settings_origins) = args.library.to_config_with_env(
        embedded || args.allow_insecure_http,
        args.outage.as_ref(),
        spool_dir.as_deref(),
        (spool_settings.max_bytes, spool_settings.max_age),
        &env,
    )?;
    settings_origins.extend(spool_settings.origins);
    let token = match &args.token {
        Some(token) => Some(Token::new(token.clone())),
        None if embedded => Some(Token::generate()),
        None => None,
    };

    // From here on a signal stops the workload and the run still reports.
    let stop = interrupt::install().map_err(SimulateError::Signals)?;

    let endpoints: Vec<TelemetryEndpoint> = match (&token, embedded) {
        // Embedded runs always have a token (given or generated above).
        (Some(token), true) => {
            let flags = args.server_flag.clone().unwrap_or_default();
            #[cfg(unix)]
            let ports = spool_run.as_ref().map_or(&[][..], |run| run.ports());
            #[cfg(not(unix))]
            let ports = &[][..];
            targets::start_embedded(
                args.host_count(),
                token,
                &flags,
                ports,
                args.capture.is_some(),
            )?
        }
        _ => Vec::new(),
    };
    #[cfg(unix)]
    if let Some(run) = &mut spool_run {
        let ports = endpoints.iter().map(|e| e.addr().port()).collect();
        run.start(ports).map_err(|source| SimulateError::Spool {
            path: run.dir().to_owned(),
            source,
        })?;
    }
    let urls: Vec<String> = if embedded {
        endpoints.iter().map(TelemetryEndpoint::base_url).collect()
    } else {
        args.endpoints.clone()
    };
    let driver = targets::driver()?;
    let hosts = urls
        .iter()
        .enumerate()
        .map(|(index, url)| {
            targets::check_target(url, &config)?;
            Ok(SimulatedHost {
                url: url.clone(),
                workspace_id: 1_000_000_000 + index as i64,
                token: token.clone(),
                driver: driver.clone(),
            })
        })
        .collect::<Result<Vec<_>, SimulateError>>()?;

    let manager = TelemetryClientManager::new();
    let progress = Arc::new(Progress::default());
    let start = Instant::now();
    let outage = args
        .outage
        .map(|spec| {
            ScheduledOutage::schedule(spec, endpoints.iter().map(|e| e.handle()).collect(), start)
        })
        .transpose()
        .map_err(SimulateError::Spawn)?;
    let goal = match (plan.statements, plan.duration) {
        (Some(statements), _) => {
            ProgressGoal::Statements(statements.saturating_mul(u64::from(plan.connections)))
        }
        (None, Some(duration)) => ProgressGoal::Duration(duration),
        (None, None) => ProgressGoal::Statements(0),
    };
    let breakers = {
        let manager = manager.clone();
        let urls = urls.clone();
        move || breaker_states(&manager, &urls)
    };
    let watch = ExportWatch::start(manager.clone(), start).map_err(SimulateError::Spawn)?;
    let view = ProgressView::start(goal, Arc::clone(&progress), start, breakers);
    let workload = workload::run(&plan, &hosts, &config, &manager, &progress, start, &stop);
    let elapsed = start.elapsed();
    // Every connection has released its handle; the lanes drain in the background. The
    // shutdown waits for them (each within its own close timeout) and gives the final count.
    let shutdown_started = Instant::now();
    let outcome = manager.shutdown(settings::shutdown_timeout(&config));
    let shutdown_took = shutdown_started.elapsed();
    let last_export = watch.finish(outcome.stats.exported);
    view.finish();
    let outage_started = outage.map(ScheduledOutage::finish);
    let workload = workload?;

    let lanes_per_host = if token.is_some() {
        plan.identities as usize
    } else {
        1
    };
    let mut outcomes: Vec<HostOutcome> = hosts
        .iter()
        .map(|host| HostOutcome {
            host: HostKey::parse(&host.url).map_or_else(|_| shown(&host.url), |k| k.to_string()),
            stats: manager.host_stats(&host.url),
            breaker: breaker(&manager, &host.url),
            lanes: lanes_per_host,
            endpoint: None,
        })
        .collect();
    for (host, endpoint) in outcomes.iter_mut().zip(&endpoints) {
        let stats = endpoint.stats();
        host.endpoint = Some(EndpointCounts {
            logs_accepted: stats.logs_accepted,
            duplicates: stats.duplicate_event_ids,
            unchecked: stats.event_ids_untracked,
            kept: stats.logs_stored,
            upload_requests: stats.total("/telemetry-ext") + stats.total("/telemetry-unauth"),
        });
    }

    let capture = match (&args.capture, capture_file) {
        (Some(path), Some(file)) => Some((path, write_capture(&endpoints, path, file)?)),
        _ => None,
    };
    #[cfg(unix)]
    let spool_report = spool_run
        .map(|run| {
            let path = run.dir().to_owned();
            run.finish(&outcome.stats)
                .map_err(|source| SimulateError::Spool { path, source })
        })
        .transpose()?;
    #[cfg(not(unix))]
    let spool_report = None;
    let report = SimulationReport::new(&RunOutcome {
        generated: progress
            .generated
            .load(std::sync::atomic::Ordering::Relaxed),
        statements: progress
            .statements
            .load(std::sync::atomic::Ordering::Relaxed),
        connections: plan.connections,
        identities: plan.identities,
        total: outcome.stats,
        shutdown: (outcome.result, shutdown_took.as_secs_f64()),
        hosts: outcomes,
        lanes: workload.lanes,
        elapsed_s: elapsed.as_secs_f64(),
        last_export_s: last_export.map(|at| at.as_secs_f64()),
        telemetry_threads_peak: thread_stats().peak,
        rss_peak_mib: monitor::peak_rss_mib(),
        release_max_s: workload.release_max.as_secs_f64(),
        outage: args.outage.map(|spec| OutageReport {
            spec: spec.to_string(),
            kind: spec.kind.to_string(),
            started_at_s: outage_started
                .flatten()
                .map(|at| report::round3(at.as_secs_f64())),
            duration_s: spec.duration.as_secs_f64(),
        }),
        capture: capture.map(|(path, events)| (path.display().to_string(), events)),
        interrupted: stop.signal().map(StopSignal::name),
        telemetry_enabled: config.enabled(),
        settings: settings_origins,
        spool: spool_report,
    });
    for endpoint in endpoints {
        endpoint.shutdown();
    }

    let mut stdout = io::stdout().lock();
    let text = if args.json {
        serde_json::to_string(&report).map_err(|error| SimulateError::Stdout(error.into()))?
    } else {
        report.to_text()
    };
    writeln!(stdout, "{}", text.trim_end()).map_err(SimulateError::Stdout)?;
    stdout.flush().map_err(SimulateError::Stdout)?;
    Ok(if let Some(signal) = stop.signal() {
        Accounting::Interrupted(signal)
    } else if report.accounted {
        Accounting::Balanced
    } else {
        Accounting::Unbalanced
    })
}

/// `breakers: closed, open, ...`, one state per host (`-` while a host has no lane yet).
fn breaker_states(manager: &TelemetryClientManager, urls: &[String]) -> String {
    let states: Vec<String> = urls
        .iter()
        .map(|url| breaker(manager, url).map_or_else(|| "-".to_owned(), |b| b.state.to_string()))
        .collect();
    format!("breakers: {}", states.join(", "))
}

/// Writes every embedded endpoint's accepted logs to `file` (created at `path`), one per line;
/// returns how many.
fn write_capture(
    endpoints: &[TelemetryEndpoint],
    path: &Path,
    file: std::fs::File,
) -> Result<u64, SimulateError> {
    let capture_error = |source| SimulateError::Capture {
        path: path.to_owned(),
        source,
    };
    let mut file = io::BufWriter::new(file);
    let mut written = 0;
    for endpoint in endpoints {
        for log in endpoint.logs() {
            file.write_all(log.as_bytes()).map_err(capture_error)?;
            file.write_all(b"\n").map_err(capture_error)?;
            written += 1;
        }
    }
    file.flush().map_err(capture_error)?;
    Ok(written)
}
