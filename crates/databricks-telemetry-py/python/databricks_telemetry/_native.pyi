"""Type stubs of the native module (the Rust side of ``databricks_telemetry``)."""

from types import TracebackType
from typing import Any, Callable, Literal, Mapping, Optional, Type, TypedDict, Union

class Dropped(TypedDict):
    queue_full: int
    export_failed: int
    closed_before_delivery: int
    after_close: int
    disabled_by_server: int
    credentials_failed: int

class Stats(TypedDict):
    """The accounting: ``enqueued == exported + dropped_total + pending``."""

    enqueued: int
    exported: int
    pending: int
    dropped: Dropped
    dropped_total: int
    batches_sent: int
    batches_failed: int
    balanced: bool

class CloseOutcome(TypedDict):
    """How a close or a shutdown ended; ``stalled`` when it returned early because delivery
    could not progress (the events are still pending, not lost)."""

    result: Literal["completed", "timed_out", "breaker_open", "request_stuck", "retry_pending", "other"]
    stalled: bool
    stats: Stats

OptionValue = Union[str, bool, int, float]

class TelemetryError(ValueError):
    """Bad input: an unknown or out-of-range option, a bad host, name or enum value."""

class Manager:
    """One telemetry pipeline: its hosts, lanes and export threads."""

    def __init__(self) -> None: ...
    def acquire(
        self,
        host: str,
        *,
        driver_name: str,
        driver_version: str,
        credentials: Optional[Callable[[], str]] = None,
        identity: Optional[str] = None,
        secret_identity: bool = False,
        options: Optional[Mapping[str, OptionValue]] = None,
        org_id: Optional[str] = None,
        auth_type: Optional[str] = None,
        user_agent_entry: Optional[str] = None,
    ) -> "Handle":
        """Acquires one connection's handle. ``credentials`` returns the ``Authorization``
        header value; it is called once now, then on the export thread (GIL taken, bounded by
        the request timeout; what it raises is counted as ``credentials_failed``). Raises
        :class:`TelemetryError` for bad input. Releases the GIL while it works."""
    def shutdown(self, timeout: float) -> CloseOutcome:
        """Closes every handle and waits at most ``timeout`` seconds for delivery."""
    def stats(self) -> Stats: ...
    def lane_count(self) -> int: ...
    def host_count(self) -> int: ...
    @property
    def is_current(self) -> bool:
        """False for a manager of the parent of a fork."""

class Handle:
    """One connection's telemetry."""

    def open_session(
        self,
        *,
        session_id: Optional[str] = None,
        system_configuration: Any = None,
        connection_parameters: Any = None,
        user_agent: Optional[str] = None,
    ) -> bool:
        """Starts the session (JSON text, dict, or an object with ``to_json()`` for the two
        parts, in the wire's field names)."""
    def connection_opened(
        self, latency_ms: float, *, error_name: Optional[str] = None, stack_trace: Optional[str] = None
    ) -> bool: ...
    def connection_closed(
        self, latency_ms: float, *, error_name: Optional[str] = None, stack_trace: Optional[str] = None
    ) -> bool: ...
    def begin(self, operation: str) -> "Statement":
        """Starts recording an operation (``"EXECUTE_STATEMENT"``, ``"LIST_TABLES"``, ...)."""
    def export_log(
        self,
        session_id: Any = None,
        statement_id: Any = None,
        latency_ms: Optional[Union[int, float]] = None,
        sql_operation: Any = None,
        error_name: Any = None,
        error_message: Any = None,
    ) -> bool:
        """Sends one event given field by field (the connector adapter's path). Never raises:
        text is taken lossily (any object as its ``str()``), a latency clamped to 64 bits."""
    def flush(self, timeout: float) -> bool: ...
    def close(self, timeout: Optional[float] = None) -> CloseOutcome: ...
    def stats(self) -> Stats: ...
    @property
    def is_enabled(self) -> bool: ...
    def __enter__(self) -> "Handle": ...
    def __exit__(self, *exc: Any) -> bool: ...

class Statement:
    """One operation being recorded; sent by ``submit()``, a ``with`` block's end, or
    garbage collection."""

    def set_statement_id(self, statement_id: str) -> None: ...
    def set_statement_type(self, statement_type: str) -> None: ...
    def set_result_format(self, result_format: str) -> None: ...
    def set_compressed(self, compressed: bool) -> None: ...
    def set_internal_call(self, internal: bool) -> None: ...
    def record_retry(self) -> None: ...
    def record_status_poll(self, latency_ms: float) -> None: ...
    def mark_result_ready(self) -> None: ...
    def mark_results_consumed(self) -> None: ...
    def set_total_chunks(self, present: int) -> None: ...
    def record_chunk_download(self, latency_ms: float) -> None: ...
    def record_error(self, error_name: str, stack_trace: Optional[str] = None) -> None: ...
    def submit(self) -> bool: ...
    def __enter__(self) -> "Statement": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]] = None,
        _exc: Optional[BaseException] = None,
        _tb: Optional[TracebackType] = None,
    ) -> bool: ...

def after_fork_in_child() -> int: ...
def interpreter_exiting() -> None: ...
def fork_generation() -> int: ...

