//! Getting a lane's `Authorization` value from a live connection's credentials provider,
//! without letting a slow or panicking provider stall the host's worker.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::lane::Lane;
use crate::credentials::{AuthorizationValue, CredentialsProvider};
use crate::threads;

/// How many helper threads may be stuck in providers at once; past that, calls fail at once.
const MAX_RUNNERS: usize = 4;

/// How long an idle helper thread waits for another call before it ends.
const RUNNER_IDLE: Duration = Duration::from_secs(30);

/// Why a lane has no authorization to send with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthorizationError {
    /// No live provider, and none was ever had (or the kept one was refused).
    NoCredentials,
    /// The provider failed, panicked or took longer than the request timeout.
    ProviderFailed(&'static str),
}

type Reply = Result<AuthorizationValue, &'static str>;

struct Job {
    lane: Arc<Lane>,
    handle: u64,
    reply: Sender<Reply>,
}

struct Runner {
    jobs: Sender<Job>,
    /// Claimed by a caller handing it a job, or by the helper itself when it ends.
    busy: Arc<AtomicBool>,
    gone: Arc<AtomicBool>,
}

/// Calls providers that may block on helper threads ("dbx-telemetry-auth"), bounded by a
/// timeout; providers that never block are called directly.
#[derive(Default)]
pub(crate) struct Authorizer {
    runners: Mutex<Vec<Runner>>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer").finish_non_exhaustive()
    }
}

impl Authorizer {
    /// The authorization `lane` sends with now: from its newest live provider (kept for later),
    /// else the one it kept; `Ok(None)` for a lane that never had credentials.
    pub(crate) fn authorize(
        &self,
        lane: &Arc<Lane>,
        timeout: Duration,
    ) -> Result<Option<AuthorizationValue>, AuthorizationError> {
        let mut state = lane.lock();
        let Some((handle, provider)) = state.providers.last().cloned() else {
            return match (&state.kept, state.expects_credentials) {
                (Some(kept), _) => Ok(Some(kept.clone())),
                (None, true) => Err(AuthorizationError::NoCredentials),
                (None, false) => Ok(None),
            };
        };
        let result = if provider.may_block() {
            drop(state);
            let result = self.call_bounded(lane, handle, timeout);
            state = lane.lock();
            result
        } else {
            // Quick by its own word: called under the lane's lock, so it cannot be called after
            // its handle's release returned.
            call_guarded(provider.as_ref())
        };
        match result {
            Ok(value) => {
                state.kept = Some(value.clone());
                Ok(Some(value))
            }
            Err(reason) => Err(AuthorizationError::ProviderFailed(reason)),
        }
    }

    /// Runs the provider of `lane`'s `handle` on a helper thread, waiting at most `timeout`.
    fn call_bounded(&self, lane: &Arc<Lane>, handle: u64, timeout: Duration) -> Reply {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let job = Job {
            lane: Arc::clone(lane),
            handle,
            reply,
        };
        if !self.dispatch(job) {
            return Err("no thread free to call the credentials provider");
        }
        match answer.recv_timeout(timeout) {
            Ok(reply) => reply,
            Err(RecvTimeoutError::Timeout) => {
                tracing::debug!(
                    "telemetry credentials provider took longer than the request timeout"
                );
                Err("the credentials provider timed out")
            }
            Err(RecvTimeoutError::Disconnected) => Err("the credentials provider failed"),
        }
    }

    /// Hands `job` to an idle helper thread, starting one when none is idle.
    fn dispatch(&self, job: Job) -> bool {
        let mut runners = self.runners.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget helpers that ended (idle too long).
        runners.retain(|runner| !runner.gone.load(Ordering::Acquire));
        let mut job = job;
        for runner in runners.iter() {
            if runner
                .busy
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                match runner.jobs.send(job) {
                    Ok(()) => return true,
                    Err(returned) => {
                        job = returned.into_inner();
                        runner.busy.store(false, Ordering::Release);
                    }
                }
            }
        }
        if runners.len() >= MAX_RUNNERS {
            return false;
        }
        let (jobs, inbox) = crossbeam_channel::bounded(1);
        let busy = Arc::new(AtomicBool::new(true));
        let gone = Arc::new(AtomicBool::new(false));
        let (runner_busy, runner_gone) = (Arc::clone(&busy), Arc::clone(&gone));
        let started = threads::spawn("dbx-telemetry-auth", move || {
            run(&inbox, &runner_busy);
            runner_gone.store(true, Ordering::Release);
        });
        if started.is_err() {
            return false;
        }
        let sent = jobs.send(job).is_ok();
        runners.push(Runner { jobs, busy, gone });
        sent
    }
}

/// A helper thread: calls providers until idle for [`RUNNER_IDLE`].
fn run(inbox: &Receiver<Job>, busy: &AtomicBool) {
    loop {
        let job = match inbox.recv_timeout(RUNNER_IDLE) {
            Ok(job) => job,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                // Claim itself before ending, so no caller hands it a job it would never run.
                if busy
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
        };
        // Look the provider up now, not when the job was made: a handle released meanwhile has
        // withdrawn it, and it is never called again.
        let provider = job
            .lane
            .lock()
            .providers
            .iter()
            .find(|(handle, _)| *handle == job.handle)
            .map(|(_, provider)| Arc::clone(provider));
        let reply = match provider {
            Some(provider) => call_guarded(provider.as_ref()),
            None => Err("the connection was released"),
        };
        let _ = job.reply.send(reply);
        busy.store(false, Ordering::Release);
    }
}

/// Calls `provider`, turning an error or a panic into a short reason (the provider's own text
/// is not kept: it is not ours to vouch for).
pub(crate) fn call_guarded(provider: &dyn CredentialsProvider) -> Reply {
    match catch_unwind(AssertUnwindSafe(|| provider.authorization())) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => {
            tracing::debug!("telemetry credentials provider failed");
            Err("the credentials provider failed")
        }
        Err(_) => {
            tracing::debug!("telemetry credentials provider panicked");
            Err("the credentials provider panicked")
        }
    }
}
