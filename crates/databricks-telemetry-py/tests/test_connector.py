"""The adapter inside the real `databricks-sql-connector` 4.9.0: its telemetry factory driven
the way `Connection` and `Cursor` drive it, side by side with the connector's own telemetry in
the same run, each against its own `dbtel serve`."""

from __future__ import annotations

import copy
import json
import time

import pytest

from conftest import FIXTURE

sql = pytest.importorskip("databricks.sql")
from databricks.sql import __version__ as CONNECTOR_VERSION  # noqa: E402
from databricks.sql.auth.authenticators import AccessTokenAuthProvider  # noqa: E402
from databricks.sql.telemetry import telemetry_client as tc  # noqa: E402
from databricks.sql.telemetry.models.enums import (  # noqa: E402
    AuthMech,
    DatabricksClientType,
    ExecutionResultFormat,
    StatementType,
)
from databricks.sql.telemetry.models.event import (  # noqa: E402
    ChunkDetails,
    DriverConnectionParameters,
    HostDetails,
    OperationDetail,
    ResultLatency,
    SqlExecutionEvent,
)
from databricks.sql.utils import build_client_context  # noqa: E402

import databricks_telemetry as dt  # noqa: E402
from databricks_telemetry import connector  # noqa: E402

SESSION = "ef541f4092664d23990c1aea0eca7dce"


def drive(host_url: str) -> None:
    """One connection as `Connection.__init__`, three statements and a failure as `Cursor`
    and `exc` report them, the close, then a failed connect: the fixture's inputs."""
    factory = tc.TelemetryClientFactory
    context = build_client_context(host_url, CONNECTOR_VERSION)
    factory.initialize_telemetry_client(
        telemetry_enabled=True,
        session_id_hex=SESSION,
        auth_provider=AccessTokenAuthProvider("dapiFAKE"),
        host_url=host_url,
        batch_size=100,
        client_context=context,
        extra_headers={"x-databricks-org-id": "1234567890"},
    )
    client = factory.get_telemetry_client(host_url)
    client.export_initial_telemetry_log(
        driver_connection_params=DriverConnectionParameters(
            http_path="/sql/1.0/warehouses/abc",
            mode=DatabricksClientType.THRIFT,
            host_info=HostDetails(host_url="127.0.0.1", port=443),
            auth_mech=AuthMech.PAT,
            use_proxy=False,
            use_system_proxy=False,
            use_cf_proxy=False,
            allow_self_signed_support=False,
            use_system_trust_store=True,
            enable_arrow=True,
            enable_direct_results=True,
            enable_sea_hybrid_results=False,
            rows_fetched_per_block=100000,
            async_poll_interval_millis=2000,
            support_many_parameters=True,
            enable_complex_datatype_support=False,
        ),
        user_agent=f"PyDatabricksSqlConnector/{CONNECTOR_VERSION}",
        session_id=SESSION,
    )
    client = factory.get_telemetry_client(host_url)
    client.export_latency_log(
        123,
        SqlExecutionEvent(StatementType.QUERY, True, ExecutionResultFormat.EXTERNAL_LINKS, retry_count=0, chunk_id=None),
        "699238b7-96de-4f15-a6dd-8e5abf825977",
        session_id=SESSION,
    )
    client.export_latency_log(
        45,
        SqlExecutionEvent(StatementType.QUERY, True, ExecutionResultFormat.EXTERNAL_LINKS, retry_count=None, chunk_id=3),
        "9f9a260d-2d3e-41ab-b3d8-6e6e9c25edaf",
        session_id=SESSION,
    )
    client.export_latency_log(
        77,
        SqlExecutionEvent(
            StatementType.METADATA,
            False,
            ExecutionResultFormat.INLINE_ARROW,
            retry_count=0,
            chunk_id=None,
            chunk_details=ChunkDetails(1, 2, 3, 3, 6),
            result_latency=ResultLatency(10, 20),
            operation_detail=OperationDetail(2, 30, "LIST_TABLES", False),
        ),
        "56791cfe-d321-4a95-ba1c-a84343706873",
        session_id=SESSION,
    )
    client.export_failure_log("RequestError", "Error during request to server", session_id=SESSION)
    factory.close(host_url)
    factory.connection_failure_log(
        error_name="AuthenticationError",
        error_message="bad token",
        host_url=host_url,
        http_path="/sql/1.0/warehouses/abc",
        port=443,
        client_context=context,
        user_agent=f"PyDatabricksSqlConnector/{CONNECTOR_VERSION}",
    )
    # The connector leaves a failed connect's client open (it sends with its next flush);
    # both flush it here, as the fixture's capture did.
    factory.get_telemetry_client(host_url)._flush()


# Fields every run makes anew (or the machine decides), left out of the comparison.
VOLATILE = (("frontend_log_event_id",), ("context", "client_context", "timestamp_millis"))
MACHINE = ("os_version",)
# What the library never sends on /telemetry-unauth (a privacy rule of the pipeline; the
# service takes both): the connector's own unauthenticated event carries them, and the error's
# message as its stack trace.
UNAUTH_STRIPPED = ("session_id", "system_configuration", "driver_connection_params")
UNAUTH_STRIPPED_ERROR = ("stack_trace",)


