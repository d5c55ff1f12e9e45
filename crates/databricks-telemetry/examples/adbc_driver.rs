//! A driver shaped like the Rust ADBC driver for Databricks, on tokio, reporting its telemetry:
//! database options set one at a time, a connection opened with async (OAuth-like)
//! credentials, statements whose CloudFetch chunks download in spawned tasks, and the
//! connection closed. Telemetry goes through the default transport to a local stand-in for the
//! service that the example starts itself on 127.0.0.1 (no network), and the example prints
//! the accounting.
//!
//! ```sh
//! cargo run -p databricks-telemetry --example adbc_driver
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use databricks_telemetry::credentials::{AuthorizationValue, TokioCredentials};
use databricks_telemetry::model::{ExecutionResultFormat, OperationType, StatementType};
use databricks_telemetry::{
    AcquireOptions, ClientIdentity, ConfigValue, DriverInfo, TelemetryClientHandle,
    TelemetryClientManager, TelemetryConfig,
};
use telemetry_endpoint::{EndpointConfig, TelemetryEndpoint};

/// The token the local endpoint expects, as an OAuth flow would hand it out.
const TOKEN: &str = "example-oauth-token";
const STATEMENTS: usize = 5;
const CHUNKS_PER_STATEMENT: usize = 4;

/// What an ADBC `Database` keeps: its options, checked one at a time as `set_option` gets them.
#[derive(Default)]
struct Database {
    telemetry_options: Vec<(String, ConfigValue)>,
}

impl Database {
    /// ADBC's `set_option`: telemetry keys are checked at once (same error text as the full
    /// read); the driver's own keys are left alone.
    fn set_option(&mut self, key: &str, value: impl Into<ConfigValue>) -> Result<(), String> {
        let value = value.into();
        match TelemetryConfig::check_option(key, value.clone()) {
            Ok(true) => self.telemetry_options.push((key.to_owned(), value)),
            Ok(false) => {} // databricks.http_path, databricks.catalog, ...: the driver's own
            Err(error) => return Err(error.to_string()),
        }
        Ok(())
    }
}

/// A connection: its telemetry handle and its session.
struct Connection {
    telemetry: Arc<TelemetryClientHandle>,
    session: Arc<databricks_telemetry::TelemetrySessionContext>,
}

async fn open(
    manager: &TelemetryClientManager,
    database: &Database,
    host: &str,
) -> Result<Connection, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let config = TelemetryConfig::from_options(database.telemetry_options.iter().cloned())?;
    // The driver's OAuth provider is async; the library calls it on the driver's runtime.
    let credentials = TokioCredentials::from_fn(tokio::runtime::Handle::current(), || async {
        tokio::time::sleep(Duration::from_millis(2)).await; // a token refresh
        Ok(AuthorizationValue::bearer(TOKEN))
    });
    let telemetry = manager.acquire_databricks(
        &AcquireOptions::new(host, DriverInfo::new("Databricks ADBC Rust", "0.1.0")?)
            .with_credentials(
                ClientIdentity::from_credential("oauth-m2m", "client-id\0client-secret"),
                Arc::new(credentials),
            )
            .with_config(config)
            .with_org_id("1234567890"),
    )?;
    let session = telemetry
        .session()
        .expect("a Databricks handle")
        .with_session_id("01f0-example-session")
        .build();
    telemetry.enqueue(session.connection_opened(started.elapsed()));
    Ok(Connection {
        telemetry: Arc::new(telemetry),
        session,
    })
}

/// One query: the statement is shared with the tasks that download its chunks.
async fn execute(connection: &Connection, index: usize) {
    let statement = connection
        .session
        .begin_shared(OperationType::ExecuteStatement);
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
    if let Some(event) = statement.finish() {
        connection.telemetry.enqueue(event);
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = TelemetryEndpoint::start(EndpointConfig::default().with_token(TOKEN))?;
    // A manager of its own (a driver uses TelemetryClientManager::global()).
    let manager = TelemetryClientManager::new();

    let mut database = Database::default();
    database.set_option("databricks.telemetry.flush_interval_ms", 200)?;
    database.set_option("databricks.telemetry.batch_size", "10")?;
    database.set_option("databricks.telemetry.allow_insecure_http", true)?; // loopback only
    database.set_option("databricks.catalog", "main")?;
    if let Err(error) = database.set_option("databricks.telemetry.batch_sise", 10) {
        println!("rejected at set_option: {error}");
    }

    let connection = open(&manager, &database, &endpoint.base_url()).await?;
    for index in 0..STATEMENTS {
        execute(&connection, index).await;
    }
    let closed = Instant::now();
    connection.telemetry.enqueue(
        connection
            .session
            .connection_closed(Duration::from_millis(1)),
    );
    let telemetry = Arc::try_unwrap(connection.telemetry).expect("the only handle");
    // Awaited: a blocking close here would hold one of the runtime's threads.
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
