#!/usr/bin/env bash
# The whole test suite: unit and integration tests (real servers on loopback, real SQLite files) and the boto3
# interoperability test. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-test-deps.sh
export PORTCULLIS_TEST_PYTHON="$PWD/.venv/bin/python"
swift build --build-tests

# The tests take under two minutes here. A run that has not ended after TEST_DEADLINE_SECONDS has hung: print
# every thread's backtrace of the test processes (what they wait on), end them and fail, instead of sitting out
# CI's time limit with nothing to show for it.
descendants() { local child; for child in $(pgrep -P "$1"); do echo "$child"; descendants "$child"; done; }
swift test --skip-build &
tests=$!
limit=${TEST_DEADLINE_SECONDS:-1200}
deadline=$((SECONDS + limit))
while kill -0 "$tests" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 2; done
if kill -0 "$tests" 2>/dev/null; then
  echo "the tests have not ended after $limit s; backtraces of the test processes:" >&2
  processes=$(descendants "$tests")
  for pid in $processes; do
    [ -r "/proc/$pid/cmdline" ] || continue
    echo "== $pid: $(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | cut -c1-200)" >&2
    gdb -p "$pid" -batch -ex 'thread apply all bt 30' 2>/dev/null | grep -v '^\[New LWP' >&2 || true
  done
  kill -KILL $processes "$tests" 2>/dev/null || true
  exit 1
fi
wait "$tests"
