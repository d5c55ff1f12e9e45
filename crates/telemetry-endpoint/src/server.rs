//! The HTTP server: accepting connections, routing, and answering each route.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::huge_body::HugeBody;
use crate::reset::{PartialBody, ResetSwitch, ResettableStream};
use crate::validate::{check_upload, UploadRoute};
use crate::{EndpointHandle, Fault, FaultKind, RecordedRequest};

/// The largest request body read; larger ones get 413.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The path prefix of the feature-flag route.
const FEATURE_FLAGS_PREFIX: &str = "/api/2.0/connector-service/feature-flags/";

type ResponseBody = BoxBody<Bytes, Infallible>;

/// Serves the endpoint on `listener` (on the caller's tokio runtime) until `shutdown` completes;
/// then every open connection, including those hung by a fault, is closed.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use telemetry_endpoint::{serve_on, EndpointConfig, EndpointHandle};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let handle = EndpointHandle::new(&EndpointConfig::default());
/// serve_on(listener, handle.clone(), async { let _ = tokio::signal::ctrl_c().await; }).await;
/// println!("{} logs accepted", handle.stats().logs_accepted);
/// # Ok(()) }
/// ```
pub async fn serve_on(
    listener: TcpListener,
    handle: EndpointHandle,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "connection accepted");
                    tokio::spawn(serve_connection(stream, handle.clone(), stopped.clone()));
                }
                Err(error) => {
                    // Usually out of file descriptors: wait a moment instead of spinning.
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
        }
    }
    // Receivers see the change even if they were not waiting yet.
    let _ = stop.send(true);
}

async fn serve_connection(
    stream: TcpStream,
    handle: EndpointHandle,
    mut stopped: watch::Receiver<bool>,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let switch = Arc::new(ResetSwitch::default());
    let io = TokioIo::new(ResettableStream::new(stream, Arc::clone(&switch)));
    let service = service_fn(move |request| {
        let handle = handle.clone();
        let switch = Arc::clone(&switch);
        async move { Ok::<_, Infallible>(answer(request, &handle, switch).await) }
    });
    let connection = http1::Builder::new().serve_connection(io, service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        _ = stopped.wait_for(|stop| *stop) => {}
    }
}

/// What a request is for.
enum Route {
    Upload(UploadRoute),
    FeatureFlags { driver: String },
    Stats,
    SetFault,
    ClearFault,
    NotFound,
}

impl Route {
    fn of(method: &Method, path: &str) -> Route {
        match (method, path) {
            (&Method::POST, "/telemetry-ext") => Route::Upload(UploadRoute::Authenticated),
            (&Method::POST, "/telemetry-unauth") => Route::Upload(UploadRoute::Unauthenticated),
            (&Method::GET, "/stats") => Route::Stats,
            (&Method::POST, "/admin/fault") => Route::SetFault,
            (&Method::DELETE, "/admin/fault") => Route::ClearFault,
            (&Method::GET, _) => path
                .strip_prefix(FEATURE_FLAGS_PREFIX)
                .and_then(|rest| rest.split_once('/'))
                .filter(|(driver, version)| {
                    !driver.is_empty() && !version.is_empty() && !version.contains('/')
                })
                .map_or(Route::NotFound, |(driver, _)| Route::FeatureFlags {
                    driver: driver.to_owned(),
                }),
            _ => Route::NotFound,
        }
    }
}

/// An answer and what to record about it.
struct Answer {
    response: Response<ResponseBody>,
    /// `false` when the response will not be completed (reset fault).
    complete: bool,
    log_count: usize,
    fault: Option<String>,
}

impl Answer {
    fn new(response: Response<ResponseBody>) -> Self {
        Answer {
            response,
            complete: true,
            log_count: 0,
            fault: None,
        }
    }
}

async fn answer(
    request: Request<Incoming>,
    handle: &EndpointHandle,
    switch: Arc<ResetSwitch>,
) -> Response<ResponseBody> {
    let mut record = RecordedRequest {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        headers: request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        status: None,
        log_count: 0,
        fault: None,
    };
    tracing::debug!(method = %record.method, path = %record.path, "request");
    let answer = match Route::of(request.method(), request.uri().path()) {
        Route::Upload(route) => upload(request, route, handle, switch, &mut record).await,
        Route::FeatureFlags { driver } => feature_flags(&request, &driver, handle),
        Route::Stats => Answer::new(stats_response(handle)),
        Route::SetFault => set_fault(request, handle).await,
        Route::ClearFault => {
            handle.clear_fault();
            Answer::new(json_response(StatusCode::OK, &json!({ "fault": null })))
        }
        Route::NotFound => Answer::new(json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no route for {} {}", record.method, record.path) }),
        )),
    };
    record.status = answer.complete.then(|| answer.response.status().as_u16());
    record.log_count = answer.log_count;
    record.fault = answer.fault;
    handle.record(record);
    answer.response
}

async fn upload(
    request: Request<Incoming>,
    route: UploadRoute,
    handle: &EndpointHandle,
    switch: Arc<ResetSwitch>,
    record: &mut RecordedRequest,
) -> Answer {
    let headers = request.headers().clone();
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return Answer::new(response),
    };
    let log_count = count_proto_logs(&body);
    let fault = handle.take_fault();
    let fault_text = fault
        .as_ref()
        .map(|kind| Fault::new(kind.clone()).to_string());
    let mut answer = match fault {
        Some(FaultKind::Hang) => {
            record.log_count = log_count;
            record.fault = fault_text;
            handle.record(record.clone());
            // Released when the connection is closed at shutdown.
            return std::future::pending().await;
        }
        Some(FaultKind::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            validated_upload(&body, &headers, route, handle, log_count)
        }
        Some(kind) => fault_answer(kind, switch),
        None => validated_upload(&body, &headers, route, handle, log_count),
    };
    answer.log_count = log_count;
    answer.fault = fault_text;
    answer
}

