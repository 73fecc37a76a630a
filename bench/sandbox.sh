#!/usr/bin/env bash
# Sandboxed sessions against the same agent started by hand without a sandbox, measured in the same run:
#
#   cold start   hyperfine: a new session id's first call (curl) through `portcullis serve`, vs the agent started
#                by hand and its first answer (bench/agents/cold_by_hand.sh), vs curl to a running agent
#   warm         wrk -c1 (one connection, one session): latency through the gateway vs straight to the agent
#   200 idle     200 sessions opened and left idle: all alive, host memory per session, one more call to each
#   teardown     StopRuntimeSession (which destroys the sandbox before it answers), curl's time_total per call
#   warm pool    sandbox.warmPoolSize 2: a new session's first call when a pre-started sandbox is waiting
#
#   sudo bench/sandbox.sh          # release build, then everything; writes $RESULTS_DIR/sandbox-<stamp>.md
#
# The agent is bench/agents/minimal (standard-library Python, keep-alive). Knobs: RUNS (30) SESSIONS (200)
# DURATION (10s) RUN_DIR (/tmp/portcullis-sandbox-bench) RESULTS_DIR (bench/results) SKIP_BUILD=1
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RUN=${RUN_DIR:-/tmp/portcullis-sandbox-bench}
RUNS=${RUNS:-30}
SESSIONS=${SESSIONS:-200}
DURATION=${DURATION:-10s}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
BIN="$ROOT/.build-release/release/portcullis"
GATEWAY_PORT=19183
AGENT_PORT=19190

. "$HERE/lib/sessions.sh"

[ "$(id -u)" -eq 0 ] || { echo "run as root: the bubblewrap driver gives each session a uid of its own" >&2; exit 1; }
missing=()
for tool in hyperfine wrk curl bwrap; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: hyperfine wrk curl bubblewrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine wrk curl bubblewrap >/dev/null
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "release build"
  (cd "$ROOT" && swift build -c release --product portcullis --scratch-path .build-release >&2)
fi

PIDS=()
stop_all() { stop_gateway; for pid in "${PIDS[@]:-}"; do if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; done; wait 2>/dev/null || true; }
trap stop_all EXIT

for port in $GATEWAY_PORT $AGENT_PORT $((AGENT_PORT + 1)); do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is in use: stop what listens there first" >&2; exit 1; fi
done
rm -rf "$RUN" && mkdir -p "$RUN" "$RESULTS_DIR"
chmod 711 "$RUN"

write_config() {  # $1 = warm pool size
  cat > "$RUN/portcullis.yaml" <<CONF
server: {listen: 127.0.0.1:$GATEWAY_PORT}
store: {dataDirectory: $RUN/data}
policies: {directory: $ROOT/policies}
logging: {level: warning}
sandbox:
  memoryMiB: 128
  cpus: 1
  writableMiB: 16
  maxSessions: $((SESSIONS + RUNS * 3 + 20))
  maxSessionsPerPrincipal: $((SESSIONS + RUNS * 3 + 20))
  warmPoolSize: $1
agents:
  - name: minimal
    code: {path: $HERE/agents/minimal, entryPoint: [main.py], runtime: PYTHON_3_11}
    idleRuntimeSessionTimeout: 3600
CONF
}

