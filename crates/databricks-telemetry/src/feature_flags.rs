//! The server feature flag that turns telemetry on or off per host, fetched once and cached; see
//! [`FeatureFlagCache`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::clock::Clock;
use crate::config::TelemetryConfig;
use crate::credentials::{AuthorizationValue, CredentialsProvider};
use crate::export::http::client::{exchange, RequestHeaders};
use crate::export::http::{default_transport, SuccessBody};
use crate::export::{FailureKind, Method, ServiceEndpoint, Transport, UserAgent};
use crate::host::HostKey;
use crate::system_clock::SystemClock;

/// The most bytes of a feature-flag answer read (at least 1 MiB must be accepted; a
/// 5,000-flag answer is several hundred KiB). A longer answer counts as a failed fetch.
pub const MAX_FLAG_ANSWER_BYTES: u64 = 4 * 1024 * 1024;

/// How long an answer is cached when the server sends no `ttl_seconds`.
pub const DEFAULT_FLAG_TTL: Duration = Duration::from_secs(900);

/// The shortest time an answer is cached (a smaller server TTL is raised to this).
pub const MIN_FLAG_TTL: Duration = Duration::from_secs(60);

/// The longest time an answer is cached (a larger server TTL is lowered to this).
pub const MAX_FLAG_TTL: Duration = Duration::from_secs(3600);

/// How long a failed fetch is cached as "disabled".
///
/// This is a cache lifetime, not a retry rule: the worker holds the lanes that need the flag
/// until the failed answer expires and then asks again; no upload was made, so no batch spends
/// an attempt. The flag route's `Retry-After` is not read: the uploads' one rule
/// (`pipeline/retry.rs`) is about sends of a batch, and a minute already spaces the fetches.
pub const FAILED_FLAG_TTL: Duration = Duration::from_secs(60);

/// The path of the feature-flag route, before the driver and version segments.
const FEATURE_FLAGS_PATH: &str = "/api/2.0/connector-service/feature-flags";

/// What the server said about a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagAnswer {
    /// One of the telemetry flags is `"true"`: telemetry is on.
    On,
    /// Telemetry flags are present but none is `"true"`: telemetry is off.
    Off,
    /// The flag list lacks every telemetry flag: telemetry is off.
    Missing,
    /// The flag could not be fetched or read: telemetry is off for [`FAILED_FLAG_TTL`].
    Failed,
    /// The service refused the caller's credentials (401 or 403), or they could not be sent.
    /// That says nothing about the host, so it is not cached: another identity asks afresh.
    Refused,
}

impl FlagAnswer {
    /// Whether telemetry may be sent.
    pub fn is_enabled(self) -> bool {
        self == FlagAnswer::On
    }
}

/// A cached answer for one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedFlag {
    /// The answer.
    pub answer: FlagAnswer,
    /// When it expires, by the cache's clock.
    pub expires_at: Instant,
}

/// What a [`FeatureFlagCache`] takes from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagSettings {
    /// Skip the flag: telemetry is on without asking (`force_enabled`).
    pub force_enabled: bool,
    /// The URL's `{driver}` segment (`feature_flag_driver`).
    pub driver: String,
    /// The flags that turn telemetry on (`feature_flag_name`).
    pub flag_names: Vec<String>,
    /// The longest one fetch may take (`feature_flag_timeout_ms`).
    pub timeout: Duration,
}

impl FlagSettings {
    /// `config`'s `force_enabled`, `feature_flag_driver`, `feature_flag_name` and
    /// `feature_flag_timeout_ms`.
    pub fn from_config(config: &TelemetryConfig) -> Self {
        FlagSettings {
            force_enabled: config.force_enabled(),
            driver: config.feature_flag_driver().to_owned(),
            flag_names: config.feature_flag_names().to_vec(),
            timeout: config.feature_flag_timeout(),
        }
    }
}

