//! The session context: what stays the same for every event of one connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{
    DriverAuthFlow, DriverAuthMech, DriverConnectionParameters, DriverErrorInfo,
    DriverSystemConfiguration, FrontendLog, OperationType, SqlDriverLog, SqlExecutionEvent,
};

use super::error::ErrorInfo;
use super::event::{new_frontend_log, now_millis, wall_millis_at};
use super::recorder::StatementRecorder;

/// How the connection authenticated, as sent in `auth_type`, spelt as the C# ADBC driver (the
/// same driver family) spells it: `pat`, `oauth-<grant_type>`, `oauth-access_token`, `other`.
///
/// | variant | `auth_type` | `auth_mech` | `auth_flow` |
/// |---|---|---|---|
/// | [`Pat`](TelemetryAuthType::Pat) | `pat` | `PAT` | (unset) |
/// | [`OAuthM2m`](TelemetryAuthType::OAuthM2m) | `oauth-client_credentials` | `OAUTH` | `CLIENT_CREDENTIALS` |
/// | [`OAuthU2m`](TelemetryAuthType::OAuthU2m) | `oauth-authorization_code` | `OAUTH` | `BROWSER_BASED_AUTHENTICATION` |
/// | [`OAuthAccessToken`](TelemetryAuthType::OAuthAccessToken) | `oauth-access_token` | `OAUTH` | `TOKEN_PASSTHROUGH` |
/// | [`Other`](TelemetryAuthType::Other) | `other` | `OTHER` | (unset) |
///
/// The browser flow follows the C# rule `oauth-<grant_type>` with the OAuth grant it uses
/// (`authorization_code`); the C# driver itself has no browser flow. No driver sends
/// `oauth-u2m`; `oauth-m2m` is the Node.js driver's spelling, not this family's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TelemetryAuthType {
    /// A personal access token.
    Pat,
    /// OAuth machine-to-machine (the client-credentials grant).
    OAuthM2m,
    /// OAuth user-to-machine (the browser, authorization-code grant).
    OAuthU2m,
    /// An OAuth access token the application obtained and passes through.
    OAuthAccessToken,
    /// Anything else.
    Other,
}

impl TelemetryAuthType {
    /// Every variant, in declaration order.
    pub const ALL: [TelemetryAuthType; 5] = [
        TelemetryAuthType::Pat,
        TelemetryAuthType::OAuthM2m,
        TelemetryAuthType::OAuthU2m,
        TelemetryAuthType::OAuthAccessToken,
        TelemetryAuthType::Other,
    ];

    /// The name sent on the wire in `auth_type` (see the table on [`TelemetryAuthType`]).
    pub const fn as_str(self) -> &'static str {
        match self {
            TelemetryAuthType::Pat => "pat",
            TelemetryAuthType::OAuthM2m => "oauth-client_credentials",
            TelemetryAuthType::OAuthU2m => "oauth-authorization_code",
            TelemetryAuthType::OAuthAccessToken => "oauth-access_token",
            TelemetryAuthType::Other => "other",
        }
    }

    /// The `driver_connection_params.auth_mech` this authentication implies.
    pub const fn auth_mech(self) -> DriverAuthMech {
        match self {
            TelemetryAuthType::Pat => DriverAuthMech::Pat,
            TelemetryAuthType::OAuthM2m
            | TelemetryAuthType::OAuthU2m
            | TelemetryAuthType::OAuthAccessToken => DriverAuthMech::Oauth,
            TelemetryAuthType::Other => DriverAuthMech::Other,
        }
    }

    /// The `driver_connection_params.auth_flow` this authentication implies, if any (a token
    /// or another mechanism has no OAuth flow).
    pub const fn auth_flow(self) -> Option<DriverAuthFlow> {
        match self {
            TelemetryAuthType::OAuthM2m => Some(DriverAuthFlow::ClientCredentials),
            TelemetryAuthType::OAuthU2m => Some(DriverAuthFlow::BrowserBasedAuthentication),
            TelemetryAuthType::OAuthAccessToken => Some(DriverAuthFlow::TokenPassthrough),
            TelemetryAuthType::Pat | TelemetryAuthType::Other => None,
        }
    }
}

/// What stays the same for every event of one connection: session id, workspace, auth type,
/// system configuration, connection parameters and user agent.
///
/// Immutable once built and shared as an [`Arc`]; the system configuration and connection
/// parameters are themselves behind `Arc`s that every event of the session shares.
///
/// ```
/// # use databricks_telemetry::unstable::model::FrontendLogFields;
/// use std::time::Duration;
/// use databricks_telemetry::{TelemetryAuthType, TelemetrySessionContext};
/// use databricks_telemetry::model::OperationType;
///
/// let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0")
///     .with_session_id("01f0-session")
///     .with_workspace_id(1234567890)
///     .with_auth_type(TelemetryAuthType::Pat)
///     .build();
/// let opened = session.connection_opened(Duration::from_millis(120));
/// # let log = &opened.entry().sql_driver_log;
/// # assert_eq!(log.operation_latency_ms, Some(120));
/// # assert_eq!(
/// #     log.sql_operation.as_ref().unwrap().operation_detail.as_ref().unwrap().operation_type,
/// #     Some(OperationType::CreateSession)
/// # );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySessionContext {
    session_id: Option<Arc<str>>,
    workspace_id: Option<i64>,
    auth_type: Option<TelemetryAuthType>,
    /// `auth_type`'s wire name, shared by every event.
    auth_type_name: Option<Arc<str>>,
    system_configuration: Arc<DriverSystemConfiguration>,
    connection_parameters: Option<Arc<DriverConnectionParameters>>,
    user_agent: Arc<str>,
}

