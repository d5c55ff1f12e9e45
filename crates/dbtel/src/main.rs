//! `dbtel`: serve a local telemetry endpoint, simulate a driver, inspect captures.
//!
//! One module per subcommand: each defines its clap `Args` struct and a `run` function returning
//! its own typed error.
//!
//! Logging: `RUST_LOG` (e.g. `debug`, or `databricks_telemetry=trace,ureq=off`) turns on the
//! library's and the HTTP crate's logs, on stderr; no credential is ever among them.
//!
//! Exit codes: 0 on success; 2 for bad flags (clap's usage errors and settings the library
//! rejects); 1 for anything else, including a `simulate` run that leaves an event unaccounted
//! for.

#![forbid(unsafe_code)]

mod inspect;
mod page;
mod serve;
mod simulate;
mod stop_signals;
mod terminal;

use std::error::Error;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line tool for databricks-telemetry.
#[derive(Debug, Parser)]
#[command(name = "dbtel", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local stand-in for the Databricks telemetry service in the foreground; its page at
    /// `/` shows what drivers send, live.
    Serve(serve::ServeArgs),
    /// Run a simulated driver workload through the library into local (or given) endpoints and
    /// account for every event.
    Simulate(Box<simulate::SimulateArgs>),
    /// Summarise a capture (JSON lines of frontend logs).
    Inspect(inspect::InspectArgs),
}

/// The longest error line `dbtel` prints, in characters; longer ones end in `…`.
const MAX_ERROR_LINE_CHARS: usize = 1_000;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Serve(args) => finish(serve::run(args)),
        Command::Simulate(args) => match simulate::run(*args) {
            Ok(outcome) => ExitCode::from(outcome.exit_code()),
            Err(error) => {
                report(&error);
                ExitCode::from(error.exit_code())
            }
        },
        Command::Inspect(args) => finish(inspect::run(args)),
    }
}

/// 0 for `Ok`; for an error, reports it and returns 1.
fn finish<E: Error>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

/// Prints an error and its causes to stderr.
fn report(error: &dyn Error) {
    let mut message = format!("dbtel: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors already include their cause in their own message.
        if !message.contains(&cause_text) {
            message.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    eprintln!(
        "{}",
        terminal::escaped(&cut(&message, MAX_ERROR_LINE_CHARS))
    );
}

/// `text` cut to `max` characters, the last being `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Logs to stderr as `RUST_LOG` says (targets and levels, e.g. `debug` or
/// `databricks_telemetry=trace`), the `log` crate's records included; nothing without it.
fn init_logging() {
    let Ok(spec) = std::env::var("RUST_LOG") else {
        return;
    };
    match spec.parse::<tracing_subscriber::filter::Targets>() {
        Ok(filter) => {
            use tracing_subscriber::layer::SubscriberExt as _;
            use tracing_subscriber::util::SubscriberInitExt as _;
            let _ = tracing_subscriber::registry()
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(std::io::stderr)
                        .with_ansi(false),
                )
                .with(filter)
                .try_init();
        }
        Err(_) => eprintln!(
            "dbtel: RUST_LOG {:?} is not a list of TARGET=LEVEL or LEVEL; logging stays off",
            cut(&spec, 100)
        ),
    }
}
