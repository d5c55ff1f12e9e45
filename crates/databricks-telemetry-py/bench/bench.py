"""Issue 22's figures, side by side in one run: the adapter (databricks_telemetry.connector)
against databricks-sql-connector 4.9.0's own telemetry, each into its own `dbtel serve`.

    python bench.py [--dbtel PATH] [--wheel PATH] [--quick]

Prints one Markdown table (for BENCHMARKS.md) and the same as JSON. `--quick` shortens the
outage scenario (10 s instead of 30 s) and the connection count (200 instead of 1,000).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


class Serve:
    def __init__(self, dbtel: str, *args: str):
        self.process = subprocess.Popen(
            [dbtel, "serve", "--port", "0", "--max-stored-logs", "200000", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        match = re.search(r"(http://127\.0\.0\.1:\d+)", self.process.stdout.readline())
        assert match, "dbtel serve did not start"
        self.url = match.group(1)

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/stats", timeout=5) as answer:
            return json.load(answer)

    def uploads(self) -> int:
        return self.stats()["requests"].get("/telemetry-ext", {}).get("total", 0)

    def fault(self, spec: str) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + "/admin/fault", data=spec.encode(), method="POST"), timeout=5).read()

    def wait_logs(self, count: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            accepted = self.stats()["logs_accepted"]
            if accepted >= count:
                return accepted
            time.sleep(0.05)
        return self.stats()["logs_accepted"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def connect(host_url: str, session_id: str, token: str = "dapiBENCH"):
    """Drives the connector's factory as Connection.__init__ does; returns the client."""
    from databricks.sql import __version__
    from databricks.sql.auth.authenticators import AccessTokenAuthProvider
    from databricks.sql.telemetry.models.enums import AuthMech, DatabricksClientType
    from databricks.sql.telemetry.models.event import DriverConnectionParameters, HostDetails
    from databricks.sql.telemetry.telemetry_client import TelemetryClientFactory
    from databricks.sql.utils import build_client_context

    TelemetryClientFactory.initialize_telemetry_client(
        telemetry_enabled=True,
        session_id_hex=session_id,
        auth_provider=AccessTokenAuthProvider(token),
        host_url=host_url,
        batch_size=100,
        client_context=build_client_context(host_url, __version__),
    )
    client = TelemetryClientFactory.get_telemetry_client(host_url)
    client.export_initial_telemetry_log(
        DriverConnectionParameters(
            http_path="/sql/1.0/warehouses/abc",
            mode=DatabricksClientType.THRIFT,
            host_info=HostDetails(host_url="bench.example.com", port=443),
            auth_mech=AuthMech.PAT,
        ),
        f"PyDatabricksSqlConnector/{__version__}",
        session_id=session_id,
    )
    return client


def statement_event():
    from databricks.sql.telemetry.models.enums import ExecutionResultFormat, StatementType
    from databricks.sql.telemetry.models.event import SqlExecutionEvent

    return SqlExecutionEvent(StatementType.QUERY, True, ExecutionResultFormat.EXTERNAL_LINKS, retry_count=0, chunk_id=None)