def normalised(log: dict) -> dict:
    log = copy.deepcopy(log)
    for path in VOLATILE:
        target = log
        for key in path[:-1]:
            target = target.get(key, {})
        target.pop(path[-1], None)
    system = log["entry"]["sql_driver_log"].get("system_configuration", {})
    for key in MACHINE:
        system.pop(key, None)
    return log


def by_content(logs):
    return sorted((normalised(log) for log in logs), key=lambda log: json.dumps(log, sort_keys=True))


def split_unauth(logs):
    unauth = [log for log in logs if log["entry"]["sql_driver_log"].get("error_info", {}).get("error_name") == "AuthenticationError"]
    return [log for log in logs if log not in unauth], unauth


def fixture_logs():
    logs = []
    for line in FIXTURE.read_text().splitlines():
        upload = json.loads(line)
        logs.extend(json.loads(text) for text in json.loads(upload["body"])["protoLogs"])
    return logs


@pytest.fixture
def restore_connector():
    """A fresh process pipeline for the test (the test shuts it down), and the connector's own
    telemetry back afterwards."""
    dt._manager = None
    yield
    connector.uninstall()
    dt._manager = None


def test_the_adapter_sends_what_the_connector_sends_field_by_field(serve, restore_connector):
    own_server = serve()
    ours_server = serve()

    # The connector's own telemetry.
    assert not connector.installed()
    drive(own_server.url)
    assert own_server.wait_for_logs(6) == 6, own_server.stats()

    # The same calls through the adapter.
    connector.install()
    assert connector.installed()
    drive(ours_server.url)
    stats = dt.shutdown(10.0)["stats"]
    assert stats["exported"] == 6 and stats["balanced"], stats
    ours_stats = ours_server.stats()
    own_stats = own_server.stats()

    own, ours = own_server.stop(), ours_server.stop()
    own_auth, own_unauth = split_unauth(own)
    ours_auth, ours_unauth = split_unauth(ours)
    assert len(ours_auth) == len(own_auth) == 5
    assert by_content(ours_auth) == by_content(own_auth)

    # Against the recorded fixture too (captured on another kernel: os_version left out).
    fixture_auth, fixture_unauth = split_unauth(fixture_logs())
    assert by_content(ours_auth) == by_content(fixture_auth)

    # The failed connect: the same event, less what the pipeline never sends unauthenticated.
    assert len(ours_unauth) == len(own_unauth) == 1
    mine = normalised(ours_unauth[0])
    theirs = normalised(own_unauth[0])
    for key in UNAUTH_STRIPPED:
        assert key in theirs["entry"]["sql_driver_log"]
        theirs["entry"]["sql_driver_log"].pop(key)
        assert key not in mine["entry"]["sql_driver_log"]
    for key in UNAUTH_STRIPPED_ERROR:
        assert key in theirs["entry"]["sql_driver_log"]["error_info"]
        theirs["entry"]["sql_driver_log"]["error_info"].pop(key)
        assert key not in mine["entry"]["sql_driver_log"]["error_info"]
    assert mine == theirs
    fixture_error = normalised(fixture_unauth[0])["entry"]["sql_driver_log"]["error_info"]
    assert fixture_error["error_name"] == mine["entry"]["sql_driver_log"]["error_info"]["error_name"]

    # The same routes (the connector's own asks no flag here: its Connection does, before).
    for stats in (own_stats, ours_stats):
        assert stats["requests"]["/telemetry-unauth"]["total"] >= 1
        assert stats["requests"]["/telemetry-ext"]["total"] >= 1
    assert ours_stats["requests"][f"/api/2.0/connector-service/feature-flags/PYTHON/{CONNECTOR_VERSION}"]["total"] == 1


def test_the_server_flag_off_sends_nothing(serve, restore_connector):
    server = serve("--flags", "off")
    connector.install()
    drive(server.url)
    outcome = dt.shutdown(10.0)["stats"]
    assert outcome["balanced"]
    assert outcome["dropped"]["disabled_by_server"] == 5, outcome
    assert server.stats()["requests"].get("/telemetry-ext") is None


def test_uninstall_restores_the_connector_s_own_factory(restore_connector):
    from databricks.sql.client import Connection

    patched = [
        (tc.TelemetryClientFactory, "initialize_telemetry_client"),
        (tc.TelemetryClientFactory, "get_telemetry_client"),
        (tc.TelemetryClientFactory, "close"),
        (tc.TelemetryClientFactory, "connection_failure_log"),
        (tc.TelemetryHelper, "is_telemetry_enabled"),
        (Connection, "_close"),
    ]
    originals = [owner.__dict__[name] for owner, name in patched]
    connector.install()
    for (owner, name), original in zip(patched, originals):
        assert owner.__dict__[name] is not original, f"{owner.__name__}.{name} is not replaced"
    connector.uninstall()
    for (owner, name), original in zip(patched, originals):
        assert owner.__dict__[name] is original, f"{owner.__name__}.{name} is not restored"
    assert not connector.installed()


