//! Writes and replays the same events through the library's spool (a segment log, one
//! `fdatasync` per write of a batch) and through SQLite (WAL, one transaction per batch, with
//! `synchronous=FULL`, i.e. one sync per commit, and `NORMAL`), side by side, and prints
//! events per second for each. Usage: `cargo run --release [EVENTS] [BATCH]`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use databricks_telemetry::model::FrontendLog;
use databricks_telemetry::unstable::spool::SpoolBench;
use databricks_telemetry::TelemetrySessionContext;

fn events(n: usize) -> Vec<FrontendLog> {
    let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
        .with_session_id("01f0-session-id")
        .with_workspace_id(1234567890)
        .build();
    (0..n)
        .map(|i| session.connection_opened(Duration::from_millis(i as u64 % 1000)))
        .collect()
}

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spool-cmp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn segment_log(logs: &[FrontendLog], batch: usize) -> (f64, f64, u64) {
    let dir = fresh("segments");
    let spool = SpoolBench::new(
        dir.clone(),
        1 << 40,
        Duration::from_secs(86_400),
        "example.cloud.databricks.com",
        "named:user",
    );
    let started = Instant::now();
    for chunk in logs.chunks(batch) {
        assert_eq!(spool.write(chunk), chunk.len());
    }
    let write = logs.len() as f64 / started.elapsed().as_secs_f64();
    let bytes = dir_bytes(&dir);
    let started = Instant::now();
    let mut read = 0;
    while read < logs.len() {
        let got = spool.replay(batch);
        assert!(got > 0, "replayed {read} of {}", logs.len());
        read += got;
    }
    let replay = logs.len() as f64 / started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    (write, replay, bytes)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(feature = "sqlite")]
fn sqlite(logs: &[FrontendLog], batch: usize, synchronous: &str) -> (f64, f64, u64) {
    use rusqlite::{params, Connection};
    let dir = fresh(&format!("sqlite-{synchronous}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut db = Connection::open(dir.join("spool.db")).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "synchronous", synchronous).unwrap();
    db.execute_batch(
        "CREATE TABLE spool (id INTEGER PRIMARY KEY, written_at INTEGER NOT NULL, payload BLOB NOT NULL)",
    )
    .unwrap();
    let started = Instant::now();
    for chunk in logs.chunks(batch) {
        let tx = db.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO spool (written_at, payload) VALUES (?1, ?2)")
                .unwrap();
            for log in chunk {
                let payload = serde_json::to_vec(log).unwrap();
                insert.execute(params![1_i64, payload]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let write = logs.len() as f64 / started.elapsed().as_secs_f64();
    let bytes = dir_bytes(&dir);
    let started = Instant::now();
    let mut read = 0;
    loop {
        let tx = db.transaction().unwrap();
        let rows: Vec<(i64, Vec<u8>)> = {
            let mut select = tx
                .prepare_cached("SELECT id, payload FROM spool ORDER BY id LIMIT ?1")
                .unwrap();
            select
                .query_map(params![batch as i64], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        if rows.is_empty() {
            break;
        }
        for (_, payload) in &rows {
            let _: FrontendLog = serde_json::from_slice(payload).unwrap();
        }
        let last = rows.last().unwrap().0;
        tx.execute("DELETE FROM spool WHERE id <= ?1", params![last])
            .unwrap();
        tx.commit().unwrap();
        read += rows.len();
    }
    assert_eq!(read, logs.len());
    let replay = logs.len() as f64 / started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    (write, replay, bytes)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let logs = events(n);
    let size = serde_json::to_vec(&logs[0]).unwrap().len();
    println!("{n} events of {size} bytes (JSON), {batch} per synced write");
    let report = |name: &str, (write, replay, bytes): (f64, f64, u64)| {
        println!(
            "{name:<28} write {write:>9.0} events/s   replay {replay:>9.0} events/s   {:.1} MiB on disk ({:.0} B an event)",
            bytes as f64 / (1 << 20) as f64,
            bytes as f64 / n as f64
        );
    };
    // Each twice, alternating, so neither always runs on a warmer cache.
    for _ in 0..2 {
        report("segment log (fdatasync)", segment_log(&logs, batch));
        #[cfg(feature = "sqlite")]
        {
            report("sqlite WAL synchronous=FULL", sqlite(&logs, batch, "FULL"));
            report("sqlite WAL synchronous=NORMAL", sqlite(&logs, batch, "NORMAL"));
        }
    }
}
