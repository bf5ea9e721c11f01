#!/usr/bin/env bash
# Installs what the tests need (Chromium and friends from Debian, test packages from PyPI) and runs
# every test: lint, type checks, unit, integration, real-model and end-to-end browser tests.
# A skipped test fails the run: a missing dependency must be loud.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

echo "== ruff" >&2
.venv/bin/ruff check server analysis bench tests
echo "== import contracts (layers of server/, a pure analysis/)" >&2
.venv/bin/lint-imports
echo "== mypy (strict on analysis/ and server/)" >&2
.venv/bin/mypy server analysis

echo "== pytest" >&2
mkdir -p artifacts
set +e
.venv/bin/python -m pytest -ra -p no:cacheprovider --junitxml=artifacts/junit.xml "$@"
status=$?
set -e
if [[ $status == 5 ]]; then
  echo "test: no tests were collected" >&2
  exit 1
fi
if [[ $status != 0 ]]; then
  exit "$status"
fi
if grep -q '<skipped' artifacts/junit.xml; then
  echo "test: some tests were skipped; CI treats that as a failure" >&2
  exit 1
fi
