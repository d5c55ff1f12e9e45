//! `dbtel serve`: run the local telemetry endpoint in the foreground until SIGINT or SIGTERM.
//!
//! The endpoint also serves the live page at `/` and its data at `/summary` (see
//! [`crate::page`]); with a token, `/summary` needs it and the page asks for it.

use std::io::{self, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::page::live::LivePage;
use crate::stop_signals::StopSignals;
use crate::terminal::escaped;
use telemetry_endpoint::{
    EndpointConfig, EndpointError, EndpointHandle, Fault, FeatureFlagAnswer, Mode,
    TelemetryEndpoint,
};

/// How often the live summary line is refreshed on a terminal.
const SUMMARY_INTERVAL: Duration = Duration::from_millis(500);

/// Arguments of `dbtel serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// IP address to listen on. On an address other than loopback, anyone who can reach it can
    /// upload, read the page and /summary (session ids, hosts, error names, the latest events
    /// as sent), read /stats and set faults on /admin/fault: give --token to require it on
    /// /telemetry-ext, the feature-flag route, /summary and /admin/fault (the page's own files,
    /// /stats and /telemetry-unauth stay open). Without --token, requests whose
    /// Host is not this address or localhost are refused, and so are admin requests with
    /// another site's Origin or without Content-Type: application/json.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,

    /// Port to listen on; 0 picks a free one (the chosen address is printed).
    #[arg(long, short = 'p', value_name = "P", default_value_t = 0)]
    port: u16,

    /// On exit, write the accepted frontend logs to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    capture: Option<PathBuf>,

    /// Require `Authorization: Bearer T` on /telemetry-ext, the feature-flag route, /summary and the fault routes (/admin/fault); it may not be empty.
    #[arg(long, value_name = "T", env = "DBTEL_TOKEN", hide_env_values = true, value_parser = parse_token)]
    token: Option<String>,

    /// Inject a fault into uploads, e.g. 503, 429:retry-after=1, delay=200ms, hang, reset,
    /// redirect=URL, malformed, huge=10mb; scope suffix *N (next N) or @2s (window).
    #[arg(long, value_name = "SPEC", value_parser = parse_fault)]
    fault: Option<Fault>,

    /// Feature-flag answer: on, off, missing, error (500) or error=CODE.
    #[arg(long, value_name = "on|off|missing|error", default_value = "on", value_parser = parse_flags)]
    flags: FeatureFlagAnswer,

    /// The ttl_seconds of feature-flag answers (default 900).
    #[arg(long, value_name = "SECS")]
    flag_ttl: Option<u64>,

    /// How many accepted logs to keep in memory; older ones are evicted.
    #[arg(long, value_name = "N", default_value_t = telemetry_endpoint::DEFAULT_MAX_STORED_LOGS)]
    max_stored_logs: usize,

    /// Check uploads against the exact contract: any departure (unknown field or enum value,
    /// missing items, a duplicate key, session fields on /telemetry-unauth, ...) is a 400 that
    /// names every problem. Without it, the endpoint accepts what the real service accepts and
    /// counts each departure as a warning (in /stats and the final summary).
    #[arg(long)]
    strict: bool,
}

fn parse_token(token: &str) -> Result<String, String> {
    if token.trim().is_empty() {
        return Err(
            "the token is empty: give a non-empty token, or leave --token out to accept \
                    every request from this machine"
                .to_owned(),
        );
    }
    Ok(token.to_owned())
}

fn parse_fault(spec: &str) -> Result<Fault, String> {
    spec.parse()
        .map_err(|error: telemetry_endpoint::FaultParseError| error.reason)
}

fn parse_flags(text: &str) -> Result<FeatureFlagAnswer, String> {
    text.parse()
        .map_err(|error: telemetry_endpoint::FeatureFlagParseError| error.to_string())
}

