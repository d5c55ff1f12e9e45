#!/usr/bin/env bash
# The Python package's tests, on a fresh machine: a virtual environment under target/py-ci (made
# here, kept between runs; a clean clone starts fresh) gets maturin, pytest and the real
# databricks-sql-connector 4.9.0 from the registry; pip builds (release, with maturin) and
# installs the package from the checkout; pytest runs inside the real connector against the
# workspace's own `dbtel serve`. Any failure, and pytest's exit 5 ("no tests collected"), fails.
# Run from anywhere: `bash crates/databricks-telemetry-py/tests/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/../../.."
started=$(date +%s)
cargo build -q -p dbtel
python=python3
command -v python3.11 >/dev/null 2>&1 && python=python3.11
venv="$PWD/target/py-ci/venv"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
echo "== Python package: venv (target/py-ci), pip install maturin pytest databricks-sql-connector==4.9.0"
"$venv/bin/python" -m pip install -q --disable-pip-version-check maturin pytest databricks-sql-connector==4.9.0
echo "== Python package: pip install ./crates/databricks-telemetry-py (maturin, release)"
PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$PWD/target" "$venv/bin/python" -m pip install -q \
  --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps \
  ./crates/databricks-telemetry-py
echo "== Python package: pytest against dbtel serve (the adapter inside the real connector)"
DBTEL="$PWD/target/debug/dbtel" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  crates/databricks-telemetry-py/tests
echo "== Python package: tests done in $(($(date +%s) - started)) s"
