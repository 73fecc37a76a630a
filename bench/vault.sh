#!/usr/bin/env bash
# The token vault's read path against the gateway's own /ping, in the same run on this machine (loopback only):
# GetResourceOauth2Token for a vaulted, valid client-credentials (M2M) token — authenticate the caller (API key),
# open the workload access token, look up the workload, the Cedar decision, read and open the sealed token, audit.
#
#   bench/vault.sh        # build release, start a gateway and a token endpoint, measure, stop; writes $RESULTS_DIR/vault-<stamp>.md
#
# Loads (wrk): "paced" — 4 connections each waiting 8 ms between requests, about 500 requests/s in all, for the
# latency at that rate (wrk2 is not packaged here; the pause per request is wrk's own `delay()`); "max" — 16
# connections flat out, for throughput. Knobs: DURATION (10s) ROUNDS (3) LOADS ("paced max") TARGETS ("ping control vault") RUN_DIR RESULTS_DIR
# SKIP_BUILD=1 BIN (another build of portcullis, for an A/B run)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RUN=${RUN_DIR:-/tmp/portcullis-vault-bench}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
BIN=${BIN:-"$ROOT/.build-release/release/portcullis"}
PORT=19090
TOKEN_PORT=19091

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

for tool in wrk curl; do
  command -v "$tool" >/dev/null 2>&1 || { log "installing: wrk curl"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk curl >/dev/null; break; }
done

PIDS=()
stop_all() { for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; }
trap stop_all EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building release"
  (cd "$ROOT" && swift build -c release --product portcullis --scratch-path .build-release >/dev/null)
fi

rm -rf "$RUN" && mkdir -p "$RUN" "$RESULTS_DIR"

# The authorization server: a client-credentials token endpoint that answers once (the vault keeps the token).
cat > "$RUN/token_endpoint.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Token(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"access_token": "bench-m2m-token", "token_type": "bearer", "expires_in": 86400}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), Token).serve_forever()
PY
python3 "$RUN/token_endpoint.py" $TOKEN_PORT & PIDS+=($!)

cat > "$RUN/portcullis.yaml" <<CONF
server:
  listen: "127.0.0.1:$PORT"
store:
  dataDirectory: $RUN/data
policies:
  directory: $ROOT/policies
sandbox:
  driver: none
auth:
  workloadTokenSeconds: 3600
logging:
  level: warning
CONF
"$BIN" keys generate --config "$RUN/portcullis.yaml" >/dev/null
KEY=$("$BIN" apikey create --config "$RUN/portcullis.yaml" --name bench --admin --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')
"$BIN" serve --config "$RUN/portcullis.yaml" 2>"$RUN/gateway.log" & PIDS+=($!)
GATEWAY_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/ping" && break; sleep 0.1; done

call() {
  curl -sf -X POST "http://127.0.0.1:$PORT/identities/$1" -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -d "$2"
}
call CreateWorkloadIdentity '{"name": "bench-workload"}' >/dev/null
call CreateOauth2CredentialProvider "{\"name\": \"bench\", \"credentialProviderVendor\": \"CustomOauth2\", \"tags\": {\"portcullis:workloads\": \"bench-workload\"},
  \"oauth2ProviderConfigInput\": {\"customOauth2ProviderConfig\": {\"clientId\": \"bench\", \"clientSecret\": \"bench-secret\",
  \"oauthDiscovery\": {\"authorizationServerMetadata\": {\"issuer\": \"http://127.0.0.1:$TOKEN_PORT\",
  \"authorizationEndpoint\": \"http://127.0.0.1:$TOKEN_PORT/authorize\", \"tokenEndpoint\": \"http://127.0.0.1:$TOKEN_PORT/token\"}}}}}" >/dev/null
WAT=$(call GetWorkloadAccessToken '{"workloadName": "bench-workload"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["workloadAccessToken"])')
BODY="{\"workloadIdentityToken\": \"$WAT\", \"resourceCredentialProviderName\": \"bench\", \"scopes\": [\"read\"], \"oauth2Flow\": \"M2M\"}"
FIRST=$(call oauth2/token "$BODY")
echo "$FIRST" | grep -q bench-m2m-token || { log "the vault did not hand out the token: $FIRST"; exit 1; }

# A wrk script posting `body` with the admin key, and its paced twin.
post_script() {
  local name=$1 body=$2
  cat > "$RUN/$name.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/json"
LUA
  cat "$RUN/$name.lua" "$RUN/paced.lua" > "$RUN/$name-paced.lua"
}
cat > "$RUN/paced.lua" <<'LUA'
function delay() return 8 end
LUA
post_script vault "$BODY"
# "control": an authenticated, authorized POST with a JSON body that reads nothing from the vault (GetTokenVault) —
# what any identity API call costs, so the vault's own share shows.
post_script control '{}'

# wrk --latency output → "requests/s p50 p99" (milliseconds).
measure() {
  local url=$1 conns=$2 script=${3:-} threads=${4:-2}
  local args=(-t "$threads" -c "$conns" -d "$DURATION" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "$url" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)" % label, text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print("%.0f %.3f %.3f %s" % (rate, ms("50%"), ms("99%"), errors.group(1) if errors else "0"))'
}

REPORT="$RESULTS_DIR/vault-$STAMP.md"
{
  echo "# Token vault read path — $STAMP"
  echo
  echo "\`bench/vault.sh\` (DURATION=$DURATION, ROUNDS=$ROUNDS) on $(nproc) cores; gateway CPU from /proc over each round."
  echo
  echo "| round | load | target | requests/s | p50 ms | p99 ms | non-2xx | gateway CPU µs/request |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$REPORT"
ticks() { awk '{print $14 + $15}' "/proc/$GATEWAY_PID/stat"; }
for round in $(seq 1 "$ROUNDS"); do
  for load in ${LOADS:-paced max}; do
    for target in ${TARGETS:-ping control vault}; do
      # Paced: one wrk thread is plenty for 500 requests/s and leaves the second core to the gateway.
      url="http://127.0.0.1:$PORT/ping"; script="$RUN/paced.lua"; conns=4; threads=1
      [ "$target" = vault ] && { url="http://127.0.0.1:$PORT/identities/oauth2/token"; script="$RUN/vault-paced.lua"; }
      [ "$target" = control ] && { url="http://127.0.0.1:$PORT/identities/get-token-vault"; script="$RUN/control-paced.lua"; }
      if [ "$load" = max ]; then
        conns=16; script=""; threads=2
        [ "$target" = vault ] && script="$RUN/vault.lua"
        [ "$target" = control ] && script="$RUN/control.lua"
      fi
      before=$(ticks)
      read -r rate p50 p99 errors < <(measure "$url" "$conns" "$script" "$threads")
      after=$(ticks)
      seconds=${DURATION%s}
      cpu=$(python3 -c "print('%.0f' % (($after - $before) / $(getconf CLK_TCK) * 1e6 / max(1, $rate * $seconds)))")
      echo "| $round | $load ($conns conns) | $target | $rate | $p50 | $p99 | $errors | $cpu |" >> "$REPORT"
      log "round $round $load $target: $rate req/s, p50 $p50 ms, p99 $p99 ms, $errors errors, $cpu µs CPU/request"
    done
  done
done
echo >> "$REPORT"
log "wrote $REPORT"
cat "$REPORT"