def test_a_disabled_connection_gets_the_connector_s_noop_client(restore_connector):
    connector.install()
    tc.TelemetryClientFactory.initialize_telemetry_client(
        telemetry_enabled=False,
        session_id_hex="s",
        auth_provider=None,
        host_url="disabled.example.com",
        batch_size=100,
        client_context=build_client_context("disabled.example.com", CONNECTOR_VERSION),
    )
    assert isinstance(tc.TelemetryClientFactory.get_telemetry_client("disabled.example.com"), tc.NoopTelemetryClient)
    tc.TelemetryClientFactory.close("disabled.example.com")


def test_force_enable_telemetry_skips_the_server_flag_as_the_connector_does(serve, restore_connector):
    from types import SimpleNamespace

    server = serve("--flags", "off")
    connector.install()
    connection = SimpleNamespace(
        session=SimpleNamespace(use_kernel=False, feature_flags=None),
        force_enable_telemetry=True,
        enable_telemetry=True,
    )
    # Connection.__init__ asks this, then initialises its telemetry client on the same thread.
    assert tc.TelemetryHelper.is_telemetry_enabled(connection)
    drive(server.url)
    outcome = dt.shutdown(10.0)["stats"]
    assert outcome["exported"] == 6 and outcome["dropped"]["disabled_by_server"] == 0, outcome
    assert server.stats()["requests"].get(f"/api/2.0/connector-service/feature-flags/PYTHON/{CONNECTOR_VERSION}") is None


def drive_through_cursor(host_url: str) -> None:
    """The connector's own code reports: a Cursor-like object's methods wrapped by its
    `log_latency` decorator, and its `RequestError` (which reports itself when raised)."""
    from types import SimpleNamespace

    from databricks.sql.exc import RequestError
    from databricks.sql.telemetry.latency_logger import log_latency

    factory = tc.TelemetryClientFactory
    context = build_client_context(host_url, CONNECTOR_VERSION)
    factory.initialize_telemetry_client(
        telemetry_enabled=True,
        session_id_hex=SESSION,
        auth_provider=AccessTokenAuthProvider("dapiFAKE"),
        host_url=host_url,
        batch_size=100,
        client_context=context,
    )
    factory.get_telemetry_client(host_url).export_initial_telemetry_log(
        driver_connection_params=DriverConnectionParameters(
            http_path="/sql/1.0/warehouses/abc",
            mode=DatabricksClientType.THRIFT,
            host_info=HostDetails(host_url="127.0.0.1", port=443),
            auth_mech=AuthMech.PAT,
        ),
        user_agent=f"PyDatabricksSqlConnector/{CONNECTOR_VERSION}",
        session_id=SESSION,
    )
    connection = SimpleNamespace(
        telemetry_enabled=True,
        lz4_compression=True,
        session=SimpleNamespace(host=host_url),
        get_session_id_hex=lambda: SESSION,
    )

    class Cursor:
        def __init__(self, query_id):
            self.connection = connection
            self.query_id = query_id
            self.active_result_set = None
            self.backend = SimpleNamespace(retry_policy=None)

        @log_latency(StatementType.QUERY)
        def execute(self, operation):
            return self

        @log_latency(StatementType.METADATA)
        def tables(self):
            return self

    Cursor("01f0-query").execute("SELECT 1")
    Cursor("01f0-tables").tables()
    RequestError("Error during request to server", host_url=host_url, session_id_hex=SESSION)
    factory.close(host_url)


def test_the_connector_s_own_reporting_code_through_the_adapter(serve, restore_connector):
    own_server, ours_server = serve(), serve()
    drive_through_cursor(own_server.url)
    assert own_server.wait_for_logs(4) == 4, own_server.stats()
    connector.install()
    drive_through_cursor(ours_server.url)
    assert dt.shutdown(10.0)["stats"]["exported"] == 4
    own, ours = own_server.stop(), ours_server.stop()
    assert by_content(ours) == by_content(own)
    kinds = sorted(log["entry"]["sql_driver_log"].get("sql_operation", {}).get("statement_type", "-") for log in ours)
    assert kinds == ["-", "-", "METADATA", "QUERY"]


def test_a_connection_opened_before_install_keeps_the_connector_s_own_client(serve, restore_connector):
    own_server = serve()
    factory = tc.TelemetryClientFactory
    factory.initialize_telemetry_client(
        telemetry_enabled=True,
        session_id_hex="before",
        auth_provider=AccessTokenAuthProvider("dapiFAKE"),
        host_url=own_server.url,
        batch_size=100,
        client_context=build_client_context(own_server.url, CONNECTOR_VERSION),
    )
    connector.install()
    client = factory.get_telemetry_client(own_server.url)
    assert isinstance(client, tc.TelemetryClient), "the connector's own client, still"
    client.export_failure_log("RequestError", "x", session_id="before")
    factory.close(own_server.url)  # the connector's own close: it flushes
    assert own_server.wait_for_logs(1) == 1
    assert own_server.url not in tc.TelemetryClientFactory._clients