/// Per-host cache of the server's telemetry flag.
///
/// # The flag
///
/// `GET {endpoint}/api/2.0/connector-service/feature-flags/{driver}/{version}` answers
/// `{"flags":[{"name":"...","value":"true"}],"ttl_seconds":900}`. Telemetry is on for the host
/// only when one of the flags named by the `feature_flag_name` setting has the value `"true"`
/// (any case), or when `force_enabled` is set, in which case nothing is fetched at all. By
/// default those are `adbc.databricks.telemetry.enabled` (what the C# ADBC driver reads) and
/// `databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc` (what its design
/// document names). The names are not derived from `feature_flag_driver`, which only names the
/// URL's `{driver}` segment: no official driver builds its flag name from that segment.
///
/// The answer can be long (a workspace may return thousands of flags): up to
/// [`MAX_FLAG_ANSWER_BYTES`] of it is read, far more than the limit on an upload's answer.
///
/// # Caching
///
/// | answer | cached as | for |
/// |---|---|---|
/// | 2xx, a named flag `"true"` | [`FlagAnswer::On`] | the server's `ttl_seconds` clamped to 60..=3600 s, 900 s without one |
/// | 2xx, named flags present, none `"true"` | [`FlagAnswer::Off`] | the same |
/// | 2xx, valid flag list without any named flag | [`FlagAnswer::Missing`] (off) | the same: it is an answer, not a failure |
/// | 401 or 403; credentials the provider could not give or the HTTP layer cannot send | [`FlagAnswer::Refused`] (off for that caller) | not cached: the caller's credentials, not the host |
/// | anything else: transport error, timeout, other non-2xx, a body that is not a flag list | [`FlagAnswer::Failed`] (off) | 60 s |
///
/// Concurrent first fetches for a host are de-duplicated: one caller fetches, the others wait for
/// its answer (at most the flag timeout, or their deadline). Time comes from a [`Clock`], so
/// expiry can be tested without sleeping.
///
/// # Where the flag is resolved
///
/// On the host's export worker, never on the driver's connect path: before sending an
/// authenticated lane's batch (unless the lane has `force_enabled`), the worker asks the cache,
/// fetching on first use with the lane's authorization, bounded by `feature_flag_timeout_ms`.
/// "On" sends; "off" or "missing" drops the batch as `disabled_by_server`; a fetch that failed
/// holds the host's lanes that need the flag (their events wait) until the failed answer
/// expires, then asks again. Unauthenticated lanes (`/telemetry-unauth`, connection failures)
/// never ask: the flag needs credentials. A driver's connect is never delayed by the flag.
///
/// Share one per process behind an [`Arc`]. It is `Send + Sync`; lookups for different hosts
/// do not wait for each other, and no lock is held during a fetch.
///
/// # Example
///
/// ```
/// use databricks_telemetry::export::UserAgent;
/// use databricks_telemetry::unstable::{FeatureFlagCache, FlagSettings, ServiceEndpoint};
/// use databricks_telemetry::TelemetryConfig;
///
/// // With force_enabled nothing is fetched.
/// let config = TelemetryConfig::builder().with_force_enabled(true).build()?;
/// let settings = FlagSettings::from_config(&config);
/// let cache = FeatureFlagCache::new(settings, &UserAgent::new("DatabricksAdbcRust", "0.1.0")?);
/// let endpoint = ServiceEndpoint::parse("adb-123.azuredatabricks.net", false)?;
/// assert!(cache.is_enabled(&endpoint, None, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FeatureFlagCache {
    clock: Arc<dyn Clock>,
    force_enabled: bool,
    driver: String,
    flag_names: Vec<String>,
    driver_version: String,
    user_agent: UserAgent,
    user_agent_header: String,
    timeout: Duration,
    /// The transport given, or the default one made on the first fetch (`None` when the crate
    /// has no default client and none was given).
    transport: OnceLock<Option<Arc<dyn Transport>>>,
    entries: Mutex<HashMap<HostKey, Entry>>,
    fetched: Condvar,
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    /// A caller is fetching; wait on `fetched`.
    Fetching,
    Known(CachedFlag),
}

impl fmt::Debug for FeatureFlagCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeatureFlagCache")
            .field("force_enabled", &self.force_enabled)
            .field("driver", &self.driver)
            .field("flag_names", &self.flag_names)
            .field("driver_version", &self.driver_version)
            .field("timeout", &self.timeout)
            .field("transport", &self.transport.get())
            .field("hosts", &self.lock().len())
            .finish_non_exhaustive()
    }
}

