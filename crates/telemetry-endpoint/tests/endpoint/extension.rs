//! An [`Extension`]: told of accepted uploads (with each log's index and deviations), asked
//! about GET paths the endpoint does not serve, and told whether the request is authorized.

use std::sync::{Arc, Mutex};

use serde_json::json;
use telemetry_endpoint::{
    EndpointConfig, Extension, ExtensionRequest, ExtensionResponse, Mode, TelemetryEndpoint,
    UploadReport, UploadRoute,
};

use crate::client::{frontend_log, get, post, request, upload_of, upload_of_strings};

const TOKEN: &str = "dapi-extension-secret";

/// One accepted log as told: its index in `protoLogs`, event id and deviation kinds.
type SeenLog = (usize, String, Vec<String>);

/// Records what it is told; answers `/hello` only.
#[derive(Default)]
struct Recorder {
    /// Per accepted upload: its route and logs.
    seen: Mutex<Vec<(UploadRoute, Vec<SeenLog>)>>,
}

impl Extension for Recorder {
    fn accepted(&self, route: UploadRoute, report: &UploadReport) {
        let logs = report
            .log_indexes()
            .into_iter()
            .zip(&report.logs)
            .map(|(index, log)| {
                let kinds = report
                    .deviations_of(index)
                    .map(|d| d.kind.as_str().to_owned())
                    .collect();
                (index, log.event_id.clone(), kinds)
            })
            .collect();
        self.seen.lock().unwrap().push((route, logs));
    }

    fn get(&self, request: &ExtensionRequest<'_>) -> Option<ExtensionResponse> {
        (request.path == "/hello").then(|| {
            let body = json!({
                "authorized": request.authorized,
                "token_required": request.token_required,
                "query": request.query,
                "logs_stored": request.endpoint.stats().logs_stored,
            });
            ExtensionResponse::new(200, "application/json", body.to_string())
                .with_header("x-from", "extension")
                .with_header("bad header", "left out")
        })
    }
}

#[test]
fn an_extension_sees_accepted_logs_with_their_indexes_and_warnings() {
    let recorder = Arc::new(Recorder::default());
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default()
            .with_mode(Mode::Tolerant)
            .with_extension(recorder.clone()),
    )
    .unwrap();
    let good = frontend_log("e0", json!({"operation_latency_ms": 5}));
    let warned = frontend_log("e2", json!({"operation_latency_ms": 5, "surprise": 1}));
    let body = upload_of_strings(&[
        good.to_string(),
        r#"{"frontend_log_event_id":"e1","workspace_id":true}"#.to_owned(),
        warned.to_string(),
    ]);
    assert_eq!(post(endpoint.addr(), "/telemetry-ext", &body).status, 200);
    // A body that cannot be read at all is refused: the extension is not told.
    assert_eq!(post(endpoint.addr(), "/telemetry-ext", b"nope").status, 400);

    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (route, logs) = &seen[0];
    assert_eq!(*route, UploadRoute::Authenticated);
    assert_eq!(logs.len(), 2);
    assert_eq!((logs[0].0, logs[0].1.as_str()), (0, "e0"));
    assert!(logs[0].2.is_empty(), "{logs:?}");
    assert_eq!((logs[1].0, logs[1].1.as_str()), (2, "e2"));
    assert_eq!(logs[1].2, vec!["unknown_field".to_owned()]);
}

#[test]
fn a_strict_endpoint_tells_nothing_of_a_refused_upload() {
    let recorder = Arc::new(Recorder::default());
    let endpoint =
        TelemetryEndpoint::start(EndpointConfig::default().with_extension(recorder.clone()))
            .unwrap();
    let warned = frontend_log("e2", json!({"surprise": 1}));
    assert_eq!(
        post(endpoint.addr(), "/telemetry-ext", &upload_of(&[warned])).status,
        400
    );
    let fine = frontend_log("e3", json!({"operation_latency_ms": 5}));
    assert_eq!(
        post(endpoint.addr(), "/telemetry-ext", &upload_of(&[fine])).status,
        200
    );
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1[0].1, "e3");
}

#[test]
fn an_extension_answers_its_gets_and_knows_whether_the_token_was_given() {
    let endpoint = TelemetryEndpoint::start(
        EndpointConfig::default()
            .with_token(TOKEN)
            .with_extension(Arc::new(Recorder::default())),
    )
    .unwrap();
    let without = get(endpoint.addr(), "/hello?x=1");
    assert_eq!(without.status, 200);
    assert_eq!(without.header("x-from"), Some("extension"));
    assert_eq!(
        without.json(),
        json!({"authorized": false, "token_required": true, "query": "x=1", "logs_stored": 0})
    );
    let bearer = format!("Bearer {TOKEN}");
    let with = request(
        endpoint.addr(),
        "GET",
        "/hello",
        &[("Authorization", bearer.as_str())],
        b"",
    );
    assert_eq!(with.json()["authorized"], true);
    // Other paths, and other methods on its path, are still 404.
    assert_eq!(get(endpoint.addr(), "/elsewhere").status, 404);
    assert_eq!(post(endpoint.addr(), "/hello", b"").status, 404);
    // The endpoint's own routes are not the extension's.
    assert_eq!(get(endpoint.addr(), "/stats").status, 200);
}
