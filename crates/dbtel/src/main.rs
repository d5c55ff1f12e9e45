//! `dbtel`: serve a local telemetry endpoint, simulate a driver, inspect captures.
//!
//! One file per subcommand: each defines its clap `Args` struct and a `run` function returning
//! its own typed error.

#![forbid(unsafe_code)]

mod serve;

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
    /// Run a local stand-in for the Databricks telemetry service in the foreground.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
    };
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
    eprintln!("{message}");
}
