"""An adapter that makes ``databricks-sql-connector`` (4.x) send its telemetry through the
Rust pipeline.

:func:`install` replaces what the connector's ``TelemetryClientFactory`` hands out: its
``initialize_telemetry_client``, ``get_telemetry_client``, ``close`` and
``connection_failure_log`` are swapped for this module's (and ``Connection._close`` wrapped, so
that a close says which connection it is for), and the client a connection gets has
the methods the connector calls (``export_initial_telemetry_log``, ``export_latency_log``,
``export_failure_log``, ``close``). The events carry what the connector's own client would
send, field by field, to the same routes (``/telemetry-ext`` with the connection's
credentials, ``/telemetry-unauth`` for a failed connect), gated by the same server flag
(``enableTelemetryForPythonDriver`` on ``/api/2.0/connector-service/feature-flags/PYTHON/…``).
What changes: the caller no longer serialises or sends anything (recording is one call into
Rust), one export thread per host delivers with retries and a circuit breaker, nothing is
lost to an outage that ends in time, and the exit waits for delivery within a deadline.

:func:`uninstall` restores the connector's own telemetry. The connector's
``enable_telemetry=False`` still turns telemetry off.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any, Dict, Optional

from . import manager as _manager_of_process

__all__ = ["install", "uninstall", "installed"]

# The factory's methods this adapter replaces (restored by uninstall).
_REPLACED = (
    "initialize_telemetry_client",
    "get_telemetry_client",
    "close",
    "connection_failure_log",
)

_UNAUTH_SESSION_ID = "unauth_session_id"
_DRIVER_NAME = "PyDatabricksSqlConnector"

_state_lock = threading.RLock()
_originals: Dict[str, Any] = {}
_original_is_enabled: Any = None
_clients: Dict[str, "_Holder"] = {}
# The connections this adapter gave a client to (session id -> host key), and those an earlier
# install() gave one to that were still open at uninstall() (their handles are released: they
# record nothing more, and their close changes no count).
_sessions: Dict[str, str] = {}
_stale_sessions: set = set()
_unauth: Dict[str, Any] = {}
_settings: Dict[str, Any] = {"options": {}, "close_timeout": 0.0}
_forced = threading.local()
# The session of the connection whose close is running on this thread (set by the wrap of
# ``Connection._close``): the factory's ``close(host_url)`` does not say which one it is.
_closing = threading.local()
_original_connection_close: Any = None


def installed() -> bool:
    """Whether the connector's telemetry goes through this package now."""
    return bool(_originals)


def install(*, options: Optional[Dict[str, Any]] = None, close_timeout: float = 0.0) -> None:
    """Sends ``databricks.sql``'s telemetry through the Rust pipeline from now on.

    ``options`` adds ``databricks.telemetry.*`` settings to every connection's handle.
    ``close_timeout`` is how long closing a host's last connection waits for its events, in
    all (0: not at all, as the connector's own close; the exit hook still waits for them). A
    connection's handle is released when it closes (``Connection._close`` is wrapped to tell
    which one closes). Connections opened before the call keep the connector's own client to
    their close. Calling it again only changes the settings.
    """
    from databricks.sql.telemetry import telemetry_client as tc

    with _state_lock:
        _settings["options"] = dict(options or {})
        _settings["close_timeout"] = float(close_timeout)
        if _originals:
            return
        factory = tc.TelemetryClientFactory
        for name in _REPLACED:
            _originals[name] = factory.__dict__[name]
        global _original_is_enabled
        _original_is_enabled = tc.TelemetryHelper.__dict__["is_telemetry_enabled"]
        factory.initialize_telemetry_client = staticmethod(_initialize_telemetry_client)
        factory.get_telemetry_client = staticmethod(_get_telemetry_client)
        factory.close = staticmethod(_close)
        factory.connection_failure_log = staticmethod(_connection_failure_log)
        tc.TelemetryHelper.is_telemetry_enabled = staticmethod(_is_telemetry_enabled)
        _wrap_connection_close()


def uninstall() -> None:
    """Restores the connector's own telemetry. The handles this adapter holds are released
    (their lanes drain in the background; the exit hook waits for them)."""
    from databricks.sql.telemetry import telemetry_client as tc

    global _original_is_enabled
    with _state_lock:
        if not _originals:
            return
        factory = tc.TelemetryClientFactory
        for name, original in _originals.items():
            setattr(factory, name, original)
        _originals.clear()
        tc.TelemetryHelper.is_telemetry_enabled = _original_is_enabled
        _original_is_enabled = None
        _unwrap_connection_close()
        _stale_sessions.update(_sessions)
        _sessions.clear()
        _clients.clear()
        _unauth.clear()


