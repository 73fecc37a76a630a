#!/usr/bin/env bash
# The whole test suite: unit and integration tests (real servers on loopback, real SQLite files) and the boto3
# interoperability test. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-test-deps.sh
export PORTCULLIS_TEST_PYTHON="$PWD/.venv/bin/python"
swift build --build-tests
swift test --skip-build