def caller_cost(client, session_id: str, events: int) -> float:
    """Seconds per `export_latency_log` on the calling thread (median of 5 rounds, after a
    warm-up round that is not counted)."""
    event = statement_event()
    for n in range(events // 4):
        client.export_latency_log(12, event, "01f0-statement", session_id=session_id)
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for n in range(events):
            client.export_latency_log(12, event, "01f0-statement", session_id=session_id)
        rounds.append((time.perf_counter() - started) / events)
    return statistics.median(rounds)


def figure_caller_cost(dbtel: str, events: int) -> dict:
    from databricks_telemetry import connector

    own_serve, ours_serve = Serve(dbtel), Serve(dbtel)
    connector.uninstall()
    own = connect(own_serve.url, "own-session")
    own_cost = caller_cost(own, "own-session", events)
    own._flush()
    # Its pool threads run Python (the GIL) until its uploads are done: let them finish first.
    own_serve.wait_logs(1 + events // 4 + 5 * events, 60)
    connector.install()
    ours = connect(ours_serve.url, "our-session")
    ours_cost = caller_cost(ours, "our-session", events)
    connector.uninstall()
    own_serve.stop()
    ours_serve.stop()
    return {"own_us": own_cost * 1e6, "ours_us": ours_cost * 1e6, "ratio": own_cost / ours_cost, "events": events * 5}


def figure_outage(dbtel: str, seconds: int) -> dict:
    """503 for `seconds` at 100 events/s, both telemetries at once, each to its own serve."""
    import databricks_telemetry as dt
    from databricks_telemetry import connector

    own_serve, ours_serve = Serve(dbtel), Serve(dbtel)
    connector.uninstall()
    own = connect(own_serve.url, "own-outage")
    connector.install()
    before = dt.stats()
    ours = connect(ours_serve.url, "our-outage")
    # the initial logs: wait until both are delivered before the outage starts
    time.sleep(0.2)
    own_before, ours_before = own_serve.uploads(), ours_serve.uploads()
    own_serve.fault(f"503@{seconds}s")
    ours_serve.fault(f"503@{seconds}s")
    event = statement_event()
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < seconds:
        own.export_latency_log(12, event, "st", session_id="own-outage")
        ours.export_latency_log(12, event, "st", session_id="our-outage")
        sent += 1
        time.sleep(max(0.0, started + sent / 100 - time.monotonic()))
    own_during, ours_during = own_serve.uploads() - own_before, ours_serve.uploads() - ours_before
    own._flush()
    # ours: deliver the backlog (the breaker's probe after the outage)
    outcome = dt.manager().stats()
    expected_ours = sent + 1
    ours_received = ours_serve.wait_logs(expected_ours, 60)
    own_received = own_serve.wait_logs(sent + 1, 10)
    stats = dt.stats()
    connector.uninstall()
    own_serve.stop()
    ours_serve.stop()
    del outcome, before
    return {
        "seconds": seconds,
        "events": sent,
        "ours_lost": expected_ours - ours_received,
        "ours_requests_during": ours_during,
        "own_lost": sent + 1 - own_received,
        "own_requests_during": own_during,
        "ours_balanced": stats["balanced"],
    }


SHORT_PROGRAM = """
import sys, time
sys.path.insert(0, {bench!r})
started = time.perf_counter()
from bench import connect, statement_event
if {adapter!r}:
    from databricks_telemetry import connector
    connector.install()
from databricks.sql.telemetry.telemetry_client import TelemetryClientFactory
client = connect({url!r}, "short")
client.export_latency_log(12, statement_event(), "st", session_id="short")
TelemetryClientFactory.close({url!r})
print(time.time(), flush=True)  # the program's work is done: from here on, its exit
"""


def run_short(url: str, adapter: bool, timeout: float) -> tuple:
    """(whole run, its exit: from the end of its work to the process's end), in seconds."""
    code = SHORT_PROGRAM.format(bench=str(Path(__file__).parent), adapter=adapter, url=url)
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    work_done = None
    try:
        line = process.stdout.readline()
        work_done = float(line) if line.strip() else None
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return float("inf"), float("inf")
    ended = time.time()
    return time.monotonic() - started, (ended - work_done) if work_done else float("nan")


def figure_short_program(dbtel: str, own_hang_timeout: float) -> dict:
    result = {}
    baseline = statistics.median(
        run_short_import_only() for _ in range(3)
    )
    result["baseline_s"] = baseline
    for adapter in (True, False):
        healthy = Serve(dbtel)
        took, exit_took = run_short(healthy.url, adapter, 120)
        delivered = healthy.wait_logs(2, 5)
        healthy.stop()
        hanging = Serve(dbtel, "--fault", "hang")
        hang_took, hang_exit_took = run_short(hanging.url, adapter, own_hang_timeout if not adapter else 120)
        hanging.stop()
        name = "ours" if adapter else "own"
        result[f"{name}_healthy_s"] = took
        result[f"{name}_healthy_exit_s"] = exit_took
        result[f"{name}_healthy_delivered"] = delivered
        result[f"{name}_hanging_s"] = hang_took
        result[f"{name}_hanging_exit_s"] = hang_exit_took
    return result


def run_short_import_only() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import databricks.sql, databricks_telemetry.connector"], check=True)
    return time.monotonic() - started


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def many_connections_here(url: str, count: int, adapter: bool) -> dict:
    """In a fresh interpreter: `count` connections with `count` identities (tokens) to one
    host, one statement each; the threads telemetry added (from before the first connection)
    and the RSS growth (from after a warm-up connection) once all are connected."""
    import databricks_telemetry as dt
    from databricks_telemetry import connector
    from databricks.sql.telemetry.telemetry_client import TelemetryClientFactory

    if adapter:
        connector.install()
    event = statement_event()
    threads_before = threads()
    connect(url, "warm-up", token="dapi-warm-up")  # imports and first-use costs out of the RSS
    rss_before = rss_kib()
    for n in range(count):
        client = connect(url, f"session-{n}", token=f"dapi-{n}")
        client.export_latency_log(12, event, "st", session_id=f"session-{n}")
    result = {
        "threads_added": threads() - threads_before,
        "rss_growth_mib": (rss_kib() - rss_before) / 1024,
        "lanes": dt.manager().lane_count() if adapter else None,
    }
    for _ in range(count + 1):
        TelemetryClientFactory.close(url)
    if adapter:
        result["balanced"] = dt.shutdown(30.0)["stats"]["balanced"]
    return result


def figure_many_connections(dbtel: str, count: int) -> dict:
    figures = {"connections": count}
    for adapter in (True, False):
        serve = Serve(dbtel)
        code = (
            f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench; "
            f"print(json.dumps(bench.many_connections_here({serve.url!r}, {count}, {adapter})))"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        # the warm-up connection's initial log, and each connection's initial log and statement
        result["expected"] = 2 * count + 1
        result["delivered"] = serve.wait_logs(result["expected"], 10)
        serve.stop()
        figures["ours" if adapter else "own"] = result
    return figures


def figure_wheel_and_import(wheel: str | None) -> dict:
    result = {}
    if wheel:
        result["wheel_bytes"] = os.path.getsize(wheel)
    times = []
    for _ in range(7):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import databricks_telemetry"],
            capture_output=True, text=True, check=True,
        )
        last = [line for line in done.stderr.splitlines() if line.rstrip().endswith("databricks_telemetry")]
        times.append(int(last[-1].split("|")[1]) if last else 0)
    result["import_ms"] = statistics.median(times) / 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dbtel", default=str(ROOT / "target" / "release" / "dbtel"))
    parser.add_argument("--wheel")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    figures = {
        "caller_cost": figure_caller_cost(args.dbtel, 2_000),
        "outage": figure_outage(args.dbtel, 10 if args.quick else 30),
        "short_program": figure_short_program(args.dbtel, 90),
        "many_connections": figure_many_connections(args.dbtel, 200 if args.quick else 1_000),
        "package": figure_wheel_and_import(args.wheel),
    }
    c, o, s, m, p = (figures[k] for k in ("caller_cost", "outage", "short_program", "many_connections", "package"))
    print("| figure | adapter (Rust pipeline) | connector 4.9.0's own |")
    print("|---|---|---|")
    print(f"| caller cost per event (`export_latency_log`, median of 5 x 2,000) | {c['ours_us']:.2f} µs | {c['own_us']:.2f} µs ({c['ratio']:.0f}x) |")
    print(f"| 503 for {o['seconds']} s at 100 events/s ({o['events']} events): lost | {o['ours_lost']} | {o['own_lost']} |")
    print(f"| ... upload requests during the outage | {o['ours_requests_during']} | {o['own_requests_during']} |")
    print(f"| short program (connect, one query's events, exit), healthy: its exit (whole run) | {s['ours_healthy_exit_s']:.3f} s ({s['ours_healthy_s']:.2f} s), {s['ours_healthy_delivered']} of 2 delivered | {s['own_healthy_exit_s']:.3f} s ({s['own_healthy_s']:.2f} s), {s['own_healthy_delivered']} of 2 delivered |")
    print(f"| ... service hangs: its exit (whole run) | {s['ours_hanging_exit_s']:.2f} s ({s['ours_hanging_s']:.2f} s) | {s['own_hanging_exit_s']:.2f} s ({s['own_hanging_s']:.2f} s); inf: killed after 90 s |")
    print(f"| ... an interpreter importing both, nothing else | {s['baseline_s']:.2f} s | |")
    mo, mw = m["ours"], m["own"]
    print(f"| {m['connections']} connections, {m['connections']} identities (fresh interpreter): threads added, RSS growth | {mo['threads_added']} thread(s), {mo['rss_growth_mib']:.1f} MiB, {mo['lanes']} lanes ({mo['delivered']} of {mo['expected']} delivered) | {mw['threads_added']} thread(s), {mw['rss_growth_mib']:.1f} MiB ({mw['delivered']} of {mw['expected']} delivered) |")
    if "wheel_bytes" in p:
        print(f"| wheel size | {p['wheel_bytes'] / 1024 / 1024:.2f} MiB | |")
    print(f"| `import databricks_telemetry` (-X importtime, median of 7) | {p['import_ms']:.1f} ms | |")
    print()
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