fn validated_upload(
    body: &[u8],
    headers: &hyper::HeaderMap,
    route: UploadRoute,
    handle: &EndpointHandle,
    log_count: usize,
) -> Answer {
    if let (UploadRoute::Authenticated, Some(token)) = (route, handle.token()) {
        if let Err(reason) = token.check(headers) {
            handle.unauthorized();
            return Answer::new(json_response(
                StatusCode::UNAUTHORIZED,
                &json!({ "error": reason }),
            ));
        }
    }
    match check_upload(body, route, handle.mode()) {
        Ok(report) => {
            let accepted = report.logs.len();
            let errors: Vec<serde_json::Value> = report
                .rejected
                .iter()
                .map(|rejected| {
                    json!({
                        "index": rejected.index,
                        "error": rejected.error.message,
                        "path": rejected.error.path
                    })
                })
                .collect();
            if !report.deviations.is_empty() {
                tracing::debug!(
                    deviations = report.deviations.len(),
                    "upload accepted with warnings"
                );
                handle.warn(&report.deviations, report.rejected.len());
            }
            handle.accept(report.logs);
            Answer::new(json_response(
                StatusCode::OK,
                &json!({
                    "errors": errors,
                    "numSuccess": accepted,
                    "numProtoSuccess": accepted,
                    "numRealtimeSuccess": 0
                }),
            ))
        }
        Err(error) => {
            tracing::debug!(path = %error.path, "upload rejected");
            handle.reject(log_count);
            Answer::new(json_response(StatusCode::BAD_REQUEST, &error.to_json()))
        }
    }
}

fn fault_answer(kind: FaultKind, switch: Arc<ResetSwitch>) -> Answer {
    let response = match kind {
        FaultKind::Status { code, retry_after } => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = json_response(
                status,
                &json!({
                    "error_code": "INJECTED_FAULT",
                    "message": format!("fault injected: status {code}")
                }),
            );
            if let Some(value) = retry_after {
                match HeaderValue::from_str(&value) {
                    Ok(value) => {
                        response.headers_mut().insert(RETRY_AFTER, value);
                    }
                    Err(_) => tracing::debug!("Retry-After value cannot be sent as a header"),
                }
            }
            response
        }
        FaultKind::Redirect { location, code } => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            let mut response = Response::new(Full::new(Bytes::new()).boxed());
            *response.status_mut() = status;
            match HeaderValue::from_str(&location) {
                Ok(value) => {
                    response.headers_mut().insert(LOCATION, value);
                }
                Err(_) => tracing::debug!("redirect location cannot be sent as a header"),
            }
            response
        }
        FaultKind::MalformedBody => {
            let mut response =
                Response::new(Full::new(Bytes::from_static(b"<html>not json {")).boxed());
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        FaultKind::HugeBody { bytes } => {
            let mut response = Response::new(HugeBody::new(bytes).boxed());
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        FaultKind::Reset => {
            let partial = Bytes::from_static(br#"{"errors":[],"numSuccess":"#);
            let mut response = Response::new(PartialBody::new(partial, switch).boxed());
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("1024"));
            return Answer {
                complete: false,
                ..Answer::new(response)
            };
        }
        FaultKind::Delay(_) | FaultKind::Hang => {
            unreachable!("delay and hang are handled before answering")
        }
    };
    Answer::new(response)
}

fn feature_flags(request: &Request<Incoming>, driver: &str, handle: &EndpointHandle) -> Answer {
    let answer = handle.feature_flags();
    if let Some(token) = handle.token() {
        if let Err(reason) = token.check(request.headers()) {
            return Answer::new(json_response(
                StatusCode::UNAUTHORIZED,
                &json!({ "error": reason }),
            ));
        }
    }
    let (code, body) = answer.render(driver);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Answer::new(json_response(status, &body))
}

async fn set_fault(request: Request<Incoming>, handle: &EndpointHandle) -> Answer {
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return Answer::new(response),
    };
    let spec = String::from_utf8_lossy(&body);
    match spec.parse::<Fault>() {
        Ok(fault) => {
            let shown = fault.to_string();
            handle.set_fault(fault);
            Answer::new(json_response(StatusCode::OK, &json!({ "fault": shown })))
        }
        Err(error) => Answer::new(json_response(
            StatusCode::BAD_REQUEST,
            &json!({ "error": error.to_string() }),
        )),
    }
}

async fn read_body(request: Request<Incoming>) -> Result<Bytes, Response<ResponseBody>> {
    match Limited::new(request.into_body(), MAX_REQUEST_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => {
            let too_large = error.is::<http_body_util::LengthLimitError>();
            let (status, message) = if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is larger than {MAX_REQUEST_BODY_BYTES} bytes"),
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    format!("the request body could not be read: {error}"),
                )
            };
            Err(json_response(status, &json!({ "error": message })))
        }
    }
}

/// The number of `protoLogs` elements, when the body is JSON with such an array.
fn count_proto_logs(body: &[u8]) -> usize {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| value.get("protoLogs")?.as_array().map(Vec::len))
        .unwrap_or(0)
}

/// The stats as JSON, fields in declaration order.
fn stats_response(handle: &EndpointHandle) -> Response<ResponseBody> {
    match serde_json::to_string(&handle.stats()) {
        Ok(text) => json_text_response(StatusCode::OK, text),
        Err(error) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "error": format!("cannot serialise the stats: {error}") }),
        ),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<ResponseBody> {
    json_text_response(status, body.to_string())
}

fn json_text_response(status: StatusCode, body: String) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