def _wrap_connection_close() -> None:
    """Makes ``Connection._close`` note its session on this thread while it runs, so that the
    factory's ``close(host_url)`` it calls knows which connection closed."""
    global _original_connection_close
    try:
        from databricks.sql.client import Connection
    except Exception:
        return
    original = Connection.__dict__.get("_close")
    if original is None:
        return
    _original_connection_close = original

    def _close(self, *args, **kwargs):
        try:
            session_id = self.get_session_id_hex()
        except Exception:
            session_id = None
        previous = getattr(_closing, "session_id", None)
        _closing.session_id = session_id
        try:
            return original(self, *args, **kwargs)
        finally:
            _closing.session_id = previous

    _close.__wrapped__ = original
    Connection._close = _close


def _unwrap_connection_close() -> None:
    global _original_connection_close
    if _original_connection_close is None:
        return
    from databricks.sql.client import Connection

    Connection._close = _original_connection_close
    _original_connection_close = None


def _is_telemetry_enabled(connection) -> bool:
    # The connector decides with its own flag check (same flag name and route as ours). Note
    # force_enable_telemetry for the factory call that follows on this thread: then the
    # pipeline does not ask the server either.
    _forced.value = bool(getattr(connection, "force_enable_telemetry", False))
    original = _original_is_enabled
    if original is None:  # uninstalled meanwhile: the connector's own is back in place
        from databricks.sql.telemetry.telemetry_client import TelemetryHelper

        return TelemetryHelper.is_telemetry_enabled(connection)
    return original.__func__(connection)


def _options_for(host_url: str, batch_size: Optional[int], forced: bool) -> Dict[str, Any]:
    from databricks.sql.telemetry.telemetry_client import TelemetryHelper

    options: Dict[str, Any] = {
        "databricks.telemetry.feature_flag_driver": "PYTHON",
        "databricks.telemetry.feature_flag_name": TelemetryHelper.TELEMETRY_FEATURE_FLAG_NAME,
    }
    if batch_size:
        # The connector takes any batch size; the pipeline's range is 1..=10,000.
        options["databricks.telemetry.batch_size"] = min(max(int(batch_size), 1), 10_000)
    if forced:
        options["databricks.telemetry.force_enabled"] = True
    if host_url.lower().startswith("http://"):
        # The connector sends plain HTTP to such a host; the pipeline does so only to a
        # loopback host, and refuses any other (the handle then records nothing).
        options["databricks.telemetry.allow_insecure_http"] = True
    options.update(_settings["options"])
    return options


def _user_agent_entry(client_context) -> Optional[str]:
    agent = getattr(client_context, "user_agent", None) or ""
    match = re.match(r"PyDatabricksSqlConnector/\S+ \(([^)]*)\)", agent)
    return match.group(1) if match else None


def _authorization(auth_provider) -> Optional[str]:
    headers: Dict[str, str] = {}
    auth_provider.add_headers(headers)
    return headers.get("Authorization")


class _Holder:
    """A host's client with the number of connections that use it (as the connector's)."""

    __slots__ = ("client", "refcount")

    def __init__(self, client):
        self.client = client
        self.refcount = 1


