//! The HTTP server: accepting connections, routing, and answering each route.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::body_budget::BodyBudget;
use crate::connections::{Admission, Admitted, Connections};
use crate::huge_body::HugeBody;
use crate::local_only::{self, LocalRefusal};
use crate::log_count::count_proto_logs;
use crate::read_body::{BodyLimits, BodyRefusal};
use crate::reset::{PartialBody, ResetSwitch, ResettableStream};
use crate::validate::{check_upload, UploadRoute};
use crate::{EndpointHandle, ExtensionRequest, Fault, FaultKind, RecordedRequest};

/// The largest request body read; larger ones get 413.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The most connections served at once, by default (see
/// [`EndpointConfig::with_max_connections`](crate::EndpointConfig::with_max_connections)): when
/// full, the connection idle the longest is closed to make room; when every one is answering a
/// request, a new one is closed as soon as it is accepted.
pub const MAX_CONNECTIONS: usize = 512;

/// How long a connection may take to send a request's headers (idle keep-alive connections
/// included) before it is closed, by default (see
/// [`EndpointConfig::with_header_read_timeout`](crate::EndpointConfig::with_header_read_timeout)).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request body may take to arrive before the request gets 408, by default (see
/// [`EndpointConfig::with_body_read_timeout`](crate::EndpointConfig::with_body_read_timeout)).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest read timeout used: longer configured ones are cut to this, so adding one to the
/// current time cannot overflow.
const LONGEST_READ_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The memory request bodies being read may take together, by default (see
/// [`EndpointConfig::with_body_budget_bytes`](crate::EndpointConfig::with_body_budget_bytes)).
pub const BODY_BUDGET_BYTES: usize = 2 * MAX_REQUEST_BODY_BYTES;

/// The slowest a request body may arrive, in bytes per second on average, by default (see
/// [`EndpointConfig::with_min_body_rate`](crate::EndpointConfig::with_min_body_rate)).
pub const MIN_BODY_RATE: u64 = 1024;

/// How often a body's rate is checked, by default.
pub const MIN_BODY_RATE_WINDOW: Duration = Duration::from_secs(5);

/// The most header bytes kept per recorded request: names and values beyond are not kept.
const MAX_RECORDED_HEADER_BYTES: usize = 2 * 1024;

/// The most bytes of one header value kept in a recorded request.
const MAX_RECORDED_HEADER_VALUE_BYTES: usize = 512;

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
    let connections = Connections::new(handle.max_connections());
    let total = handle.body_budget_bytes();
    let reserved = if handle.token().is_some() {
        MAX_REQUEST_BODY_BYTES.min(total / 2)
    } else {
        0
    };
    let bodies = BodyBudget::new(total, reserved);
    // What the Host check of `local_requests_only` compares with.
    let served = listener
        .local_addr()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let admitted = match connections.admit() {
                        Admission::Admitted(admitted) => admitted,
                        Admission::AdmittedByEviction(admitted) => {
                            tracing::debug!(%peer, "connection limit reached; the longest idle connection closed");
                            handle.connection_evicted();
                            admitted
                        }
                        Admission::Full => {
                            tracing::debug!(%peer, "connection limit reached, none idle; connection closed");
                            handle.connection_refused();
                            drop(stream);
                            continue;
                        }
                    };
                    tracing::trace!(%peer, "connection accepted");
                    tokio::spawn(serve_connection(
                        stream,
                        handle.clone(),
                        stopped.clone(),
                        admitted,
                        Arc::clone(&bodies),
                        served,
                    ));
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
    admitted: Admitted,
    bodies: Arc<BodyBudget>,
    served: std::net::SocketAddr,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let header_read_timeout = handle.header_read_timeout().min(LONGEST_READ_TIMEOUT);
    let switch = Arc::new(ResetSwitch::default());
    let io = TokioIo::new(ResettableStream::new(stream, Arc::clone(&switch)));
    let state = Arc::clone(&admitted.state);
    let service = service_fn(move |request| {
        let handle = handle.clone();
        let switch = Arc::clone(&switch);
        let bodies = Arc::clone(&bodies);
        let busy = state.busy();
        async move {
            let response = answer(request, &handle, switch, &bodies, served).await;
            drop(busy);
            Ok::<_, Infallible>(response)
        }
    });
    let connection = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(io, service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        _ = stopped.wait_for(|stop| *stop) => {}
        () = admitted.state.evicted() => {
            tracing::debug!("idle connection closed to make room");
        }
    }
}