/// Why `dbtel serve` failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    /// The endpoint could not start.
    #[error(transparent)]
    Start(#[from] EndpointError),
    /// The signal handlers or their runtime could not be set up.
    #[error("cannot wait for SIGINT/SIGTERM: {0}")]
    Signals(#[source] io::Error),
    /// The page's thread could not be started.
    #[error("cannot start the page's thread: {0}")]
    Page(#[source] io::Error),
    /// Writing to stdout failed.
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] io::Error),
    /// The capture file could not be written.
    #[error("cannot write the capture file {}: {source}", path.display())]
    Capture {
        /// The capture file asked for.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
}

impl ServeArgs {
    fn endpoint_config(&self, page: &LivePage) -> EndpointConfig {
        let flags = match self.flag_ttl {
            Some(ttl) => self.flags.clone().with_ttl(Some(ttl)),
            None => self.flags.clone(),
        };
        let mut config = EndpointConfig::default()
            .with_bind(SocketAddr::new(self.bind, self.port))
            .with_max_stored_logs(self.max_stored_logs)
            .with_feature_flags(flags)
            .with_mode(if self.strict {
                Mode::Strict
            } else {
                Mode::Tolerant
            })
            .with_extension(page.extension());
        config.token = self.token.clone();
        config.fault = self.fault.clone();
        // Without a token, only what a browser page on another site cannot send is served.
        config.with_local_requests_only(self.token.is_none())
    }
}

/// Runs the endpoint until SIGINT or SIGTERM, then writes the capture and a final summary.
pub(crate) fn run(args: ServeArgs) -> Result<(), ServeError> {
    let page = LivePage::start().map_err(ServeError::Page)?;
    let endpoint = TelemetryEndpoint::start(args.endpoint_config(&page))?;
    page.set_label(format!("live: {}", endpoint.base_url()));
    let handle = endpoint.handle();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Signals)?;
    runtime.block_on(serve_until_signal(&endpoint))?;
    endpoint.shutdown();

    let mut stdout = io::stdout().lock();
    if let Some(path) = &args.capture {
        let written = handle
            .write_capture(path)
            .map_err(|source| ServeError::Capture {
                path: path.clone(),
                source,
            })?;
        writeln!(stdout, "wrote {written} logs to {}", path.display())
            .map_err(ServeError::Stdout)?;
    }
    let stats = handle.stats();
    writeln!(stdout, "stopped: {}", escaped(&stats.summary_line())).map_err(ServeError::Stdout)?;
    let warnings = stats.warning_lines();
    if !warnings.is_empty() {
        writeln!(stdout, "warnings (count, kind, path):").map_err(ServeError::Stdout)?;
        for line in warnings {
            writeln!(stdout, "{}", escaped(&line)).map_err(ServeError::Stdout)?;
        }
    }
    stdout.flush().map_err(ServeError::Stdout)
}

/// Prints the address, then the live summary on a terminal, until a stop signal arrives.
async fn serve_until_signal(endpoint: &TelemetryEndpoint) -> Result<(), ServeError> {
    // Install the handlers before announcing the address, so that a signal sent as soon as the
    // address is read is never missed.
    let mut stop = StopSignals::install().map_err(ServeError::Signals)?;
    let mut stdout = io::stdout();
    writeln!(stdout, "listening on {}", endpoint.base_url()).map_err(ServeError::Stdout)?;
    writeln!(
        stdout,
        "page: {}/ (live; the summary as JSON at /summary)",
        endpoint.base_url()
    )
    .map_err(ServeError::Stdout)?;
    stdout.flush().map_err(ServeError::Stdout)?;

    let live = stdout.is_terminal();
    let handle = endpoint.handle();
    let mut refresh = tokio::time::interval(SUMMARY_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.recv() => break,
            _ = refresh.tick(), if live => print_live(&mut stdout, &handle),
        }
    }
    if live {
        // End the live line so that what follows starts on its own line.
        writeln!(stdout).map_err(ServeError::Stdout)?;
    }
    Ok(())
}

fn print_live(stdout: &mut io::Stdout, handle: &EndpointHandle) {
    // A failed refresh of the live line is not worth stopping the server for.
    let _ = write!(
        stdout,
        "\r\x1b[2K{}",
        escaped(&handle.stats().summary_line())
    );
    let _ = stdout.flush();
}