write_config 0
KEY=$(create_key)
start_gateway
find_agent minimal
new_session='bench-$(cat /proc/sys/kernel/random/uuid)'
call() { curl -sf -o /dev/null -X POST "$INVOKE" -H "Authorization: Bearer $KEY" -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $1" -d '{}'; }

# The interpreter the sandboxes run (the host's, not a version manager's shim on PATH).
PYTHON=/usr/bin/python3.11
PORT=$AGENT_PORT "$PYTHON" "$HERE/agents/minimal/main.py" &
PIDS+=($!)
until curl -sf -o /dev/null "http://127.0.0.1:$AGENT_PORT/ping"; do sleep 0.05; done

log "cold start: $RUNS new sessions, the agent by hand, curl alone"
call "bench-warmup-$(cat /proc/sys/kernel/random/uuid)"
hyperfine -N --runs "$RUNS" --warmup 3 --export-json "$RUN/curl.json" \
  "curl -sf -o /dev/null -X POST -d {} http://127.0.0.1:$AGENT_PORT/invocations" >&2
hyperfine --runs "$RUNS" --warmup 2 --export-json "$RUN/cold-by-hand.json" "PORT=$((AGENT_PORT + 1)) PYTHON=$PYTHON $HERE/agents/cold_by_hand.sh" >&2
hyperfine --runs "$RUNS" --export-json "$RUN/cold-portcullis.json" \
  "curl -sf -o /dev/null -X POST '$INVOKE' -H 'Authorization: Bearer $KEY' -H \"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $new_session\" -d '{}'" >&2

log "warm: wrk -c1 for $DURATION, through the gateway and straight to the agent"
write_post_script
WARM_SESSION="bench-warm-$(cat /proc/sys/kernel/random/uuid)"
call "$WARM_SESSION"
wrk -t1 -c1 -d"$DURATION" --latency -s "$RUN/post.lua" "http://127.0.0.1:$AGENT_PORT/invocations" > "$RUN/warm-direct.txt"
wrk -t1 -c1 -d"$DURATION" --latency -s "$RUN/post.lua" -H "Authorization: Bearer $KEY" \
  -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $WARM_SESSION" "$INVOKE" > "$RUN/warm-portcullis.txt"

log "$SESSIONS idle sessions"
available() { awk '/MemAvailable/ {print $2}' /proc/meminfo; }
before=$(available)
opened=$(date +%s.%N)
seq 1 "$SESSIONS" | xargs -P 4 -I{} sh -c "curl -sf -o /dev/null -X POST '$INVOKE' -H 'Authorization: Bearer $KEY' -H 'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: bench-idle-{}-0123456789012345678901234567' -d '{}' || echo failed" > "$RUN/idle-open.txt"
opened=$(python3 -c "import time; print(round(time.time() - $opened, 2))")
sleep 3
after=$(available)
total=0; token=""
while :; do
  page=$(curl -sf "http://127.0.0.1:$GATEWAY_PORT/admin/sessions?state=active&maxResults=100${token:+&nextToken=$token}" -H "Authorization: Bearer $KEY")
  total=$((total + $(echo "$page" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')))
  token=$(echo "$page" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("nextToken",""))')
  [ -n "$token" ] || break
done
recall_started=$(date +%s.%N)
seq 1 "$SESSIONS" | xargs -P 4 -I{} sh -c "curl -sf -o /dev/null -X POST '$INVOKE' -H 'Authorization: Bearer $KEY' -H 'X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: bench-idle-{}-0123456789012345678901234567' -d '{}' || echo failed" > "$RUN/idle-recall.txt"
recalled=$(python3 -c "import time; print(round(time.time() - $recall_started, 2))")
printf '{"sessions": %s, "active": %s, "openSeconds": %s, "recallSeconds": %s, "openFailures": %s, "recallFailures": %s, "memoryKiB": %s}\n' \
  "$SESSIONS" "$total" "$opened" "$recalled" "$(grep -c failed "$RUN/idle-open.txt" || true)" "$(grep -c failed "$RUN/idle-recall.txt" || true)" \
  "$((before - after))" > "$RUN/idle.json"

log "teardown: StopRuntimeSession of the $SESSIONS idle sessions"
: > "$RUN/teardown.txt"
for i in $(seq 1 "$SESSIONS"); do
  curl -sf -o /dev/null -w '%{time_total}\n' -X POST "$STOP" -H "Authorization: Bearer $KEY" \
    -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: bench-idle-$i-0123456789012345678901234567" -d '{}' >> "$RUN/teardown.txt"
done
hyperfine -N --runs "$RUNS" --export-json "$RUN/ping.json" "curl -sf -o /dev/null http://127.0.0.1:$GATEWAY_PORT/ping" >&2
stop_gateway

log "warm pool of 2: first calls of new sessions, 0.5 s apart so the pool refills"
write_config 2
start_gateway
call "bench-pool-warmup-$(cat /proc/sys/kernel/random/uuid)"
sleep 2
hyperfine --runs "$RUNS" --prepare 'sleep 0.5' --export-json "$RUN/cold-pooled.json" \
  "curl -sf -o /dev/null -X POST '$INVOKE' -H 'Authorization: Bearer $KEY' -H \"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $new_session\" -d '{}'" >&2
stop_gateway

python3 - "$RUN" "$RESULTS_DIR/sandbox-$STAMP.md" "$HERE/lib" <<'PY'
import json, statistics, sys
run, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
import results

def hyper(name):
    return results.hyperfine(f"{run}/{name}.json")

def wrk(name):
    return results.wrk(f"{run}/{name}.txt")

curl, by_hand, cold, pooled, ping = (hyper(n) for n in ("curl", "cold-by-hand", "cold-portcullis", "cold-pooled", "ping"))
direct, through = wrk("warm-direct"), wrk("warm-portcullis")
idle = json.load(open(f"{run}/idle.json"))
teardown = sorted(float(line) * 1000 for line in open(f"{run}/teardown.txt") if line.strip())
td = {"median": statistics.median(teardown), "p90": teardown[int(len(teardown) * 0.9) - 1], "max": teardown[-1]}

lines = [
    "| cold start (new session id → first answer) | median | mean | p90 |",
    "|---|---:|---:|---:|",
    f"| curl to the running agent (the client's own cost) | {curl['median']:.1f} ms | {curl['mean']:.1f} ms | {curl['p90']:.1f} ms |",
    f"| agent started by hand, no sandbox, first answer | {by_hand['median']:.1f} ms | {by_hand['mean']:.1f} ms | {by_hand['p90']:.1f} ms |",
    f"| Portcullis: new session, sandbox cold start | {cold['median']:.1f} ms | {cold['mean']:.1f} ms | {cold['p90']:.1f} ms |",
    f"| Portcullis: new session, warm pool of 2 | {pooled['median']:.1f} ms | {pooled['mean']:.1f} ms | {pooled['p90']:.1f} ms |",
    f"| curl to the gateway's /ping | {ping['median']:.1f} ms | {ping['mean']:.1f} ms | {ping['p90']:.1f} ms |",
    "",
    f"Cold start minus curl's own time: {cold['median'] - curl['median']:.1f} ms (by hand: {by_hand['median'] - curl['median']:.1f} ms; "
    f"sandbox cost {cold['median'] - by_hand['median']:.1f} ms, {cold['median'] / by_hand['median']:.2f}x). "
    f"With the pool: {pooled['median'] - ping['median']:.1f} ms more than a /ping of the gateway.",
    "",
    "| warm call, wrk -t1 -c1, one session | p50 | p90 | p99 | req/s |",
    "|---|---:|---:|---:|---:|",
    f"| straight to the agent | {direct['p50']:.3f} ms | {direct['p90']:.3f} ms | {direct['p99']:.3f} ms | {direct['rate']:,.0f} |",
    f"| through Portcullis (API key, Cedar, sandbox netns) | {through['p50']:.3f} ms | {through['p90']:.3f} ms | {through['p99']:.3f} ms | {through['rate']:,.0f} |",
    "",
    f"Warm overhead at p50: {through['p50'] - direct['p50']:.3f} ms (non-2xx: {direct['non2xx']} direct, {through['non2xx']} through).",
    "",
    f"Idle sessions: {idle['sessions']} opened in {idle['openSeconds']} s (4 at a time); {idle['active']} active afterwards (with the earlier phases' sessions), "
    f"{idle['openFailures']} failed; host memory {idle['memoryKiB'] / 1024:.0f} MiB in all, "
    f"{idle['memoryKiB'] / idle['sessions'] / 1024:.1f} MiB per session; a second call to each: {idle['recallSeconds']} s, {idle['recallFailures']} failed.",
    "",
    f"Teardown (StopRuntimeSession, sandbox destroyed before the answer), {len(teardown)} sessions: median {td['median']:.1f} ms, "
    f"p90 {td['p90']:.1f} ms, max {td['max']:.1f} ms.",
]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
log "results: $RESULTS_DIR/sandbox-$STAMP.md"
