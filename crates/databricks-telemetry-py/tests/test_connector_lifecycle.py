"""The adapter's bookkeeping of connections inside the real `databricks-sql-connector` 4.9.0:
what a bad argument does, which handle a connection's events and close go to, and how long
a close waits. Connections are the connector's own `Connection` objects as far as their close
goes (its real `close`/`_close` run), opened as `Connection.__init__` opens them."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest

sql = pytest.importorskip("databricks.sql")
from databricks.sql import __version__ as CONNECTOR_VERSION  # noqa: E402
from databricks.sql import exc  # noqa: E402
from databricks.sql.auth.authenticators import AccessTokenAuthProvider  # noqa: E402
from databricks.sql.client import Connection  # noqa: E402
from databricks.sql.telemetry import telemetry_client as tc  # noqa: E402
from databricks.sql.telemetry.models.enums import DatabricksClientType  # noqa: E402
from databricks.sql.telemetry.models.event import DriverConnectionParameters, HostDetails  # noqa: E402
from databricks.sql.utils import build_client_context  # noqa: E402

import databricks_telemetry as dt  # noqa: E402
from databricks_telemetry import connector  # noqa: E402
from conftest import LOCAL  # noqa: E402

factory = tc.TelemetryClientFactory


@pytest.fixture
def restore_connector():
    dt._manager = None
    yield
    connector.uninstall()
    dt._manager = None


def open_connection(host_url: str, session_id: str, token: str = "dapiFAKE") -> Connection:
    """What `Connection.__init__` does for telemetry, then a `Connection` whose close is the
    connector's own code (the session and HTTP client are stand-ins)."""
    factory.initialize_telemetry_client(
        telemetry_enabled=True,
        session_id_hex=session_id,
        auth_provider=AccessTokenAuthProvider(token),
        host_url=host_url,
        batch_size=100,
        client_context=build_client_context(host_url, CONNECTOR_VERSION),
    )
    factory.get_telemetry_client(host_url).export_initial_telemetry_log(
        driver_connection_params=DriverConnectionParameters(
            http_path="/sql/1.0/warehouses/abc",
            mode=DatabricksClientType.THRIFT,
            host_info=HostDetails(host_url="127.0.0.1", port=443),
        ),
        user_agent=f"PyDatabricksSqlConnector/{CONNECTOR_VERSION}",
        session_id=session_id,
    )
    connection = Connection.__new__(Connection)
    connection._cursors = []
    connection.http_client = None
    connection.session = SimpleNamespace(host=host_url, guid_hex=session_id, is_open=False, close=lambda: None)
    return connection


def failure(host_url: str, session_id: str, message: str) -> None:
    """How the connector reports an error: its exception's constructor does."""
    exc.OperationalError(message, host_url=host_url, session_id_hex=session_id)


def by_session(logs) -> Counter:
    """How many events each session sent: (session id, error name or "-")."""
    return Counter(
        (
            log["entry"]["sql_driver_log"].get("session_id"),
            log["entry"]["sql_driver_log"].get("error_info", {}).get("error_name", "-"),
        )
        for log in logs
    )


# 1. Nothing raises into the driver.


def test_a_bad_argument_never_raises_from_the_connector_s_exception(serve, restore_connector):
    server = serve()
    connector.install(options=LOCAL)
    connection = open_connection(server.url, "s1")
    # A message with a lone surrogate (a file name that is not UTF-8) is not UTF-8 either.
    error = exc.OperationalError("cannot read /tmp/\udcff.csv", host_url=server.url, session_id_hex="s1")
    assert error.message == "cannot read /tmp/\udcff.csv"
    client = factory.get_telemetry_client(server.url)
    client.export_failure_log("OperationalError", 12345, session_id="s1")  # not a str
    client.export_latency_log(12.6, None, "st-1", session_id="s1")  # a float
    client.export_latency_log(10**30, None, "st-2", session_id="s1")  # beyond 64 bits
    client.export_latency_log("slow", None, "st-3", session_id="s1")  # of no use: left out
    client.export_failure_log("E", "m", session_id=["not", "hashable"])  # the adapter's own lookup
    connection.close()
    stats = dt.shutdown(10.0)["stats"]
    assert stats["balanced"] and stats["enqueued"] == 7 and stats["exported"] == 7, stats
    logs = server.stop()
    assert by_session(logs) == Counter(
        {("s1", "-"): 4, ("s1", "OperationalError"): 2, ("['not', 'hashable']", "E"): 1}
    )
    logs = {log["entry"]["sql_driver_log"].get("sql_statement_id"): log for log in logs}
    assert logs["st-1"]["entry"]["sql_driver_log"]["operation_latency_ms"] == 13
    assert logs["st-2"]["entry"]["sql_driver_log"]["operation_latency_ms"] == 2**63 - 1
    assert "operation_latency_ms" not in logs["st-3"]["entry"]["sql_driver_log"]


