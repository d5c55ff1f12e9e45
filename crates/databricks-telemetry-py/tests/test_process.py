"""Process life: the exit hook (in a subprocess), and `os.fork()`."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

import databricks_telemetry as dt
from conftest import LOCAL, run_python

SHORT_PROGRAM = """
import json, sys, databricks_telemetry as dt
handle = dt.acquire({url!r}, driver_name="D", driver_version="1", credentials=lambda: "Bearer t",
                    options={options!r})
handle.open_session(session_id="s")
handle.connection_opened(1.0)
for n in range(50):
    s = handle.begin("EXECUTE_STATEMENT"); s.set_statement_id(str(n)); s.submit()
handle.connection_closed(1.0)
print(json.dumps(dt.stats()))
# no close, no shutdown: the exit hook delivers
"""


def test_the_exit_hook_delivers_what_a_short_program_left_queued(serve):
    server = serve()
    options = {**LOCAL, "databricks.telemetry.flush_interval_ms": 3_600_000}
    done = run_python(SHORT_PROGRAM.format(url=server.url, options=options))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["enqueued"] == 52
    assert len(server.stop()) == 52


def test_the_exit_hook_keeps_its_deadline_while_the_service_hangs(serve):
    server = serve("--fault", "hang")
    options = {**LOCAL, "databricks.telemetry.request_timeout_ms": 60_000}
    started = time.monotonic()
    done = run_python(SHORT_PROGRAM.format(url=server.url, options=options), env={"DATABRICKS_TELEMETRY_EXIT_TIMEOUT": "1"})
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 10, f"the exit took {took:.1f} s"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_gets_a_pipeline_of_its_own_and_never_touches_the_parent_s(serve):
    server = serve()
    parent = dt.acquire(server.url, driver_name="D", driver_version="1", credentials=lambda: "Bearer t", options=LOCAL)
    parent.open_session(session_id="parent")
    stop = threading.Event()

    def busy() -> None:
        # A thread of the parent keeps the parent's lanes busy while it forks.
        while not stop.is_set():
            parent.begin("LIST_CATALOGS").submit()

    thread = threading.Thread(target=busy)
    thread.start()
    time.sleep(0.05)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one thread, the parent's pipeline is not ours
        report = {}
        try:
            report["old_enabled"] = parent.is_enabled
            report["old_records"] = parent.connection_opened(1.0)
            child = dt.acquire(server.url, driver_name="D", driver_version="1", credentials=lambda: "Bearer t", options=LOCAL)
            child.open_session(session_id="child")
            for _ in range(5):
                child.connection_opened(1.0)
            report["close"] = child.close(5.0)["result"]
            report["stats"] = dt.stats()
        except Exception as error:  # pragma: no cover - reported to the parent
            report["error"] = repr(error)
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = json.loads(pipe.read() or "{}")
    _, status = os.waitpid(pid, 0)
    stop.set()
    thread.join(timeout=10)
    assert status == 0
    assert "error" not in report, report
    assert report["old_enabled"] is False and report["old_records"] is False
    assert report["close"] == "completed"
    assert report["stats"]["enqueued"] == 5 and report["stats"]["exported"] == 5
    # The parent's pipeline goes on.
    parent.connection_opened(1.0)
    assert parent.close(5.0)["result"] == "completed"
    logs = server.stop()
    assert sum(1 for log in logs if log["entry"]["sql_driver_log"].get("session_id") == "child") == 5


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_exits_at_once_even_with_the_parent_s_objects_alive(serve):
    server = serve("--fault", "hang")
    code = f"""
import os, sys, time, databricks_telemetry as dt
h = dt.acquire({server.url!r}, driver_name="D", driver_version="1", credentials=lambda: "Bearer t",
               options={LOCAL!r})
h.open_session(session_id="p"); h.connection_opened(1.0); h.flush(0.5)
pid = os.fork()
if pid == 0:
    started = time.monotonic()
    s = h.begin("EXECUTE_STATEMENT")  # the parent's handle: inert here
    del s, h                          # leaked, never dropped into the parent's lanes
    sys.exit(0)                       # the exit hook: the child's own (empty) pipeline
os.waitpid(pid, 0)
os._exit(0)
"""
    started = time.monotonic()
    done = run_python(code, timeout=30)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 10