/// What a request is for.
enum Route {
    Upload(UploadRoute),
    FeatureFlags {
        driver: String,
    },
    Stats,
    SetFault,
    ClearFault,
    NotFound,
    /// Refused by the checks of `local_requests_only`.
    Refused(LocalRefusal),
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

/// The headers kept in the request log: in arrival order, each value cut to
/// [`MAX_RECORDED_HEADER_VALUE_BYTES`], at most [`MAX_RECORDED_HEADER_BYTES`] in all.
fn recorded_headers(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    let mut kept = Vec::new();
    let mut budget = MAX_RECORDED_HEADER_BYTES;
    for (name, value) in headers {
        let bytes = value.as_bytes();
        let value =
            String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_RECORDED_HEADER_VALUE_BYTES)]);
        let size = name.as_str().len() + value.len();
        if size > budget {
            break;
        }
        budget -= size;
        kept.push((name.as_str().to_owned(), value.into_owned()));
    }
    kept
}

/// The path as recorded: at most 256 bytes (cut at a character boundary).
fn recorded_path(path: &str) -> String {
    let mut end = path.len().min(256);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    path[..end].to_owned()
}

async fn answer(
    request: Request<Incoming>,
    handle: &EndpointHandle,
    switch: Arc<ResetSwitch>,
    bodies: &Arc<BodyBudget>,
    served: std::net::SocketAddr,
) -> Response<ResponseBody> {
    let mut record = RecordedRequest {
        method: request.method().to_string(),
        path: recorded_path(request.uri().path()),
        headers: recorded_headers(request.headers()),
        status: None,
        log_count: 0,
        fault: None,
    };
    tracing::debug!(method = %record.method, path = %record.path, "request");
    let mut route = Route::of(request.method(), request.uri().path());
    if handle.local_requests_only() {
        if let Err(refusal) = local_check(request.headers(), &route, served) {
            route = Route::Refused(refusal);
        }
    }
    let answer = match route {
        Route::Refused(refusal) => Answer::new(json_response(
            refusal.status,
            &json!({ "error": refusal.message }),
        )),
        Route::Upload(route) => upload(request, route, handle, switch, bodies, &mut record).await,
        Route::FeatureFlags { driver } => feature_flags(&request, &driver, handle),
        Route::Stats => Answer::new(stats_response(handle)),
        Route::SetFault | Route::ClearFault if !admin_allowed(&request, handle) => {
            Answer::new(json_response(
                StatusCode::UNAUTHORIZED,
                &json!({ "error": "the admin routes need the endpoint's token" }),
            ))
        }
        Route::SetFault => set_fault(request, handle, bodies).await,
        Route::ClearFault => {
            handle.clear_fault();
            Answer::new(json_response(StatusCode::OK, &json!({ "fault": null })))
        }
        Route::NotFound => match extension_get(&request, handle) {
            Some(answer) => answer,
            None => Answer::new(json_response(
                StatusCode::NOT_FOUND,
                &json!({ "error": format!("no route for {} {}", record.method, record.path) }),
            )),
        },
    };
    record.status = answer.complete.then(|| answer.response.status().as_u16());
    record.log_count = answer.log_count;
    record.fault = answer.fault;
    handle.record(record);
    answer.response
}

/// The checks of `local_requests_only`: the Host always, and Origin and content type on the
/// admin routes.
fn local_check(
    headers: &hyper::HeaderMap,
    route: &Route,
    served: std::net::SocketAddr,
) -> Result<(), LocalRefusal> {
    local_only::check_host(headers, served)?;
    match route {
        Route::SetFault => local_only::check_admin(headers, served, true),
        Route::ClearFault => local_only::check_admin(headers, served, false),
        _ => Ok(()),
    }
}

/// The extension's answer to a GET the endpoint has no route for, if it gives one.
fn extension_get(request: &Request<Incoming>, handle: &EndpointHandle) -> Option<Answer> {
    let extension = handle.extension()?;
    if request.method() != Method::GET {
        return None;
    }
    let answer = extension.get(&ExtensionRequest {
        path: request.uri().path(),
        query: request.uri().query(),
        authorized: admin_allowed(request, handle),
        token_required: handle.token().is_some(),
        endpoint: handle,
    })?;
    let mut response = Response::new(Full::new(Bytes::from(answer.body)).boxed());
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in answer.headers {
        match (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => tracing::debug!(name, "an extension header cannot be sent; left out"),
        }
    }
    Some(Answer::new(response))
}

