#!/usr/bin/env bash
# Throughput and latency of Portcullis against a direct upstream and a plain nginx reverse proxy, measured in the
# same run on this machine (loopback only), plus gateway memory while proxying 100 MB bodies.
#
#   bench/run.sh                    # build release, start everything, measure, stop; writes $RESULTS_DIR/results-<stamp>.md
#
# Peers (all 127.0.0.1):
#   a 19081  upstream: nginx, 1 worker, answers POST /invocations with a fixed 100-byte body ("the agent")
#   b 19082  nginx plain reverse proxy to a (2 workers, upstream keepalive): the cost of proxying alone
#   c 19083  portcullis serve, API-key auth, a fixed session id, forwarding to a
#   d 19083  the same gateway, an RS256 bearer token on a customJWTAuthorizer runtime (verified-token cache warm)
#   e 19084  a second gateway with the verified-token cache off: every request verifies the RS256 signature
# Every Portcullis request is authorized by the shipped Cedar policies (policies/) and its decision logged.
# Knobs: DURATION (15s) ROUNDS (3) CONNS (64) LO_CONNS (8) WARMUP (3s) RUN_DIR (/tmp/portcullis-bench)
#        RESULTS_DIR (bench/results) SKIP_BUILD=1 (use the existing release build)
#        RECORD_ALLOWED (summary): policies.recordAllowed of the gateways (none | summary | full)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RUN=${RUN_DIR:-/tmp/portcullis-bench}
DURATION=${DURATION:-15s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
LO_CONNS=${LO_CONNS:-8}
WARMUP=${WARMUP:-3s}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW="$RESULTS_DIR/raw-$STAMP"
BIN="$ROOT/.build-release/release/portcullis"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

install_tools() {
  local missing=()
  for tool in nginx wrk curl; do command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: nginx-light wrk curl"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk curl >/dev/null
  fi
  python3 -c 'import cryptography' 2>/dev/null || { log "installing: python3-cryptography"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-cryptography >/dev/null; }
}

# ---------------------------------------------------------------- processes (stopped by recorded pid only)
PIDS=()
stop_all() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for file in "$RUN"/*.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file"); kill "$pid" 2>/dev/null || true; rm -f "$file"
  done
}
trap stop_all EXIT

wait_port() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  log "port $1 did not open"; exit 1
}

start_nginx() {
  local name=$1 conf=$2
  /usr/sbin/nginx -c "$conf" -p "$RUN/$name" -g "pid $RUN/$name.pid;"
}

write_configs() {
  mkdir -p "$RUN"/{upstream,proxy}/logs "$RUN/portcullis-cached" "$RUN/portcullis-uncached"
  head -c 100000000 /dev/zero > "$RUN/big.bin"
  body=$(printf '{"result":"%s"}' "$(printf 'x%.0s' $(seq 1 86))")   # 100 bytes
  cat > "$RUN/upstream.conf" <<CONF
worker_processes 1;
error_log $RUN/upstream/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:19081;
    location = /invocations { default_type application/json; return 200 '$body'; }
    location = /.well-known/agent-card.json { default_type application/octet-stream; alias $RUN/big.bin; }
    location = /jwks.json { default_type application/json; alias $RUN/jwks.json; }
    location / { return 200 'ok'; }
  }
}
CONF
  cat > "$RUN/proxy.conf" <<CONF
worker_processes 2;
error_log $RUN/proxy/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream agent { server 127.0.0.1:19081; keepalive 128; }
  server {
    listen 127.0.0.1:19082;
    location / { proxy_pass http://agent; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
  token=$(python3 "$HERE/mint_token.py" "$RUN/jwks.json" "http://127.0.0.1:19081/bench-idp" "api://bench")
  echo "$token" > "$RUN/token"
  for variant in cached uncached; do
    port=19083; cache=10000
    [ "$variant" = uncached ] && { port=19084; cache=0; }
    cat > "$RUN/portcullis-$variant.yaml" <<CONF
server:
  listen: "127.0.0.1:$port"
store:
  dataDirectory: $RUN/portcullis-$variant
policies:
  directory: $ROOT/policies
  recordAllowed: ${RECORD_ALLOWED:-summary}
logging:
  level: warning
auth:
  tokenCacheEntries: $cache
  issuers:
    - name: bench
      issuer: http://127.0.0.1:19081/bench-idp
      jwksUri: http://127.0.0.1:19081/jwks.json
      audiences: [api://bench]
agents:
  - name: bench
    endpoint: http://127.0.0.1:19081
  - name: bench_jwt
    endpoint: http://127.0.0.1:19081
    customJWTAuthorizer:
      discoveryUrl: http://127.0.0.1:19081/bench-idp/.well-known/openid-configuration
      allowedClients: [bench-client]
      allowedScopes: [agents:invoke]
CONF
  done
  printf 'wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n' > "$RUN/post.lua"
}

cpu_ticks() {  # utime + stime of the given processes (all their threads), in clock ticks
  local total=0 pid
  for pid in "$@"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
  echo "$total"
}

# ---------------------------------------------------------------- measurement
run_wrk() {  # peer conns url "proxy pids (space-separated) or empty" extra-header...
  local peer=$1 conns=$2 url=$3 pids=$4; shift 4
  local headers=()
  for header in "$@"; do headers+=(-H "$header"); done
  wrk -t2 -c"$conns" -d"$WARMUP" -s "$RUN/post.lua" "${headers[@]}" "$url" >/dev/null 2>&1
  local before=0 after=0
  # shellcheck disable=SC2086
  [ -n "$pids" ] && before=$(cpu_ticks $pids)
  local out="$RAW/$peer-c$conns-round$ROUND.txt"
  wrk -t2 -c"$conns" -d"$DURATION" --latency -s "$RUN/post.lua" "${headers[@]}" "$url" > "$out" 2>&1
  # shellcheck disable=SC2086
  [ -n "$pids" ] && after=$(cpu_ticks $pids)
  echo "cpu_ticks $((after - before))" >> "$out"
}

invocation_url() {  # port data-directory runtime-name
  local arn encoded
  arn=$(python3 - "$2/portcullis.sqlite" "$3" <<'PY'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute("select id from agent_runtime where name=?", (sys.argv[2],)).fetchone()
print(f"arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{row[0]}")
PY
)
  encoded=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$arn")
  echo "http://127.0.0.1:$1/runtimes/$encoded/invocations"
}

main() {
  install_tools
  mkdir -p "$RAW"
  stop_all
  rm -rf "$RUN"; mkdir -p "$RUN"
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building release (.build-release)"
    (cd "$ROOT" && swift build -c release --scratch-path .build-release --product portcullis >/dev/null)
  fi
  write_configs
  start_nginx upstream "$RUN/upstream.conf"; wait_port 19081
  start_nginx proxy "$RUN/proxy.conf"; wait_port 19082
  key=$("$BIN" apikey create --config "$RUN/portcullis-cached.yaml" --name bench --agent bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')
  "$BIN" serve --config "$RUN/portcullis-cached.yaml" 2> "$RUN/portcullis.log" &
  PIDS+=($!); gateway=$!; echo "$gateway" > "$RUN/portcullis.pid"
  "$BIN" serve --config "$RUN/portcullis-uncached.yaml" 2> "$RUN/portcullis-uncached.log" &
  PIDS+=($!); uncached=$!; echo "$uncached" > "$RUN/portcullis-uncached.pid"
  wait_port 19083; wait_port 19084
  token=$(cat "$RUN/token")
  gateway_url=$(invocation_url 19083 "$RUN/portcullis-cached" bench)
  jwt_url=$(invocation_url 19083 "$RUN/portcullis-cached" bench_jwt)
  uncached_url=$(invocation_url 19084 "$RUN/portcullis-uncached" bench_jwt)
  session="bench-session-$(cat /proc/sys/kernel/random/uuid)"
  proxy_pid=$(cat "$RUN/proxy.pid")
  check=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$gateway_url" -H "Authorization: Bearer $key" -d '{}')
  [ "$check" = 200 ] || { log "gateway check failed: $check"; exit 1; }
  for url in "$jwt_url" "$uncached_url"; do
    check=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url" -H "Authorization: Bearer $token" -d '{}')
    [ "$check" = 200 ] || { log "JWT check failed on $url: $check"; exit 1; }
  done

  for conns in "$CONNS" "$LO_CONNS"; do
    for ROUND in $(seq 1 "$ROUNDS"); do
      log "c$conns round $ROUND: direct, nginx, portcullis (API key, JWT cached, JWT uncached)"
      run_wrk a "$conns" http://127.0.0.1:19081/invocations ""
      # nginx runs a master and workers: count the workers' CPU.
      run_wrk b "$conns" http://127.0.0.1:19082/invocations "$(pgrep -P "$proxy_pid" | tr '\n' ' ')"
      run_wrk c "$conns" "$gateway_url" "$gateway" "Authorization: Bearer $key" "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $session"
      run_wrk d "$conns" "$jwt_url" "$gateway" "Authorization: Bearer $token" "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $session"
      run_wrk e "$conns" "$uncached_url" "$uncached" "Authorization: Bearer $token" "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $session"
    done
  done

  log "memory: 100 MB up and down through portcullis"
  rss_before=$(awk '/VmHWM/ {print $2}' "/proc/$gateway/status")
  up=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "$gateway_url" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$RUN/big.bin")
  down=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' \
    "$gateway_url/.well-known/agent-card.json" -H "Authorization: Bearer $key")
  rss_after=$(awk '/VmHWM/ {print $2}' "/proc/$gateway/status")
  printf 'upload %s\ndownload %s\nvmhwm_before_kb %s\nvmhwm_after_kb %s\n' "$up" "$down" "$rss_before" "$rss_after" > "$RAW/memory.txt"

  python3 "$HERE/summarize.py" "$RAW" "$CONNS" "$LO_CONNS" > "$RESULTS_DIR/results-$STAMP.md"
  cp "$RESULTS_DIR/results-$STAMP.md" "$RESULTS_DIR/latest.md"
  cat "$RESULTS_DIR/results-$STAMP.md"
}

main "$@"