impl TelemetrySessionContext {
    /// Starts a session context for a driver; the system configuration is detected from the
    /// process ([`DriverSystemConfiguration::detect`]) and the user agent is
    /// `<name without spaces>/<version>` unless set.
    pub fn builder(driver_name: &str, driver_version: &str) -> SessionContextBuilder {
        SessionContextBuilder {
            session_id: None,
            workspace_id: None,
            auth_type: None,
            system_configuration: DriverSystemConfiguration::detect(driver_name, driver_version),
            connection_parameters: None,
            user_agent: format!("{}/{}", driver_name.replace(' ', ""), driver_version),
        }
    }

    /// The session id, once the server assigned one.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The workspace id, when known.
    pub fn workspace_id(&self) -> Option<i64> {
        self.workspace_id
    }

    /// How the connection authenticated.
    pub fn auth_type(&self) -> Option<TelemetryAuthType> {
        self.auth_type
    }

    /// The shared system configuration.
    pub fn system_configuration(&self) -> &Arc<DriverSystemConfiguration> {
        &self.system_configuration
    }

    /// The shared connection parameters, when given.
    pub fn connection_parameters(&self) -> Option<&Arc<DriverConnectionParameters>> {
        self.connection_parameters.as_ref()
    }

    /// The user agent written into every event.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// Starts recording one operation now, shareably: the [`StatementRecorder`] can be cloned
    /// into the tasks and threads that download its chunks and poll its status.
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// use databricks_telemetry::TelemetrySessionContext;
    /// use databricks_telemetry::model::OperationType;
    ///
    /// let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build();
    /// let statement = session.begin_shared(OperationType::ExecuteStatement);
    /// let log = statement.finish().expect("finished once");
    /// # assert!(log.entry().sql_driver_log.operation_latency_ms.is_some());
    /// ```
    pub fn begin_shared(self: &Arc<Self>, operation: OperationType) -> StatementRecorder {
        StatementRecorder::new(Arc::clone(self), operation, Instant::now())
    }

    /// Starts recording one operation that began at `start` (a monotonic instant), shareably
    /// (see [`begin_shared`](Self::begin_shared)).
    ///
    /// ```
    /// # use databricks_telemetry::unstable::model::FrontendLogFields;
    /// use std::time::{Duration, Instant};
    /// use databricks_telemetry::TelemetrySessionContext;
    /// use databricks_telemetry::model::OperationType;
    ///
    /// let session = TelemetrySessionContext::builder("Databricks ADBC Rust", "0.1.0").build();
    /// let start = Instant::now();
    /// let statement = session.begin_shared_at(OperationType::ExecuteStatement, start);
    /// let log = statement.finish_at(start + Duration::from_millis(3)).unwrap();
    /// # assert_eq!(log.entry().sql_driver_log.operation_latency_ms, Some(3));
    /// ```
    pub fn begin_shared_at(
        self: &Arc<Self>,
        operation: OperationType,
        start: Instant,
    ) -> StatementRecorder {
        StatementRecorder::new(Arc::clone(self), operation, start)
    }

    /// `CREATE_SESSION`: the connection opened after `latency`.
    pub fn connection_opened(&self, latency: Duration) -> FrontendLog {
        self.session_event(OperationType::CreateSession, latency, None)
    }

    /// `CREATE_SESSION` that failed after `latency`.
    pub fn connection_open_failed(&self, latency: Duration, error: &ErrorInfo) -> FrontendLog {
        self.session_event(OperationType::CreateSession, latency, Some(error))
    }

    /// `DELETE_SESSION`: the connection closed after `latency`.
    pub fn connection_closed(&self, latency: Duration) -> FrontendLog {
        self.session_event(OperationType::DeleteSession, latency, None)
    }

    /// `DELETE_SESSION` that failed after `latency`.
    pub fn connection_close_failed(&self, latency: Duration, error: &ErrorInfo) -> FrontendLog {
        self.session_event(OperationType::DeleteSession, latency, Some(error))
    }

    fn session_event(
        &self,
        operation: OperationType,
        latency: Duration,
        error: Option<&ErrorInfo>,
    ) -> FrontendLog {
        let mut log = self.driver_log();
        log.operation_latency_ms = Some(super::statement::millis(latency));
        log.sql_operation = Some(crate::model::SqlExecutionEvent {
            operation_detail: Some(crate::model::OperationDetail {
                operation_type: Some(operation),
                ..Default::default()
            }),
            ..Default::default()
        });
        log.error_info = error.map(ErrorInfo::to_wire);
        new_frontend_log(self.workspace_id, &self.user_agent, log, now_millis())
    }

