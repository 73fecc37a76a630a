# Sourced by the session benchmarks (sandbox.sh, microvm.sh): a gateway from the release build on GATEWAY_PORT
# with RUN/portcullis.yaml (written by the caller), its log in RUN/portcullis.log, and the minimal agent's URLs.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

GATEWAY_PID=""
start_gateway() {
  "$BIN" serve --config "$RUN/portcullis.yaml" 2>> "$RUN/portcullis.log" &
  GATEWAY_PID=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$GATEWAY_PORT/ping"; do
    kill -0 "$GATEWAY_PID" 2>/dev/null || { log "the gateway did not start: see $RUN/portcullis.log"; exit 1; }
    sleep 0.1
  done
}

stop_gateway() {
  if [ -n "$GATEWAY_PID" ]; then
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
    GATEWAY_PID=""
  fi
}

# An admin API key for the configured data directory (before the gateway starts).
create_key() {
  "$BIN" apikey create --config "$RUN/portcullis.yaml" --name bench --agent '*' --admin --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])'
}

# Sets INVOKE and STOP for the runtime named $1 of the running gateway.
find_agent() {
  local arn encoded
  arn=$(curl -sf -X POST "http://127.0.0.1:$GATEWAY_PORT/runtimes/" -H "Authorization: Bearer $KEY" -d '{}' \
    | python3 -c 'import json,sys; print([r["agentRuntimeArn"] for r in json.load(sys.stdin)["agentRuntimes"] if r["agentRuntimeName"]==sys.argv[1]][0])' "$1")
  encoded=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$arn")
  INVOKE="http://127.0.0.1:$GATEWAY_PORT/runtimes/$encoded/invocations"
  STOP="http://127.0.0.1:$GATEWAY_PORT/runtimes/$encoded/stopruntimesession"
}

# A POST body for wrk.
write_post_script() {
  cat > "$RUN/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
LUA
}
