"""The Python credentials callable: called on the export thread with the GIL, never raising
into the caller, counted as `credentials_failed` when it fails."""

from __future__ import annotations

import threading

import databricks_telemetry as dt
from conftest import LOCAL

FAST_FAILURE = {
    **LOCAL,
    "databricks.telemetry.max_export_attempts": 2,
    "databricks.telemetry.retry_base_delay_ms": 1,
    "databricks.telemetry.retry_max_delay_ms": 10,
}


def test_an_exception_in_the_callable_is_counted_never_raised(serve):
    server = serve()
    calls = []

    def credentials() -> str:
        calls.append(threading.current_thread().name)
        raise RuntimeError("token refresh failed: secret-in-message")

    manager = dt.Manager()
    handle = manager.acquire(server.url, driver_name="D", driver_version="1", credentials=credentials, options=FAST_FAILURE)
    handle.open_session(session_id="s")
    assert calls == [threading.current_thread().name], "asked once, as the connection acquires"
    for _ in range(3):
        handle.connection_opened(1.0)  # returns at once: nothing is called on this thread
    assert len(calls) == 1
    handle.close(10.0)
    stats = manager.stats()
    assert stats["dropped"]["credentials_failed"] == 3, stats
    assert stats["balanced"]
    assert len(calls) > 1, "the export thread asked again"
    assert all(name != threading.main_thread().name for name in calls[1:]), "then never on the caller's thread"
    assert server.requests_to("/telemetry-ext") == 0


def test_a_callable_returning_something_else_than_a_string_is_a_credentials_failure(serve):
    server = serve()
    manager = dt.Manager()
    handle = manager.acquire(server.url, driver_name="D", driver_version="1", credentials=lambda: 42, options=FAST_FAILURE)
    handle.open_session(session_id="s")
    handle.connection_opened(1.0)
    handle.close(10.0)
    stats = manager.stats()
    assert stats["dropped"]["credentials_failed"] == 1 and stats["balanced"]


def test_a_slow_callable_is_bounded_by_the_request_timeout(serve):
    server = serve()
    release = threading.Event()

    asked = []

    def credentials() -> str:
        if asked:  # the export thread's call: far longer than the request timeout below
            release.wait(20)
        asked.append(1)
        return "Bearer late"

    manager = dt.Manager()
    handle = manager.acquire(
        server.url,
        driver_name="D",
        driver_version="1",
        credentials=credentials,
        options={**FAST_FAILURE, "databricks.telemetry.request_timeout_ms": 200},
    )
    handle.open_session(session_id="s")
    handle.connection_opened(1.0)
    assert handle.flush(10.0)  # the first export uses the value given at acquire
    handle.connection_opened(1.0)
    try:
        outcome = handle.close(5.0)
    finally:
        release.set()
    stats = outcome["stats"]
    assert stats["balanced"], stats
    assert stats["exported"] == 1 and stats["dropped"]["credentials_failed"] == 1, outcome


def test_the_callable_s_value_is_the_authorization_header(serve):
    server = serve("--token", "dapi-good")
    manager = dt.Manager()
    good = manager.acquire(server.url, driver_name="D", driver_version="1", credentials=lambda: "Bearer dapi-good", identity="a", options=LOCAL)
    good.open_session(session_id="s")
    good.connection_opened(1.0)
    assert good.close(5.0)["stats"]["exported"] == 1
    assert len(server.stop()) == 1


def test_a_connection_released_at_once_still_delivers(serve):
    server = serve()
    manager = dt.Manager()
    for index in range(20):
        handle = manager.acquire(server.url, driver_name="D", driver_version="1", credentials=lambda: "Bearer t", identity=str(index), options=LOCAL)
        handle.open_session(session_id=str(index))
        handle.connection_opened(1.0)
        del handle  # released before any export thread could take the GIL
    stats = manager.shutdown(10.0)["stats"]
    assert stats["exported"] == 20 and stats["balanced"], stats