class PipelineTelemetryClient:
    """What the connector's factory hands a connection once the adapter is installed: the
    connector's telemetry client's methods, each one call into the Rust pipeline. One per
    host (as the connector's), with one handle per connection (its credentials, its session).
    """

    def __init__(self, host_url: str, batch_size: Optional[int], client_context, extra_headers):
        self._host_url = host_url
        self._batch_size = batch_size
        self._client_context = client_context
        self._org_id = (extra_headers or {}).get("x-databricks-org-id")
        self._handles: Dict[str, Any] = {}
        self._default = None

    def _add_connection(self, session_id: str, auth_provider, forced: bool) -> None:
        from databricks.sql import __version__

        credentials = None
        identity = None
        if auth_provider is not None:
            credentials = lambda: _authorization(auth_provider)  # noqa: E731
            try:
                identity = _authorization(auth_provider)
            except Exception:
                identity = None
        try:
            handle = _manager_of_process().acquire(
                self._host_url,
                driver_name=_DRIVER_NAME,
                driver_version=__version__,
                credentials=credentials,
                identity=identity,
                secret_identity=identity is not None,
                options=_options_for(self._host_url, self._batch_size, forced),
                org_id=self._org_id,
                user_agent_entry=_user_agent_entry(self._client_context),
            )
        except Exception:
            return  # telemetry never fails a connection: this one records nothing
        self._handles[session_id] = handle
        if self._default is None:
            self._default = handle

    def _handle(self, session_id):
        handle = self._handles.get(session_id) if session_id is not None else None
        return handle if handle is not None else self._default

    def export_initial_telemetry_log(self, driver_connection_params, user_agent, session_id=None):
        """The connection opened: its session, system configuration and parameters."""
        try:
            from databricks.sql.telemetry.telemetry_client import TelemetryHelper

            handle = self._handle(session_id)
            if handle is None:
                return
            handle.open_session(
                session_id=session_id,
                system_configuration=TelemetryHelper.get_driver_system_configuration(),
                connection_parameters=driver_connection_params,
                user_agent=user_agent,
            )
            handle.export_log(session_id=session_id)
        except Exception:
            pass

    def _remove_connection(self, session_id: str):
        """The connection of ``session_id`` closed: its handle, no longer this client's."""
        handle = self._handles.pop(session_id, None)
        if handle is not None and handle is self._default:
            self._default = next(iter(self._handles.values()), None)
        return handle

    def _send(self, session_id, method: str, **fields) -> None:
        """One event of ``session_id``: through the connection's own handle (its session is
        this one); a connection this adapter did not open (before install()) through the
        connector's own client; a connection an earlier install() opened, nowhere."""
        known = isinstance(session_id, str)  # else: the handle takes it as its str()
        handle = self._handles.get(session_id) if known else None
        if handle is not None:
            handle.export_log(None, **fields)
            return
        if known and session_id not in _sessions:
            if session_id in _stale_sessions:
                return
            own = _connector_s_own_client(self._host_url)
            if own is not None:
                _forward(own, method, session_id, fields)
                return
        if self._default is not None:
            self._default.export_log(session_id, **fields)

    def export_failure_log(self, error_name, error_message, session_id=None):
        """A failure: its name and message (redacted), in the connection's session. Never
        raises (the connector calls it from its exceptions' constructor)."""
        try:
            self._send(
                session_id,
                "export_failure_log",
                error_name=error_name,
                error_message=error_message,
            )
        except Exception:
            pass

    def export_latency_log(self, latency_ms, sql_execution_event, sql_statement_id, session_id=None):
        """A statement's latency and what the connector recorded of it: one call into Rust,
        which reads the event's fields and enqueues (no serialising, no I/O here). Never
        raises."""
        try:
            self._send(
                session_id,
                "export_latency_log",
                statement_id=sql_statement_id,
                latency_ms=latency_ms,
                sql_operation=sql_execution_event,
            )
        except Exception:
            pass

    def close(self):
        """The host's last connection closed: release (or close, all within one
        ``close_timeout``) every connection's handle."""
        handles, self._handles, self._default = list(self._handles.values()), {}, None
        _close_handles(handles, _settings["close_timeout"])

    def _flush(self):
        for handle in list(self._handles.values()):
            try:
                handle.flush(0.0)
            except Exception:
                pass


def _close_handles(handles, timeout: float) -> None:
    """Closes ``handles`` within ``timeout`` seconds in all (one deadline, each waits for what
    is left of it); with 0, or once the deadline passed, a handle is only released (its lane
    drains in the background, the exit hook waits for it)."""
    deadline = time.monotonic() + timeout
    for handle in handles:
        try:
            remaining = deadline - time.monotonic()
            if timeout > 0 and remaining > 0:
                handle.close(remaining)
        except Exception:
            pass


def _connector_s_own_client(host_key: str):
    """The client the connector's own factory holds for the host (its connections opened
    before install()), if any."""
    from databricks.sql.telemetry.telemetry_client import TelemetryClientFactory

    holder = getattr(TelemetryClientFactory, "_clients", {}).get(host_key)
    return getattr(holder, "client", None)


def _forward(client, method: str, session_id, fields) -> None:
    """An event of a connection opened before install(), to the connector's own client."""
    if method == "export_failure_log":
        client.export_failure_log(
            fields["error_name"], fields["error_message"], session_id=session_id
        )
    else:
        client.export_latency_log(
            fields["latency_ms"],
            fields["sql_operation"],
            fields["statement_id"],
            session_id=session_id,
        )


def _host_key(host_url):
    from databricks.sql.telemetry.telemetry_client import TelemetryClientFactory

    return TelemetryClientFactory.getHostUrlSafely(host_url)


