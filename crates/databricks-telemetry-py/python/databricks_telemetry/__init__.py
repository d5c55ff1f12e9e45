"""Driver telemetry for Databricks SQL drivers, delivered by the Rust pipeline of
``databricks-telemetry``.

One pipeline per process (:func:`manager`); each connection acquires a :class:`Handle`
(:func:`acquire`) and records its session and statements through it. Recording never blocks
and never raises into the driver; delivery (batching, retries, the circuit breaker, the
server's feature flag) happens on the pipeline's own export thread.

The package also:

* shuts the pipeline down at interpreter exit, waiting at most :func:`exit_timeout` seconds
  (5 by default; ``DATABRICKS_TELEMETRY_EXIT_TIMEOUT`` or :func:`set_exit_timeout`) for what
  is still queued;
* gives a child process made by ``os.fork()`` a pipeline of its own: handles made before the
  fork record nothing in the child, and the parent's pipeline is left alone (never joined,
  locked or dropped there).

``databricks_telemetry.connector.install()`` makes ``databricks-sql-connector`` send its own
telemetry through this pipeline.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any, Callable, Dict, Optional, Union

from . import _native
from ._native import Handle, Manager, Statement, TelemetryError

__all__ = [
    "Handle",
    "Manager",
    "Statement",
    "TelemetryError",
    "acquire",
    "exit_timeout",
    "manager",
    "set_exit_timeout",
    "shutdown",
    "stats",
]

__version__ = "0.1.0"

_DEFAULT_EXIT_TIMEOUT = 5.0


def _exit_timeout_from_env() -> float:
    text = os.environ.get("DATABRICKS_TELEMETRY_EXIT_TIMEOUT")
    if text is None:
        return _DEFAULT_EXIT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        return _DEFAULT_EXIT_TIMEOUT
    return value if value >= 0 else _DEFAULT_EXIT_TIMEOUT


_lock = threading.Lock()
_manager: Optional[Manager] = None
_exit_timeout = _exit_timeout_from_env()


def manager() -> Manager:
    """The process's pipeline, made on first use (a new one in a forked child)."""
    global _manager
    current = _manager
    if current is not None:
        return current
    with _lock:
        if _manager is None:
            _manager = Manager()
        return _manager


def acquire(
    host: str,
    *,
    driver_name: str,
    driver_version: str,
    credentials: Optional[Callable[[], str]] = None,
    identity: Optional[str] = None,
    secret_identity: bool = False,
    options: Optional[Dict[str, Union[str, bool, int, float]]] = None,
    org_id: Optional[str] = None,
    auth_type: Optional[str] = None,
    user_agent_entry: Optional[str] = None,
) -> Handle:
    """Acquires one connection's telemetry handle from the process's pipeline.

    ``credentials`` returns the ``Authorization`` header value (``"Bearer …"``); it is called
    on the export thread, with the GIL, bounded by the request timeout, and an exception it
    raises is counted as ``credentials_failed``. See :meth:`Manager.acquire`.
    """
    return manager().acquire(
        host,
        driver_name=driver_name,
        driver_version=driver_version,
        credentials=credentials,
        identity=identity,
        secret_identity=secret_identity,
        options=options,
        org_id=org_id,
        auth_type=auth_type,
        user_agent_entry=user_agent_entry,
    )


def stats() -> Dict[str, Any]:
    """The process's accounting: ``enqueued == exported + dropped_total + pending``."""
    return manager().stats()


def shutdown(timeout: Optional[float] = None) -> Dict[str, Any]:
    """Closes every handle and waits at most ``timeout`` seconds (:func:`exit_timeout` when
    ``None``) for queued events to be delivered. The pipeline hands out nothing afterwards."""
    return manager().shutdown(_exit_timeout if timeout is None else timeout)


def exit_timeout() -> float:
    """How long the exit hook waits for queued events, in seconds."""
    return _exit_timeout


def set_exit_timeout(seconds: float) -> None:
    """Sets how long the exit hook waits for queued events (0: not at all)."""
    global _exit_timeout
    if not seconds >= 0:
        raise TelemetryError(f"bad exit timeout {seconds!r}")
    _exit_timeout = float(seconds)


def _at_exit() -> None:
    current = _manager
    try:
        if current is not None and current.is_current and _exit_timeout > 0:
            current.shutdown(_exit_timeout)
    except Exception:  # telemetry never fails the program's exit
        pass
    finally:
        _native.interpreter_exiting()


def _after_fork_in_child() -> None:
    global _manager, _lock
    _native.after_fork_in_child()
    # The parent's pipeline is leaked by its own drop (it knows it is from before the fork);
    # the lock may have been held by a thread that does not exist here.
    _lock = threading.Lock()
    _manager = None


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