def test_a_handle_s_export_log_takes_any_argument(serve):
    server = serve()
    manager = dt.Manager()
    handle = manager.acquire(
        server.url, driver_name="D", driver_version="1", credentials=lambda: "Bearer t", options=LOCAL
    )
    assert handle.export_log(session_id="s\udcff", statement_id="st\udcff", error_name="E", error_message="m\udcff")
    assert handle.export_log(session_id=7, statement_id=b"raw", latency_ms=1.5, error_name=ValueError, error_message=3)
    assert handle.export_log(latency_ms=-(10**30))
    assert handle.export_log(latency_ms=float("nan"))
    assert handle.export_log(latency_ms=float("inf"))

    class Unprintable:
        def __str__(self):
            raise RuntimeError("no text")

    assert handle.export_log(statement_id=Unprintable(), error_name=Unprintable(), latency_ms=Unprintable())
    outcome = manager.shutdown(10.0)
    assert outcome["stats"]["balanced"] and outcome["stats"]["exported"] == 6, outcome
    latencies = sorted(
        log["entry"]["sql_driver_log"].get("operation_latency_ms", 0) for log in server.stop()
    )
    assert latencies == [-(2**63), 0, 0, 0, 2, 2**63 - 1], latencies


# 2. A connection's handle goes with its close.


def test_a_closed_connection_s_handle_is_released_while_another_stays_open(serve, restore_connector):
    server = serve()
    connector.install(options=LOCAL)
    held = open_connection(server.url, "held")
    client = factory.get_telemetry_client(server.url)
    for cycle in range(50):
        connection = open_connection(server.url, f"s{cycle}", token=f"dapi{cycle}")
        failure(server.url, f"s{cycle}", "x")
        connection.close()
        assert len(client._handles) == 1, f"{len(client._handles)} handles after {cycle + 1} closes"
    connection.close()  # a second close of the same connection changes nothing
    failure(server.url, "held", "still recorded")
    assert set(client._handles) == {"held"}
    held.close()
    assert server.url not in connector._clients and not connector._sessions
    stats = dt.shutdown(10.0)["stats"]
    assert stats["balanced"] and stats["exported"] == 102, stats


# 3. A connection gets the client it was opened with, to its close.


def test_a_connection_opened_before_install_keeps_the_connector_s_client_beside_one_opened_after(
    serve, restore_connector
):
    server = serve()
    before = open_connection(server.url, "A", token="dapiA")  # the connector's own client
    connector.install(options=LOCAL)
    after = open_connection(server.url, "B", token="dapiB")  # the adapter's
    failure(server.url, "A", "from A")
    failure(server.url, "B", "from B")
    before.close()  # the connector's own close: it sends A's events
    assert server.wait_for_logs(2) >= 2
    assert server.url not in factory._clients, "A's close is the connector's"
    client = factory.get_telemetry_client(server.url)
    assert isinstance(client, connector.PipelineTelemetryClient) and set(client._handles) == {"B"}
    failure(server.url, "B", "B, later")
    after.close()
    assert server.url not in connector._clients
    stats = dt.shutdown(10.0)["stats"]
    assert stats["balanced"] and stats["exported"] == 3, stats
    assert by_session(server.stop()) == Counter(
        {("A", "-"): 1, ("A", "OperationalError"): 1, ("B", "-"): 1, ("B", "OperationalError"): 2}
    )


def test_a_connection_of_an_earlier_install_leaves_the_new_one_s_connections_alone(serve, restore_connector):
    server = serve()
    connector.install(options=LOCAL)
    earlier = open_connection(server.url, "C")
    connector.uninstall()  # C's handle is released
    connector.install(options=LOCAL)
    later = open_connection(server.url, "D")
    failure(server.url, "C", "C after the new install")  # recorded nowhere
    earlier.close()
    client = factory.get_telemetry_client(server.url)
    assert set(client._handles) == {"D"} and connector._clients[server.url].refcount == 1
    failure(server.url, "D", "from D")
    later.close()
    stats = dt.shutdown(10.0)["stats"]
    # C's first event was recorded under the first install (its lane drained it).
    assert stats["balanced"] and stats["exported"] == 3, stats
    assert by_session(server.stop()) == Counter({("C", "-"): 1, ("D", "-"): 1, ("D", "OperationalError"): 1})


# 4. One deadline for a close.


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


class SlowHandle:
    """A handle whose close uses all the time it is given (on the fake clock)."""

    def __init__(self, clock):
        self.clock = clock
        self.given = None

    def close(self, timeout):
        self.given = timeout
        self.clock.now += timeout


def test_closing_a_host_s_handles_waits_one_close_timeout_in_all(monkeypatch, restore_connector):
    clock = FakeClock()
    monkeypatch.setattr(connector, "time", SimpleNamespace(monotonic=clock.monotonic))
    connector.install(close_timeout=2.0)
    for session in ("s1", "s2", "s3"):
        factory.initialize_telemetry_client(
            telemetry_enabled=True,
            session_id_hex=session,
            auth_provider=None,
            host_url="h.example.com",
            batch_size=100,
            client_context=build_client_context("h.example.com", CONNECTOR_VERSION),
        )
    client = factory.get_telemetry_client("h.example.com")
    slow = [SlowHandle(clock) for _ in range(3)]
    client._handles = dict(zip(("s1", "s2", "s3"), slow))
    started = clock.now
    for _ in range(3):
        factory.close("h.example.com")  # the factory driven directly: no connection's session
    assert clock.now - started == pytest.approx(2.0)
    assert [handle.given for handle in slow] == [pytest.approx(2.0), None, None]