impl FeatureFlagCache {
    /// A cache following `settings`, asking for `user_agent`'s driver version, on the system
    /// clock.
    pub fn new(settings: FlagSettings, user_agent: &UserAgent) -> Self {
        Self::with_clock(settings, user_agent, Arc::new(SystemClock))
    }

    /// [`new`](Self::new) with expiry measured by `clock`.
    pub fn with_clock(
        settings: FlagSettings,
        user_agent: &UserAgent,
        clock: Arc<dyn Clock>,
    ) -> Self {
        FeatureFlagCache {
            clock,
            force_enabled: settings.force_enabled,
            driver: settings.driver,
            flag_names: settings.flag_names,
            driver_version: user_agent.driver_version().to_owned(),
            user_agent: user_agent.clone(),
            user_agent_header: user_agent.to_string(),
            timeout: settings.timeout,
            transport: OnceLock::new(),
            entries: Mutex::new(HashMap::new()),
            fetched: Condvar::new(),
        }
    }

    /// Fetch flags through `transport` (the driver's own HTTP client, or a shared
    /// `UreqTransport` with a proxy and extra CA
    /// certificates) instead of a default `UreqTransport` of
    /// the cache's own. Give the exporters the same transport.
    #[must_use]
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = OnceLock::from(Some(transport));
        self
    }

    /// The telemetry flags' names (the `feature_flag_name` setting), comma separated as in the
    /// option, e.g. `adbc.databricks.telemetry.enabled,databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc`.
    /// Telemetry is on when any of them is `"true"`.
    pub fn flag_name(&self) -> String {
        self.flag_names.join(",")
    }

    /// Whether telemetry is on for `endpoint`'s host: `true` with `force_enabled`; otherwise
    /// the cached answer, fetched first when there is none or it expired.
    ///
    /// Blocks for at most the flag timeout, and never past `deadline`: fetching with
    /// `credentials` (none: the request carries no `Authorization`), or waiting for another
    /// caller's fetch of the same host. When the deadline leaves no time, or the other
    /// caller's fetch takes too long, the answer is `false` and nothing is cached; a fetch that
    /// the deadline cut shorter than the flag timeout and that failed is not cached either.
    pub fn is_enabled(
        &self,
        endpoint: &ServiceEndpoint,
        credentials: Option<&dyn CredentialsProvider>,
        deadline: Option<Instant>,
    ) -> bool {
        if self.force_enabled {
            return true;
        }
        let authorize = || match credentials.map(|provider| provider.authorization()) {
            None => Ok(None),
            Some(Ok(value)) => Ok(Some(value)),
            Some(Err(_)) => Err(()),
        };
        self.lookup(endpoint, authorize, deadline).is_enabled()
    }

    /// The answer for `endpoint`'s host: the cached one, or a fresh fetch (with the
    /// authorization `authorize` gives, called only when a fetch is needed) as
    /// [`is_enabled`](Self::is_enabled) describes. [`FlagAnswer::Failed`] when it could not be
    /// had in time. Ignores `force_enabled`.
    pub(crate) fn lookup(
        &self,
        endpoint: &ServiceEndpoint,
        authorize: impl FnOnce() -> Result<Option<AuthorizationValue>, ()>,
        deadline: Option<Instant>,
    ) -> FlagAnswer {
        let started = Instant::now();
        let wait_until = deadline.map_or(started + self.timeout, |deadline| {
            deadline.min(started + self.timeout)
        });
        let host = endpoint.host();
        let mut entries = self.lock();
        loop {
            match entries.get(host) {
                Some(Entry::Known(flag)) if self.clock.now() < flag.expires_at => {
                    return flag.answer;
                }
                Some(Entry::Fetching) => {
                    let now = Instant::now();
                    if now >= wait_until {
                        tracing::debug!(%host, "gave up waiting for another feature-flag fetch");
                        return FlagAnswer::Failed;
                    }
                    entries = self
                        .fetched
                        .wait_timeout(entries, wait_until - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                _ => break,
            }
        }
        let timeout = wait_until.saturating_duration_since(Instant::now());
        if timeout.is_zero() {
            return FlagAnswer::Failed;
        }
        entries.insert(host.clone(), Entry::Fetching);
        drop(entries);
        let mut pending = PendingFetch {
            cache: self,
            host,
            answer: FlagAnswer::Failed,
            ttl: FAILED_FLAG_TTL,
            cut_short: deadline.is_some_and(|deadline| deadline < started + self.timeout),
        };
        (pending.answer, pending.ttl) = match authorize() {
            Ok(authorization) => self.fetch(endpoint, authorization.as_ref(), timeout),
            Err(()) => {
                tracing::debug!(host = %endpoint.host(), "no credentials for the feature flag");
                (FlagAnswer::Refused, Duration::ZERO)
            }
        };
        pending.answer
        // Dropping `pending` stores the answer and wakes the waiters.
    }

    /// The cached answer for `host`, if there is one (expired or not); never fetches.
    pub fn cached(&self, host: &HostKey) -> Option<CachedFlag> {
        match self.lock().get(host) {
            Some(Entry::Known(flag)) => Some(*flag),
            Some(Entry::Fetching) | None => None,
        }
    }

    /// Fetches the flag for `endpoint`: the answer and how long to keep it.
    fn fetch(
        &self,
        endpoint: &ServiceEndpoint,
        authorization: Option<&AuthorizationValue>,
        timeout: Duration,
    ) -> (FlagAnswer, Duration) {
        let failed = (FlagAnswer::Failed, FAILED_FLAG_TTL);
        let url = endpoint.url(&format!(
            "{FEATURE_FLAGS_PATH}/{}/{}",
            encode_path_segment(&self.driver),
            encode_path_segment(&self.driver_version)
        ));
        let transport = self
            .transport
            .get_or_init(|| default_transport(&self.user_agent).ok());
        let Some(transport) = transport else {
            tracing::debug!(host = %endpoint.host(), "no HTTP transport for the feature flag");
            return failed;
        };
        let headers = RequestHeaders {
            authorization,
            org_id: None,
        };
        let answer = match exchange(
            &**transport,
            Method::Get,
            &url,
            headers,
            &self.user_agent_header,
            &[],
            Instant::now() + timeout,
            MAX_FLAG_ANSWER_BYTES,
        ) {
            Ok(answer) if matches!(answer.status, 401 | 403) => {
                tracing::debug!(host = %endpoint.host(), status = answer.status, "feature-flag fetch: credentials refused");
                return (FlagAnswer::Refused, Duration::ZERO);
            }
            Ok(answer) => answer,
            Err(failure) if failure.kind == FailureKind::Credentials => {
                tracing::debug!(host = %endpoint.host(), %failure, "feature-flag fetch: credentials cannot be sent");
                return (FlagAnswer::Refused, Duration::ZERO);
            }
            Err(failure) => {
                tracing::debug!(host = %endpoint.host(), %failure, "feature-flag fetch failed");
                return failed;
            }
        };
        let parsed = match &answer.body {
            Some(SuccessBody::Complete(body)) => parse_flags(body, &self.flag_names),
            Some(SuccessBody::TooLarge) => None,
            None => None,
        };
        match parsed {
            Some((flag, ttl)) => {
                tracing::debug!(host = %endpoint.host(), ?flag, ttl_s = ttl.as_secs(), "feature flag");
                (flag, ttl)
            }
            None => {
                tracing::debug!(
                    host = %endpoint.host(),
                    status = answer.status,
                    "feature-flag answer not usable"
                );
                failed
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<HostKey, Entry>> {
        // Entries are replaced whole; a panic cannot leave one half-written.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fetch in progress. Dropping it stores its answer (a failure unless set) and wakes every
/// caller waiting for the host, even if the fetch panicked.
struct PendingFetch<'a> {
    cache: &'a FeatureFlagCache,
    host: &'a HostKey,
    answer: FlagAnswer,
    ttl: Duration,
    /// The caller's deadline left the fetch less than the flag timeout: a failure then says
    /// more about the deadline than about the service, so it is not cached.
    cut_short: bool,
}

impl Drop for PendingFetch<'_> {
    fn drop(&mut self) {
        let mut entries = self.cache.lock();
        if self.answer == FlagAnswer::Refused
            || (self.cut_short && self.answer == FlagAnswer::Failed)
        {
            entries.remove(self.host);
        } else {
            let expires_at = self.cache.clock.now() + self.ttl;
            entries.insert(
                self.host.clone(),
                Entry::Known(CachedFlag {
                    answer: self.answer,
                    expires_at,
                }),
            );
        }
        drop(entries);
        self.cache.fetched.notify_all();
    }
}

/// The flag list, as far as it matters here. Names and values borrow from the body when they
/// hold no escapes; a value of any other JSON type is read and ignored.
#[derive(Deserialize)]
struct FlagList<'a> {
    #[serde(borrow)]
    flags: Vec<Flag<'a>>,
    #[serde(default)]
    ttl_seconds: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Flag<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    value: FlagValue,
}

/// A flag's value, reduced to whether it means "true": the string `"true"` in any case (spaces
/// around ignored) or a JSON `true`. Any other value, of any JSON type, is read and means no.
#[derive(Default)]
struct FlagValue(bool);

impl<'de> Deserialize<'de> for FlagValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FlagValueVisitor)
    }
}

