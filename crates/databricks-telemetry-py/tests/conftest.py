"""Fixtures: a real `dbtel serve` (the workspace's binary) on 127.0.0.1 per test."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# Two uploads of databricks-sql-connector 4.9.0 recorded by a local sink (a copy of the
# workspace's shared fixture).
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "python-4.9.0-uploads.jsonl"


def dbtel_binary() -> str:
    explicit = os.environ.get("DBTEL")
    if explicit:
        return explicit
    for profile in ("release", "debug"):
        candidate = ROOT / "target" / profile / "dbtel"
        if candidate.exists():
            return str(candidate)
    pytest.fail("no dbtel binary: run `cargo build -p dbtel` or set DBTEL")


class Serve:
    """One `dbtel serve` process; its capture is read when it stops."""

    def __init__(self, tmp_path: Path, *args: str):
        self.capture = tmp_path / f"capture-{time.monotonic_ns()}.jsonl"
        self.process = subprocess.Popen(
            [dbtel_binary(), "serve", "--port", "0", "--capture", str(self.capture), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        line = self.process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, f"dbtel serve did not start: {line!r}"
        self.url = match.group(1)
        self._logs = None

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/stats", timeout=5) as answer:
            return json.load(answer)

    def requests_to(self, path: str) -> int:
        return self.stats()["requests"].get(path, {}).get("total", 0)

    def wait_for_logs(self, count: int, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        accepted = 0
        while time.monotonic() < deadline:
            accepted = self.stats()["logs_accepted"]
            if accepted >= count:
                return accepted
            time.sleep(0.02)
        return accepted

    def set_fault(self, spec: str) -> None:
        request = urllib.request.Request(self.url + "/admin/fault", data=spec.encode(), method="POST")
        urllib.request.urlopen(request, timeout=5).read()

    def clear_fault(self) -> None:
        request = urllib.request.Request(self.url + "/admin/fault", method="DELETE")
        urllib.request.urlopen(request, timeout=5).read()

    def stop(self) -> list:
        """Stops the server; the accepted frontend logs, decoded."""
        if self._logs is None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=10)
            self._logs = (
                [json.loads(line) for line in self.capture.read_text().splitlines() if line]
                if self.capture.exists()
                else []
            )
        return self._logs


@pytest.fixture
def serve(tmp_path):
    """A factory of `dbtel serve` processes, all stopped at the end of the test."""
    started = []

    def start(*args: str) -> Serve:
        server = Serve(tmp_path, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=10)


def run_python(code: str, *, env=None, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter of this venv."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


LOCAL = {"databricks.telemetry.allow_insecure_http": True, "databricks.telemetry.feature_flag_driver": "PYTHON"}
