"""The Pythonic API over the manager, handles and statement recorders, against `dbtel serve`."""

from __future__ import annotations

import threading
import time

import pytest

import databricks_telemetry as dt
from conftest import LOCAL


def acquire(manager, server, options=None, **extra):
    return manager.acquire(
        server.url,
        driver_name="Test Driver",
        driver_version="1.2.3",
        credentials=lambda: "Bearer token",
        options={**LOCAL, **(options or {})},
        **extra,
    )


def test_a_connection_s_session_and_statements_are_delivered_and_accounted(serve):
    server = serve()
    manager = dt.Manager()
    handle = acquire(manager, server, identity="user-1")
    assert handle.is_enabled
    assert handle.open_session(session_id="01f0-session", connection_parameters={"http_path": "/sql/1.0/x", "mode": "THRIFT"})
    assert handle.connection_opened(12.0)
    with handle.begin("EXECUTE_STATEMENT") as statement:
        statement.set_statement_id("01f0-statement")
        statement.set_statement_type("QUERY")
        statement.set_result_format("EXTERNAL_LINKS")
        statement.set_total_chunks(2)
        statement.record_chunk_download(3.0)
        statement.record_chunk_download(5.0)
        statement.mark_result_ready()
        statement.mark_results_consumed()
    failed = handle.begin("LIST_TABLES")
    failed.record_error("OperationalError", "at /home/alice/x.py token=dapi123456789")
    assert failed.submit()
    assert not failed.submit(), "an event is sent once"
    handle.connection_closed(1.0)
    outcome = handle.close(5.0)
    assert outcome["result"] == "completed"
    stats = outcome["stats"]
    assert stats["enqueued"] == 4 and stats["exported"] == 4 and stats["balanced"]
    logs = server.stop()
    assert len(logs) == 4
    events = [log["entry"]["sql_driver_log"] for log in logs]
    assert {e["session_id"] for e in events} == {"01f0-session"}
    assert all(e["driver_connection_params"]["http_path"] == "/sql/1.0/x" for e in events)
    statement_event = next(e for e in events if e.get("sql_statement_id") == "01f0-statement")
    assert statement_event["sql_operation"]["chunk_details"]["total_chunks_iterated"] == 2
    error = next(e for e in events if "error_info" in e)["error_info"]
    assert error["error_name"] == "OperationalError"
    assert "dapi123456789" not in error["stack_trace"] and "alice" not in error["stack_trace"]
    assert manager.stats()["balanced"]


def test_bad_input_raises_a_clear_error_and_nothing_is_acquired(serve):
    manager = dt.Manager()
    with pytest.raises(dt.TelemetryError, match="batch_siz"):
        manager.acquire("h.example.com", driver_name="D", driver_version="1", options={"databricks.telemetry.batch_siz": 5})
    with pytest.raises(dt.TelemetryError):
        manager.acquire("h.example.com", driver_name="D", driver_version="1", options={"databricks.telemetry.batch_size": 0})
    with pytest.raises(dt.TelemetryError, match="insecure|http"):
        manager.acquire("http://127.0.0.1:9", driver_name="D", driver_version="1")
    handle = manager.acquire("h.example.com", driver_name="D", driver_version="1")
    with pytest.raises(dt.TelemetryError, match="NOT_AN_OPERATION"):
        handle.begin("NOT_AN_OPERATION")
    with pytest.raises(dt.TelemetryError):
        handle.open_session(connection_parameters="{not json")
    with pytest.raises(dt.TelemetryError):
        handle.flush(-1.0)
    assert manager.lane_count() == 1


def test_several_threads_record_at_once_and_every_event_is_accounted_for(serve):
    server = serve()
    manager = dt.Manager()
    errors = []
    handles = [acquire(manager, server, identity=f"user-{index % 3}") for index in range(8)]
    assert manager.lane_count() == 3, "one lane per (host, identity)"

    def connection(index: int) -> None:
        try:
            handle = handles[index]
            handle.open_session(session_id=f"session-{index}")
            for n in range(200):
                statement = handle.begin("EXECUTE_STATEMENT")
                statement.set_statement_id(f"{index}-{n}")
                statement.record_status_poll(1.0)
                statement.submit()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=connection, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    outcome = manager.shutdown(10.0)
    assert outcome["result"] == "completed"
    stats = outcome["stats"]
    assert stats["enqueued"] == 1600 and stats["exported"] == 1600 and stats["balanced"], str(stats["dropped"])
    logs = server.stop()
    assert len({log["frontend_log_event_id"] for log in logs}) == 1600


def wait_until(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_close_returns_at_once_while_the_service_hangs_and_the_events_stay_counted(serve):
    server = serve("--fault", "hang")
    manager = dt.Manager()
    handle = acquire(manager, server, options={"databricks.telemetry.request_timeout_ms": 60_000})
    handle.open_session(session_id="s")
    handle.connection_opened(1.0)
    assert not handle.flush(0.0)  # starts the upload: it reaches the server, and hangs there
    wait_until(lambda: server.requests_to("/telemetry-ext") >= 1, "the upload to reach the server")
    started = time.monotonic()
    outcome = handle.close(30.0)
    elapsed = time.monotonic() - started
    assert outcome["stalled"], outcome
    # Waiting would take the close's 30 s (the request's timeout is 60 s): a third of it
    # is a generous bound for "at once" on a loaded machine.
    assert elapsed < 10.0, f"close took {elapsed:.1f} s"
    stats = manager.stats()
    assert stats["balanced"] and stats["enqueued"] == 1


def test_a_statement_of_a_disabled_handle_records_nothing():
    handle = dt.Manager().acquire(
        "h.example.com", driver_name="D", driver_version="1", options={"databricks.telemetry.enabled": False}
    )
    assert not handle.is_enabled
    statement = handle.begin("EXECUTE_STATEMENT")
    statement.set_statement_id("x")
    assert not statement.submit()
    assert handle.stats()["enqueued"] == 0


def test_the_gil_is_released_while_a_flush_waits(serve):
    # The upload hangs until another Python thread clears the fault, which it does once the
    # upload (started by the flush only: the lane's own interval is an hour) is in flight.
    # The flush can complete only if that thread ran while it waited.
    server = serve("--fault", "hang")
    manager = dt.Manager()
    handle = acquire(
        manager,
        server,
        options={
            "databricks.telemetry.flush_interval_ms": 3_600_000,
            "databricks.telemetry.request_timeout_ms": 300,
            "databricks.telemetry.retry_base_delay_ms": 1,
            "databricks.telemetry.retry_max_delay_ms": 10,
        },
    )
    handle.open_session(session_id="s")
    handle.connection_opened(1.0)
    cleared = threading.Event()

    def python_work() -> None:
        deadline = time.monotonic() + 20
        while server.requests_to("/telemetry-ext") < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.clear_fault()
        cleared.set()

    worker = threading.Thread(target=python_work)
    worker.start()
    try:
        delivered = handle.flush(15.0)
        assert cleared.is_set(), "the other thread did not run while the flush waited"
        assert delivered, "the flush ended before the other thread released the upload"
    finally:
        worker.join(timeout=30)
    assert manager.shutdown(5.0)["stats"]["exported"] == 1
