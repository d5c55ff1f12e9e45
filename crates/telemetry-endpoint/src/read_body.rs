//! Reading one request body: within the shared [`BodyBudget`], the size limit, the body
//! timeout and the minimum rate.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::StatusCode;
use tokio::time::Instant;

use crate::body_budget::BodyRoom;
use crate::MAX_REQUEST_BODY_BYTES;

/// How a body must arrive.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// The whole body within this.
    pub(crate) timeout: Duration,
    /// At least this many bytes per second on average, checked every `window`.
    pub(crate) min_rate: u64,
    /// How often the rate is checked (the first check after one window).
    pub(crate) window: Duration,
}

/// Why a body was not read whole.
#[derive(Debug)]
pub(crate) struct BodyRefusal {
    /// The answer's status.
    pub(crate) status: StatusCode,
    /// What the answer says.
    pub(crate) message: String,
}

impl BodyRefusal {
    fn new(status: StatusCode, message: String) -> Self {
        BodyRefusal { status, message }
    }

    /// 413 for a body over [`MAX_REQUEST_BODY_BYTES`].
    pub(crate) fn too_large() -> Self {
        BodyRefusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {MAX_REQUEST_BODY_BYTES} bytes"),
        )
    }

    /// 503 when the bodies being read take all the memory allowed.
    pub(crate) fn budget_full() -> Self {
        BodyRefusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the endpoint is reading too many request bodies at once; retry later".to_owned(),
        )
    }
}

/// Reads `body` into memory held by `room`, of `declared` length when known.
///
/// # Errors
///
/// 413 past [`MAX_REQUEST_BODY_BYTES`]; 503 when the budget has no room for the next bytes;
/// 408 when the body takes longer than `limits.timeout`, or has arrived slower than
/// `limits.min_rate` at a check; 400 when it cannot be read.
pub(crate) async fn read_body(
    mut body: Incoming,
    declared: Option<u64>,
    room: &mut BodyRoom,
    limits: BodyLimits,
) -> Result<Bytes, BodyRefusal> {
    let start = Instant::now();
    let deadline = start + limits.timeout;
    let window = limits.window.max(Duration::from_millis(1));
    let mut next_check = start + window;
    // Room is taken as bytes arrive: a declared length only sizes the first allocation (at
    // most 64 KiB), so a slow client declaring a large body holds little.
    let first = declared.map_or(0, |length| length.min(64 * 1024) as usize);
    let mut received: Vec<u8> = Vec::new();
    if first > 0 {
        if !room.grow_to(first) {
            return Err(BodyRefusal::budget_full());
        }
        received.reserve_exact(first);
    }
    loop {
        let frame = tokio::time::timeout_at(deadline.min(next_check), body.frame()).await;
        match frame {
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                return Err(BodyRefusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("the request body could not be read: {error}"),
                ))
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    let length = received.len() + data.len();
                    if length > MAX_REQUEST_BODY_BYTES {
                        return Err(BodyRefusal::too_large());
                    }
                    if length > received.capacity() {
                        // Grow as a vector would, within the budget.
                        let wanted = length
                            .max(received.capacity().saturating_mul(2))
                            .min(MAX_REQUEST_BODY_BYTES);
                        if !room.grow_to(wanted) && !room.grow_to(length) {
                            return Err(BodyRefusal::budget_full());
                        }
                        received.reserve_exact(room.held() - received.len());
                    }
                    received.extend_from_slice(&data);
                }
            }
            Err(_elapsed) => {}
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(BodyRefusal::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {:?}",
                    limits.timeout
                ),
            ));
        }
        if now >= next_check {
            let elapsed = now.duration_since(start).as_secs_f64();
            if (received.len() as f64) < limits.min_rate as f64 * elapsed {
                return Err(BodyRefusal::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request body arrived slower than {} bytes per second",
                        limits.min_rate
                    ),
                ));
            }
            next_check = now + window;
        }
    }
    Ok(Bytes::from(received))
}