struct FlagValueVisitor;

impl<'de> serde::de::Visitor<'de> for FlagValueVisitor {
    type Value = FlagValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FlagValue, E> {
        Ok(FlagValue(v.trim().eq_ignore_ascii_case("true")))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<FlagValue, E> {
        Ok(FlagValue(v))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<FlagValue, E> {
        Ok(FlagValue(false))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<FlagValue, E> {
        Ok(FlagValue(false))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<FlagValue, E> {
        Ok(FlagValue(false))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<FlagValue, E> {
        Ok(FlagValue(false))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<FlagValue, A::Error> {
        serde::de::IgnoredAny
            .visit_seq(seq)
            .map(|_| FlagValue(false))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<FlagValue, A::Error> {
        serde::de::IgnoredAny
            .visit_map(map)
            .map(|_| FlagValue(false))
    }
}

/// Reads a 2xx body: the answer for the telemetry flags `flag_names` and the clamped TTL, or
/// `None` when the body is not a flag list (`{"flags": [...]}`).
///
/// On when any flag with one of the names (exact, case-sensitive match) has the value `"true"`
/// in any case (or a JSON `true`); off when such flags are present but none is true; missing
/// when none is present. A TTL that is a number or a decimal string is clamped to
/// [`MIN_FLAG_TTL`]..=[`MAX_FLAG_TTL`]; one that is absent or unreadable gives
/// [`DEFAULT_FLAG_TTL`].
pub(crate) fn parse_flags(body: &[u8], flag_names: &[String]) -> Option<(FlagAnswer, Duration)> {
    let list: FlagList<'_> = serde_json::from_slice(body).ok()?;
    let mut answer = FlagAnswer::Missing;
    for flag in list
        .flags
        .iter()
        .filter(|flag| flag_names.iter().any(|name| *name == flag.name))
    {
        if flag.value.0 {
            answer = FlagAnswer::On;
            break;
        }
        answer = FlagAnswer::Off;
    }
    let ttl_seconds = match &list.ttl_seconds {
        Some(serde_json::Value::Number(number)) => number.as_u64(),
        Some(serde_json::Value::String(text)) => text.trim().parse::<u64>().ok(),
        _ => None,
    };
    let ttl = ttl_seconds.map_or(DEFAULT_FLAG_TTL, |seconds| {
        Duration::from_secs(seconds).clamp(MIN_FLAG_TTL, MAX_FLAG_TTL)
    });
    Some((answer, ttl))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str =
        "databricks.partnerplatform.clientConfigsFeatureFlags.enableTelemetryForAdbc";

    fn parse(body: &str) -> Option<(FlagAnswer, Duration)> {
        parse_flags(body.as_bytes(), &[NAME.to_owned()])
    }

    fn parse_for(body: &str, names: &[&str]) -> FlagAnswer {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        parse_flags(body.as_bytes(), &names).unwrap().0
    }

    #[test]
    fn any_named_flag_that_is_true_turns_telemetry_on() {
        let names = ["a.enabled", "b.enabled"];
        let body = |a: &str, b: &str| {
            format!(
                r#"{{"flags":[{{"name":"a.enabled","value":{a}}},{{"name":"b.enabled","value":{b}}}]}}"#
            )
        };
        assert_eq!(
            parse_for(&body(r#""true""#, r#""false""#), &names),
            FlagAnswer::On
        );
        assert_eq!(
            parse_for(&body(r#""false""#, r#""true""#), &names),
            FlagAnswer::On
        );
        assert_eq!(
            parse_for(&body(r#""false""#, "{}"), &names),
            FlagAnswer::Off
        );
        assert_eq!(
            parse_for(&body(r#""true""#, "[1]"), &["b.enabled"]),
            FlagAnswer::Off
        );
        assert_eq!(
            parse_for(&body(r#""true""#, r#""true""#), &["c"]),
            FlagAnswer::Missing
        );
        // Names match exactly: case and prefixes count.
        assert_eq!(
            parse_for(&body(r#""true""#, r#""true""#), &["A.enabled", "a"]),
            FlagAnswer::Missing
        );
        // An escaped name is read like any other.
        assert_eq!(
            parse_for(
                r#"{"flags":[{"name":"a\u002eenabled","value":"true"}]}"#,
                &names
            ),
            FlagAnswer::On
        );
    }

    fn flags(value: &str, ttl: &str) -> String {
        format!(r#"{{"flags":[{{"name":"{NAME}","value":{value}}}]{ttl}}}"#)
    }

    #[test]
    fn values() {
        let secs = Duration::from_secs;
        assert_eq!(
            parse(&flags(r#""true""#, "")),
            Some((FlagAnswer::On, secs(900)))
        );
        assert_eq!(
            parse(&flags(r#""TRUE""#, "")),
            Some((FlagAnswer::On, secs(900)))
        );
        assert_eq!(parse(&flags("true", "")), Some((FlagAnswer::On, secs(900))));
        assert_eq!(
            parse(&flags(r#""false""#, "")),
            Some((FlagAnswer::Off, secs(900)))
        );
        assert_eq!(
            parse(&flags(r#""yes""#, "")),
            Some((FlagAnswer::Off, secs(900)))
        );
        assert_eq!(
            parse(&flags("null", "")),
            Some((FlagAnswer::Off, secs(900)))
        );
        assert_eq!(
            parse(r#"{"flags":[{"name":"other","value":"true"}],"ttl_seconds":120}"#),
            Some((FlagAnswer::Missing, secs(120)))
        );
        assert_eq!(
            parse(r#"{"flags":[]}"#),
            Some((FlagAnswer::Missing, secs(900)))
        );
    }

    #[test]
    fn ttls_are_clamped() {
        let secs = Duration::from_secs;
        let ttl = |t: &str| parse(&flags(r#""true""#, t)).map(|(_, ttl)| ttl);
        assert_eq!(ttl(r#","ttl_seconds":0"#), Some(secs(60)));
        assert_eq!(ttl(r#","ttl_seconds":59"#), Some(secs(60)));
        assert_eq!(ttl(r#","ttl_seconds":300"#), Some(secs(300)));
        assert_eq!(ttl(r#","ttl_seconds":"300""#), Some(secs(300)));
        assert_eq!(ttl(r#","ttl_seconds":3601"#), Some(secs(3600)));
        assert_eq!(ttl(r#","ttl_seconds":-5"#), Some(secs(900)));
        assert_eq!(ttl(r#","ttl_seconds":"soon""#), Some(secs(900)));
    }

    #[test]
    fn bodies_that_are_not_flag_lists() {
        for body in [
            "",
            "<html>",
            "{}",
            r#"{"flags":"true"}"#,
            "[]",
            r#"{"flags":[1]}"#,
        ] {
            assert_eq!(parse(body), None, "{body:?}");
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_path_segment("0.1.0-beta_1~x"), "0.1.0-beta_1~x");
        assert_eq!(encode_path_segment("1.0/../x y"), "1.0%2F..%2Fx%20y");
    }
}