/// Whether `request` may use the admin routes: always when the endpoint has no token;
/// otherwise only with it.
fn admin_allowed(request: &Request<Incoming>, handle: &EndpointHandle) -> bool {
    handle
        .token()
        .is_none_or(|token| token.check(request.headers()).is_ok())
}

/// 401 for an authenticated upload without the endpoint's token, counted.
fn unauthorized_upload(reason: &str, handle: &EndpointHandle) -> Answer {
    handle.unauthorized();
    Answer::new(json_response(
        StatusCode::UNAUTHORIZED,
        &json!({ "error": reason }),
    ))
}

async fn upload(
    request: Request<Incoming>,
    route: UploadRoute,
    handle: &EndpointHandle,
    switch: Arc<ResetSwitch>,
    bodies: &Arc<BodyBudget>,
    record: &mut RecordedRequest,
) -> Answer {
    // The token is checked before a byte of the body is read.
    if let (UploadRoute::Authenticated, Some(token)) = (route, handle.token()) {
        if let Err(reason) = token.check(request.headers()) {
            return unauthorized_upload(reason, handle);
        }
    }
    let headers = request.headers().clone();
    let body = match read_body(request, bodies, handle).await {
        Ok(body) => body,
        Err(response) => {
            // 413, 408 and unreadable bodies are refusals like any other.
            handle.reject(0);
            return Answer::new(response);
        }
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
        Some(FaultKind::Reset) => {
            // A 200 status line means accepted: the upload is taken as a 200 would take it,
            // then the answer is cut off (a refusal is answered whole).
            let validated = validated_upload(&body, &headers, route, handle, log_count);
            if validated.response.status() == StatusCode::OK {
                fault_answer(FaultKind::Reset, switch)
            } else {
                validated
            }
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
    // Checked again: a fault may have held the request (delay) while nothing changed, but the
    // check is cheap and keeps this function safe to call on its own.
    if let (UploadRoute::Authenticated, Some(token)) = (route, handle.token()) {
        if let Err(reason) = token.check(headers) {
            return unauthorized_upload(reason, handle);
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
            if let Some(extension) = handle.extension() {
                extension.accepted(route, &report);
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

async fn set_fault(
    request: Request<Incoming>,
    handle: &EndpointHandle,
    bodies: &Arc<BodyBudget>,
) -> Answer {
    let body = match read_body(request, bodies, handle).await {
        Ok(body) => body,
        Err(response) => return Answer::new(response),
    };
    let spec = fault_spec(&body);
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

/// The fault spec in an admin body: the body itself, or a JSON string, or the `fault` string of
/// a JSON object (what a client sending `Content-Type: application/json` may write).
fn fault_spec(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::String(spec)) => spec,
        Ok(Value::Object(object)) => match object.get("fault") {
            Some(Value::String(spec)) => spec.clone(),
            _ => String::from_utf8_lossy(body).into_owned(),
        },
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

/// Reads the body concurrently with others, within the shared budget `bodies` (a request
/// carrying the endpoint's token may use its reserve), at most [`MAX_REQUEST_BODY_BYTES`]
/// (413, without reading, when `Content-Length` says more), within the body timeout and the
/// minimum rate (408).
async fn read_body(
    request: Request<Incoming>,
    bodies: &Arc<BodyBudget>,
    handle: &EndpointHandle,
) -> Result<Bytes, Response<ResponseBody>> {
    let refused = |refusal: BodyRefusal| {
        let mut response = json_response(refusal.status, &json!({ "error": refusal.message }));
        if refusal.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BODY_BYTES as u64) {
        return Err(refused(BodyRefusal::too_large()));
    }
    let trusted = handle
        .token()
        .is_some_and(|token| token.check(request.headers()).is_ok());
    if declared.is_some_and(|length| length > bodies.free(trusted) as u64) {
        return Err(refused(BodyRefusal::budget_full()));
    }
    let (min_rate, window) = handle.min_body_rate();
    let limits = BodyLimits {
        timeout: handle.body_read_timeout().min(LONGEST_READ_TIMEOUT),
        min_rate,
        // A huge window (up to `Duration::MAX`) must not overflow the clock's arithmetic.
        window: window.min(LONGEST_READ_TIMEOUT),
    };
    let _reading = handle.body_being_read();
    let mut room = bodies.room(trusted);
    crate::read_body::read_body(request.into_body(), declared, &mut room, limits)
        .await
        .map_err(refused)
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