def _initialize_telemetry_client(
    telemetry_enabled,
    session_id_hex,
    auth_provider,
    host_url,
    batch_size,
    client_context,
    extra_headers=None,
):
    from databricks.sql.telemetry.telemetry_client import NoopTelemetryClient

    forced = getattr(_forced, "value", False)
    _forced.value = False
    try:
        host_url = _host_key(host_url)
        with _state_lock:
            holder = _clients.get(host_url)
            if holder is not None:
                holder.refcount += 1
            elif telemetry_enabled:
                holder = _clients[host_url] = _Holder(
                    PipelineTelemetryClient(host_url, batch_size, client_context, extra_headers)
                )
            else:
                _clients[host_url] = _Holder(NoopTelemetryClient())
                _note_session(session_id_hex, host_url)
                return
            _note_session(session_id_hex, host_url)
            client = holder.client
        if telemetry_enabled and isinstance(client, PipelineTelemetryClient):
            client._add_connection(session_id_hex, auth_provider, forced)
    except Exception:
        pass


def _note_session(session_id, host_key: str) -> None:
    """The connection of ``session_id`` counts in the host's client now (so its close is
    this adapter's, and releases its handle)."""
    if session_id is not None:
        _sessions[session_id] = host_key
        _stale_sessions.discard(session_id)


def _original(name: str):
    """The connector's own factory method (for its clients made before install())."""
    original = _originals.get(name)
    return original.__func__ if original is not None else None


def _get_telemetry_client(host_url):
    holder = _clients.get(_host_key(host_url))
    if holder is not None:
        return holder.client
    # A connection opened before install() keeps the connector's own client (or a no-op one).
    original = _original("get_telemetry_client")
    if original is None:  # uninstalled meanwhile
        from databricks.sql.telemetry.telemetry_client import NoopTelemetryClient

        return NoopTelemetryClient()
    return original(host_url)


def _close(host_url):
    """A connection closed. Inside ``Connection._close`` its session is known: its own
    handle is released at once (the host's last one closes the host's client), a connection
    opened before install() goes to the connector's own close, one from an earlier install()
    changes nothing. Called without a connection (the factory driven directly), it counts one
    connection of the host off, as the connector's."""
    try:
        host_url = _host_key(host_url)
        session_id = getattr(_closing, "session_id", None)
        released = None  # noqa: F841 (kept until return, so released outside the lock)
        with _state_lock:
            if session_id is not None:
                if session_id in _stale_sessions:
                    _stale_sessions.discard(session_id)
                    return
                if session_id not in _sessions:
                    _close_in_connector(host_url)  # a connection opened before install()
                    return
                host_url = _sessions.pop(session_id)
            holder = _clients.get(host_url)
            if holder is None:
                _close_in_connector(host_url)
                return
            holder.refcount -= 1
            if holder.refcount > 0:
                if session_id is not None and isinstance(holder.client, PipelineTelemetryClient):
                    # Dropped on return: its lane drains in the background (the exit hook
                    # waits for it).
                    released = holder.client._remove_connection(session_id)
                return
            _clients.pop(host_url, None)
            for session, host in list(_sessions.items()):
                if host == host_url:  # counted off by a close without its session
                    del _sessions[session]
        holder.client.close()
    except Exception:
        pass


def _close_in_connector(host_key: str) -> None:
    original = _original("close")
    if original is not None:
        original(host_key)


def _connection_failure_log(
    error_name,
    error_message,
    host_url,
    http_path,
    port,
    client_context,
    user_agent=None,
    enable_telemetry=True,
):
    if not enable_telemetry:
        return
    try:
        from databricks.sql import __version__
        from databricks.sql.telemetry.models.enums import DatabricksClientType
        from databricks.sql.telemetry.models.event import DriverConnectionParameters, HostDetails
        from databricks.sql.telemetry.telemetry_client import TelemetryHelper

        key = _host_key(host_url)
        # One unauthenticated handle per host; its session is set for each failure, so the
        # session and the event are made under the lock (failures on other threads wait).
        with _state_lock:
            handle = _unauth.get(key)
            if handle is None:
                handle = _manager_of_process().acquire(
                    key,
                    driver_name=_DRIVER_NAME,
                    driver_version=__version__,
                    options=_options_for(key, None, False),
                    user_agent_entry=_user_agent_entry(client_context),
                )
                _unauth[key] = handle
            handle.open_session(
                session_id=_UNAUTH_SESSION_ID,
                system_configuration=TelemetryHelper.get_driver_system_configuration(),
                connection_parameters=DriverConnectionParameters(
                    http_path=http_path,
                    mode=DatabricksClientType.THRIFT,
                    host_info=HostDetails(host_url=host_url, port=port),
                ),
                user_agent=user_agent,
            )
            handle.export_log(error_name=error_name, error_message=error_message)
    except Exception:
        pass


def _after_fork_in_child() -> None:
    global _state_lock
    # Handles from before the fork record nothing here and are leaked when dropped; the lock
    # may have been held by a thread that does not exist in the child.
    _state_lock = threading.RLock()
    _clients.clear()
    _unauth.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
