//! [`LivePage`]: the endpoint [`Extension`] behind `dbtel serve`'s page and `/summary`.
//!
//! An accepted upload only hands its logs (and each one's warnings) to a queue: parsing and
//! tallying happen on the page's own thread, so uploads are not slowed. A `/summary` request
//! first tallies whatever is still queued, so it always covers every upload answered before it;
//! it then reports from the running tallies, without going over the stored logs again.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use databricks_telemetry::model::FrontendLog;
use serde_json::json;
use telemetry_endpoint::{
    Extension, ExtensionRequest, ExtensionResponse, UploadReport, UploadRoute,
};

use super::{live_html, PageData, PAGE_CSS, PAGE_JS, RECENT_EVENTS};
use crate::inspect::{EventWarning, Summary};

/// The page's content security policy: nothing but its own script, style sheet and `/summary`.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The live page's state and its tallying thread; stops the thread when dropped.
#[derive(Debug)]
pub(crate) struct LivePage {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    /// What the `file` field of the report says.
    label: OnceLock<String>,
    /// Logs accepted and not yet tallied. Lock order: `summary`, then `queue`.
    queue: Mutex<Queue>,
    queued: Condvar,
    summary: Mutex<Summary>,
}

#[derive(Debug, Default)]
struct Queue {
    logs: Vec<Arrived>,
    stop: bool,
}

/// One accepted log, as sent, with its warnings.
#[derive(Debug)]
struct Arrived {
    json: String,
    warnings: Vec<EventWarning>,
}

impl LivePage {
    /// Starts the tallying thread.
    pub(crate) fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            label: OnceLock::new(),
            queue: Mutex::new(Queue::default()),
            queued: Condvar::new(),
            summary: Mutex::new(Summary::keeping_recent(RECENT_EVENTS)),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("dbtel-page".to_owned())
            .spawn(move || worker.run())?;
        Ok(LivePage {
            shared,
            thread: Some(thread),
        })
    }

    /// Names the source in the report's `file` field (`live` until set); only the first call
    /// counts.
    pub(crate) fn set_label(&self, label: String) {
        let _ = self.shared.label.set(label);
    }

    /// The extension to install in the endpoint.
    pub(crate) fn extension(&self) -> Arc<dyn Extension> {
        Arc::new(PageExtension(Arc::clone(&self.shared)))
    }
}

impl Drop for LivePage {
    fn drop(&mut self) {
        self.shared.lock_queue().stop = true;
        self.shared.queued.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic there has nothing left to spoil at shutdown.
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding either lock leaves plain data behind; keep going.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_summary(&self) -> MutexGuard<'_, Summary> {
        self.summary.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tallies queued logs as they come, until stopped.
    fn run(&self) {
        loop {
            {
                let mut queue = self.lock_queue();
                while queue.logs.is_empty() && !queue.stop {
                    queue = self.queued.wait(queue).unwrap_or_else(|p| p.into_inner());
                }
                if queue.stop {
                    return;
                }
            }
            let mut summary = self.lock_summary();
            self.tally_queued(&mut summary);
        }
    }

    /// Moves every queued log into `summary` (whose lock the caller holds).
    fn tally_queued(&self, summary: &mut Summary) {
        let logs = std::mem::take(&mut self.lock_queue().logs);
        for arrived in logs {
            match serde_json::from_str::<FrontendLog>(&arrived.json) {
                Ok(log) => summary.add(&log),
                Err(error) => {
                    let ordinal = usize::try_from(summary.seen())
                        .unwrap_or(usize::MAX)
                        .saturating_add(1);
                    summary.skip_line(ordinal, error.to_string());
                }
            }
            summary.remember(&arrived.json, Some(arrived.warnings));
        }
    }

    /// The page data now: every log accepted so far tallied.
    fn page_data(&self, request: &ExtensionRequest<'_>) -> PageData {
        let mut summary = self.lock_summary();
        self.tally_queued(&mut summary);
        let label = self.label.get().map_or("live", String::as_str);
        PageData::live(label, &summary, &request.endpoint.stats())
    }
}

/// The [`Extension`] itself.
struct PageExtension(Arc<Shared>);

impl Extension for PageExtension {
    fn accepted(&self, _route: UploadRoute, report: &UploadReport) {
        let arrived: Vec<Arrived> = report
            .log_indexes()
            .into_iter()
            .zip(&report.logs)
            .map(|(index, log)| Arrived {
                json: log.json.clone(),
                warnings: report
                    .deviations_of(index)
                    .map(|deviation| EventWarning {
                        kind: deviation.kind.as_str().to_owned(),
                        // Relative to the log, as the page shows it on its own.
                        path: relative_path(&deviation.path, index),
                        message: deviation.message.clone(),
                    })
                    .collect(),
            })
            .collect();
        self.0.lock_queue().logs.extend(arrived);
        self.0.queued.notify_one();
    }

    fn get(&self, request: &ExtensionRequest<'_>) -> Option<ExtensionResponse> {
        let response = match request.path {
            "/" => ExtensionResponse::new(200, "text/html; charset=utf-8", live_html())
                .with_header("content-security-policy", CONTENT_SECURITY_POLICY),
            "/page.js" => ExtensionResponse::new(200, "text/javascript; charset=utf-8", PAGE_JS),
            "/page.css" => ExtensionResponse::new(200, "text/css; charset=utf-8", PAGE_CSS),
            "/summary" if !request.authorized => ExtensionResponse::new(
                401,
                "application/json",
                json!({ "error": "the summary needs the endpoint's token: Authorization: Bearer <token>" })
                    .to_string(),
            ),
            "/summary" => {
                let data = self.0.page_data(request);
                match serde_json::to_vec(&data) {
                    Ok(body) => ExtensionResponse::new(200, "application/json", body),
                    Err(error) => ExtensionResponse::new(
                        500,
                        "application/json",
                        json!({ "error": format!("cannot serialise the summary: {error}") })
                            .to_string(),
                    ),
                }
            }
            _ => return None,
        };
        Some(
            response
                .with_header("cache-control", "no-store")
                .with_header("x-content-type-options", "nosniff")
                .with_header("referrer-policy", "no-referrer"),
        )
    }
}

/// `path` (`$.protoLogs[3].entry...`) relative to its log (`$.entry...`).
fn relative_path(path: &str, index: usize) -> String {
    let prefix = format!("$.protoLogs[{index}]");
    match path.strip_prefix(&prefix) {
        Some(rest) => format!("${rest}"),
        None => path.to_owned(),
    }
}
