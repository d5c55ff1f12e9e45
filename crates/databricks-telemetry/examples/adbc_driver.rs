//! A driver shaped like the Rust ADBC driver for Databricks, on tokio, reporting its telemetry:
//! database options set one at a time (`TelemetryOptions`), a connection opened with async
//! (OAuth-like) credentials whose handle keeps its session, statements run in spawned tasks
//! with clones of that handle, their CloudFetch chunks downloaded in tasks of their own, each
//! statement's event sent by `submit` or when its result reader is dropped, and the connection
//! closed with a deadline (`close_async(&self)`). Telemetry goes through the default transport
//! to a local stand-in for the service that the example starts itself on 127.0.0.1 (no
//! network), and the example prints the accounting.
//!
//! ```sh
//! cargo run -p databricks-telemetry --example adbc_driver
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{AuthorizationValue, TokioCredentials};
use databricks_telemetry::model::{ExecutionResultFormat, OperationType, StatementType};
use databricks_telemetry::{
    AcquireOptions, ClientIdentity, ConfigValue, DriverInfo, StatementRecorder, TelemetryAuthType,
    TelemetryClientHandle, TelemetryClientManager, TelemetryOptions,
};
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

/// The token the local endpoint expects, as an OAuth flow would hand it out.
const TOKEN: &str = "example-oauth-token";
const STATEMENTS: usize = 6;
const CHUNKS_PER_STATEMENT: usize = 4;

/// What an ADBC `Database` keeps: its telemetry options, checked one at a time as `set_option`
/// gets them, over the driver's own defaults.
struct Database {
    telemetry_options: TelemetryOptions,
}

impl Database {
    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        // The driver's defaults rank below the user's environment (DATABRICKS_TELEMETRY_*).
        let telemetry_options =
            TelemetryOptions::new().with_default("databricks.telemetry.flush_interval_ms", 200)?;
        Ok(Database { telemetry_options })
    }

    /// ADBC's `set_option`: telemetry keys are checked at once (same error text as the full
    /// read); the driver's own keys are its business.
    fn set_option(&mut self, key: &str, value: impl Into<ConfigValue>) -> Result<(), String> {
        match self.telemetry_options.set(key, value) {
            Ok(true) => {}
            Ok(false) => {} // databricks.http_path, databricks.catalog, ...: the driver's own
            Err(error) => return Err(error.to_string()),
        }
        Ok(())
    }

    /// ADBC's `get_option` for a telemetry key: the last value set, under either prefix.
    fn get_option(&self, key: &str) -> Option<String> {
        self.telemetry_options.get(key).map(ToString::to_string)
    }
}

/// A connection: its telemetry handle, shared with its statements and their tasks.
struct Connection {
    telemetry: TelemetryClientHandle,
}

async fn open(
    manager: &TelemetryClientManager,
    database: &Database,
    host: &str,
) -> Result<Connection, Box<dyn std::error::Error>> {
    let started = Instant::now();
    // The driver's OAuth provider is async; the library calls it on the driver's runtime.
    let credentials = TokioCredentials::from_fn(tokio::runtime::Handle::current(), || async {
        tokio::time::sleep(Duration::from_millis(2)).await; // a token refresh
        Ok(AuthorizationValue::bearer(TOKEN))
    });
    // M2M: equal client credentials are one principal, so their connections share a lane. (For
    // U2M, whose user is unknown, `ClientIdentity::unique()` gives each connection its own.)
    let options = AcquireOptions::new(host, DriverInfo::new("Databricks ADBC Rust", "0.1.0")?)
        .with_credentials(
            ClientIdentity::from_credential("oauth-m2m", "client-id\0client-secret"),
            Arc::new(credentials),
        )
        .with_auth_type(TelemetryAuthType::OAuthM2m)
        .with_options(&database.telemetry_options)
        .with_org_id("1234567890");
    // Telemetry never fails a connection: a handle that records nothing if the acquire fails
    // (invalid options included; the reason is logged at debug).
    let telemetry = manager.acquire_or_disabled(&options);
    // ... the session opens; the server assigns its id ...
    if let Some(session) = telemetry.open_session(|s| s.with_session_id("01f0-example-session")) {
        telemetry.enqueue(session.connection_opened(started.elapsed()));
    }
    Ok(Connection { telemetry })
}

