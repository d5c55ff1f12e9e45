//! [`FeatureFlagGate`]: exports only while the server's feature flag allows telemetry for the
//! host.
//!
//! The flag is resolved here, on the telemetry worker thread, and never on the driver's
//! connect path. Before each batch the gate asks the shared
//! [`FeatureFlagCache`]: the first batch for a host (and the first after the cached answer
//! expires) waits for the fetch, bounded by `feature_flag_timeout_ms` and the export deadline;
//! later batches get the cached answer at once. When telemetry is off the batch is returned as
//! [`ExportOutcome::Disabled`] without reaching the inner exporter (the client counts it as
//! `disabled_by_server`). So a driver's connect is never delayed by the flag at all: events wait
//! in the client's queue until the answer is known.
//!
//! Put the gate outermost, around the circuit breaker, so a "telemetry off" answer never counts
//! as a failure of the host.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use super::{ExportOutcome, Exporter, ServiceEndpoint};
use crate::credentials::CredentialsProvider;
use crate::feature_flags::FeatureFlagCache;
use crate::model::FrontendLog;

/// An [`Exporter`] that asks a [`FeatureFlagCache`] before handing a batch to `inner`; see the
/// [module docs](self).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use databricks_telemetry::export::{FeatureFlagGate, ServiceEndpoint, UserAgent};
/// use databricks_telemetry::feature_flags::FeatureFlagCache;
/// use databricks_telemetry::testing::InMemoryExporter;
/// use databricks_telemetry::{TelemetryClient, TelemetryConfig};
///
/// let config = TelemetryConfig::builder().with_force_enabled(true).build()?;
/// let user_agent = UserAgent::new("DatabricksAdbcRust", "0.1.0")?;
/// let cache = Arc::new(FeatureFlagCache::new(&config, &user_agent));
/// let endpoint = ServiceEndpoint::parse("adb-123.azuredatabricks.net", &config)?;
/// let inner = InMemoryExporter::new();
/// let gate = FeatureFlagGate::new(inner.clone(), cache, endpoint, None);
/// let client = TelemetryClient::new(&config, gate)?;
/// client.enqueue(Default::default());
/// client.close(std::time::Duration::from_secs(2));
/// assert_eq!(inner.exported_count(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FeatureFlagGate<E> {
    inner: E,
    cache: Arc<FeatureFlagCache>,
    endpoint: ServiceEndpoint,
    credentials: Option<Arc<dyn CredentialsProvider>>,
}

impl<E: fmt::Debug> fmt::Debug for FeatureFlagGate<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeatureFlagGate")
            .field("inner", &self.inner)
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl<E: Exporter> FeatureFlagGate<E> {
    /// Gates `inner` on `cache`'s answer for `endpoint`, fetched with `credentials` (none: the
    /// flag request carries no `Authorization`).
    pub fn new(
        inner: E,
        cache: Arc<FeatureFlagCache>,
        endpoint: ServiceEndpoint,
        credentials: Option<Arc<dyn CredentialsProvider>>,
    ) -> Self {
        FeatureFlagGate {
            inner,
            cache,
            endpoint,
            credentials,
        }
    }

    /// The gated exporter.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// The cache the gate asks.
    pub fn cache(&self) -> &Arc<FeatureFlagCache> {
        &self.cache
    }
}

impl<E: Exporter> Exporter for FeatureFlagGate<E> {
    fn export(&self, batch: &[FrontendLog], deadline: Option<Instant>) -> ExportOutcome {
        if self
            .cache
            .is_enabled(&self.endpoint, self.credentials.as_deref(), deadline)
        {
            self.inner.export(batch, deadline)
        } else {
            tracing::trace!(host = %self.endpoint.host(), events = batch.len(), "telemetry is off for the host");
            ExportOutcome::Disabled
        }
    }
}
