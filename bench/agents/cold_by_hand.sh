#!/usr/bin/env bash
# The baseline of a cold start: the minimal agent started by hand (no sandbox) on PORT, then its first answer to
# POST /invocations, then stopped. hyperfine times the whole script, as it times a new session's first call.
set -euo pipefail
PORT=${PORT:-19190}
PYTHON=${PYTHON:-/usr/bin/python3.11}
PORT=$PORT "$PYTHON" "$(dirname "$0")/minimal/main.py" &
agent=$!
trap 'kill $agent 2>/dev/null; wait $agent 2>/dev/null || true' EXIT
until curl -sf -o /dev/null -X POST -d '{}' "http://127.0.0.1:$PORT/invocations"; do sleep 0.002; done