/// What the driver hands the application: the results, and the statement's recorder, whose
/// event goes out when the reader is dropped.
struct ResultReader {
    _statement: StatementRecorder,
}

/// One query: the statement's recorder is shared with the tasks that download its chunks.
async fn execute(telemetry: TelemetryClientHandle, index: usize) -> ResultReader {
    let statement = telemetry.begin(OperationType::ExecuteStatement);
    statement
        .set_statement_id(format!("01f0-statement-{index}"))
        .set_statement_type(StatementType::Query)
        .set_result_format(ExecutionResultFormat::ExternalLinks)
        .set_total_chunks(CHUNKS_PER_STATEMENT as i32);
    statement.record_status_poll(Duration::from_millis(3));
    statement.mark_result_ready();
    let downloads: Vec<_> = (0..CHUNKS_PER_STATEMENT)
        .map(|chunk| {
            let recorder = statement.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                tokio::time::sleep(Duration::from_millis(1 + chunk as u64)).await;
                recorder.record_chunk_download(started.elapsed());
            })
        })
        .collect();
    for download in downloads {
        download.await.expect("a download task");
    }
    statement.mark_results_consumed();
    if index % 2 == 0 {
        // Sent now, while the reader still holds a clone: nothing more is sent on its drop.
        statement.submit();
    }
    ResultReader {
        _statement: statement,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default().with_token(TOKEN))?;
    // A manager of its own (a driver uses TelemetryClientManager::global()).
    let manager = TelemetryClientManager::new();

    let mut database = Database::new()?;
    database.set_option("databricks.telemetry.batch_size", "10")?;
    database.set_option("databricks.telemetry.allow_insecure_http", true)?; // loopback only
    database.set_option("databricks.catalog", "main")?;
    if let Err(error) = database.set_option("databricks.telemetry.batch_sise", 10) {
        println!("rejected at set_option: {error}");
    }
    println!(
        "get_option(adbc.databricks.telemetry.batch_size) = {:?}",
        database.get_option("adbc.databricks.telemetry.batch_size")
    );

    let connection = open(&manager, &database, &endpoint.base_url()).await?;
    // Statements run concurrently, each in a task with a clone of the connection's handle.
    let statements: Vec<_> = (0..STATEMENTS)
        .map(|index| tokio::spawn(execute(connection.telemetry.clone(), index)))
        .collect();
    for statement in statements {
        let reader = statement.await?;
        drop(reader); // the application is done with the results
    }

    let closed = Instant::now();
    let telemetry = &connection.telemetry;
    if let Some(session) = telemetry.session_context() {
        telemetry.enqueue(session.connection_closed(Duration::from_millis(1)));
    }
    // The connection's release path: close the handle it shares, with a deadline. Awaited: a
    // blocking close here would hold one of the runtime's threads.
    let outcome = telemetry.close_async(Duration::from_secs(5)).await;
    println!(
        "closed in {:.1} ms: {:?}",
        closed.elapsed().as_secs_f64() * 1e3,
        outcome.result
    );

    let stats = outcome.stats;
    let received = endpoint.stats().logs_accepted;
    println!(
        "events: enqueued {}, exported {}, dropped {}, pending {}; the endpoint accepted {received}",
        stats.enqueued,
        stats.exported,
        stats.dropped.total(),
        stats.pending
    );
    let expected = (STATEMENTS + 2) as u64;
    if stats.enqueued != expected || stats.exported != expected || received != expected {
        return Err(format!("expected {expected} events exported, got {stats:?}").into());
    }
    println!("every event exported");
    Ok(())
}