    /// The session-constant part of every event.
    pub(crate) fn driver_log(&self) -> SqlDriverLog {
        SqlDriverLog {
            session_id: self.session_id.clone(),
            system_configuration: Some(Arc::clone(&self.system_configuration)),
            driver_connection_params: self.connection_parameters.clone(),
            auth_type: self.auth_type_name.clone(),
            ..SqlDriverLog::default()
        }
    }

    /// The event of one operation: the session-constant parts with the operation's, in their
    /// envelope stamped with the wall-clock time of `end`. One literal, so the compiler builds
    /// the event where it is returned rather than copying a driver log into its envelope.
    #[inline(always)]
    pub(crate) fn statement_log(
        &self,
        sql_statement_id: Option<String>,
        operation_latency_ms: Option<i64>,
        sql_operation: SqlExecutionEvent,
        error_info: Option<DriverErrorInfo>,
        end: Instant,
    ) -> FrontendLog {
        use crate::model::{ClientContext, EventId, FrontendLogContext, FrontendLogEntry};
        FrontendLog {
            frontend_log_event_id: EventId::random_at(end),
            workspace_id: self.workspace_id,
            context: FrontendLogContext {
                client_context: ClientContext {
                    timestamp_millis: Some(wall_millis_at(end)),
                    user_agent: Some(Arc::clone(&self.user_agent)),
                },
            },
            entry: FrontendLogEntry {
                sql_driver_log: SqlDriverLog {
                    session_id: self.session_id.clone(),
                    sql_statement_id,
                    system_configuration: Some(Arc::clone(&self.system_configuration)),
                    driver_connection_params: self.connection_parameters.clone(),
                    auth_type: self.auth_type_name.clone(),
                    vol_operation: None,
                    sql_operation: Some(sql_operation),
                    error_info,
                    operation_latency_ms,
                },
            },
        }
    }
}

/// Builds a [`TelemetrySessionContext`]; see [`TelemetrySessionContext::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SessionContextBuilder {
    session_id: Option<String>,
    workspace_id: Option<i64>,
    auth_type: Option<TelemetryAuthType>,
    system_configuration: DriverSystemConfiguration,
    connection_parameters: Option<DriverConnectionParameters>,
    user_agent: String,
}

impl SessionContextBuilder {
    /// The session id the server assigned.
    pub fn with_session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// The workspace id.
    pub fn with_workspace_id(mut self, id: i64) -> Self {
        self.workspace_id = Some(id);
        self
    }

    /// How the connection authenticated.
    pub fn with_auth_type(mut self, auth: TelemetryAuthType) -> Self {
        self.auth_type = Some(auth);
        self
    }

    /// The application that uses the driver.
    pub fn with_client_app_name(mut self, name: impl Into<String>) -> Self {
        self.system_configuration.client_app_name = Some(name.into());
        self
    }

    /// Replaces the detected system configuration.
    pub fn with_system_configuration(mut self, config: DriverSystemConfiguration) -> Self {
        self.system_configuration = config;
        self
    }

    /// The connection's parameters.
    ///
    /// At [`build`](Self::build), the parameters the driver left unset and the library knows
    /// are filled in: `auth_mech` and `auth_flow` from [`with_auth_type`](Self::with_auth_type) (see
    /// [`TelemetryAuthType`]). Everything else the library cannot know (the driver's own proxy, trust
    /// store, poll interval, auto-commit, ...) stays as the driver gave it: never a guessed
    /// value. Without parameters from the driver none are sent.
    pub fn with_connection_parameters(mut self, params: DriverConnectionParameters) -> Self {
        self.connection_parameters = Some(params);
        self
    }

    /// Replaces the user agent; `entry`, when given, is appended after a space (the connection's
    /// user-agent entry).
    pub fn with_user_agent(mut self, user_agent: impl Into<String>, entry: Option<&str>) -> Self {
        let mut ua = user_agent.into();
        if let Some(entry) = entry.filter(|e| !e.trim().is_empty()) {
            ua.push(' ');
            ua.push_str(entry.trim());
        }
        self.user_agent = ua;
        self
    }

    /// The shared, immutable context.
    #[must_use]
    pub fn build(mut self) -> Arc<TelemetrySessionContext> {
        if let (Some(params), Some(auth)) = (self.connection_parameters.as_mut(), self.auth_type) {
            params.auth_mech.get_or_insert(auth.auth_mech());
            if params.auth_flow.is_none() {
                params.auth_flow = auth.auth_flow();
            }
        }
        Arc::new(TelemetrySessionContext {
            session_id: self.session_id.map(Arc::from),
            workspace_id: self.workspace_id,
            auth_type: self.auth_type,
            auth_type_name: self.auth_type.map(|a| Arc::from(a.as_str())),
            system_configuration: Arc::new(self.system_configuration),
            connection_parameters: self.connection_parameters.map(Arc::new),
            user_agent: Arc::from(self.user_agent),
        })
    }
}
