#!/usr/bin/env bash
# The microvm driver against the bubblewrap driver, the same agent and gateway build, measured in the same run:
#
#   first call   hyperfine: a new session id's first call (curl) — a bubblewrap sandbox's cold start, a VM restored
#                from its version's snapshot (the default), a VM booted (sandbox.microvm.snapshots: false)
#   snapshot     the version's first call under the microvm driver: booting the VM the snapshot is taken of
#   warm         wrk -c1 (one connection, one session): a call through the gateway into a VM vs into a bubblewrap sandbox
#   idle VMs     IDLE more sessions opened and left idle: QEMU's resident, proportional and private memory per VM
#                (smaps_rollup), over every VM then running (all idle, all restored from one snapshot)
#   teardown     StopRuntimeSession of each idle VM, curl's time_total
#   warm pool    sandbox.warmPoolSize 1: a new session's first call when a restored VM is waiting
#
#   sudo bench/microvm.sh          # release build, the guest, then everything; writes $RESULTS_DIR/microvm-<stamp>.md
#
# The agent is bench/agents/minimal (standard-library Python). Knobs: RUNS (8) BOOT_RUNS (4) IDLE (4) DURATION (10s)
# RUN_DIR (/tmp/portcullis-microvm-bench) RESULTS_DIR (bench/results) SKIP_BUILD=1
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RUN=${RUN_DIR:-/tmp/portcullis-microvm-bench}
RUNS=${RUNS:-8}
BOOT_RUNS=${BOOT_RUNS:-4}
IDLE=${IDLE:-4}
DURATION=${DURATION:-10s}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
BIN="$ROOT/.build-release/release/portcullis"
GATEWAY_PORT=19283

. "$HERE/lib/sessions.sh"

[ "$(id -u)" -eq 0 ] || { echo "run as root: both drivers give each session a uid of its own" >&2; exit 1; }
. "$ROOT/scripts/lib/debian-packages.sh"
ensure_debian_packages hyperfine wrk curl bubblewrap
"$ROOT/scripts/build-microvm-guest.sh" "$RUN-guest" >&2
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "release build"
  (cd "$ROOT" && swift build -c release --product portcullis --scratch-path .build-release >&2)
fi

trap stop_gateway EXIT
if curl -s -o /dev/null "http://127.0.0.1:$GATEWAY_PORT/"; then echo "port $GATEWAY_PORT is in use" >&2; exit 1; fi
rm -rf "$RUN" && mkdir -p "$RUN" "$RESULTS_DIR"
chmod 711 "$RUN"

write_config() {  # $1 = driver, $2 = warm pool size, $3 = microVM snapshots (true/false)
  cat > "$RUN/portcullis.yaml" <<CONF
server: {listen: 127.0.0.1:$GATEWAY_PORT}
store: {dataDirectory: $RUN/data}
policies: {directory: $ROOT/policies}
logging: {level: warning}
sandbox:
  driver: $1
  memoryMiB: 256
  cpus: 1
  writableMiB: 16
  startTimeoutSeconds: 120
  warmPoolSize: $2
  microvm: {guestDirectory: $RUN-guest, vcpus: 1, snapshots: ${3:-true}}
agents:
  - name: minimal
    code: {path: $HERE/agents/minimal, entryPoint: [main.py], runtime: PYTHON_3_11}
    idleRuntimeSessionTimeout: 3600
CONF
}

write_config bubblewrap 0 true
KEY=$(create_key)
write_post_script
new_session='bench-$(cat /proc/sys/kernel/random/uuid)'

first_calls() {  # $1 = name of the result, $2 = runs: new sessions' first calls
  hyperfine --runs "$2" --export-json "$RUN/cold-$1.json" \
    "curl -sf -o /dev/null -X POST '$INVOKE' -H 'Authorization: Bearer $KEY' -H \"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $new_session\" -d '{}'" >&2
}

measure() {  # $1 = driver: first calls, warm calls, and for microvm the snapshot, idle VMs, teardown and the pool
  local driver=$1
  write_config "$driver" 0 true
  start_gateway
  find_agent minimal
  log "$driver: the version's first call"
  curl -sf -o /dev/null -w '%{time_total}\n' -X POST "$INVOKE" -H "Authorization: Bearer $KEY" \
    -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: bench-warmup-$(cat /proc/sys/kernel/random/uuid)" -d '{}' > "$RUN/first-$driver.txt"
  log "$driver: $RUNS new sessions"
  first_calls "$driver" "$RUNS"
  log "$driver: warm, wrk -c1 for $DURATION"
  local warm="bench-warm-$(cat /proc/sys/kernel/random/uuid)"
  curl -sf -o /dev/null -X POST "$INVOKE" -H "Authorization: Bearer $KEY" -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $warm" -d '{}'
  wrk -t1 -c1 -d"$DURATION" --latency -s "$RUN/post.lua" -H "Authorization: Bearer $KEY" \
    -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $warm" "$INVOKE" > "$RUN/warm-$driver.txt"
  if [ "$driver" = microvm ]; then
    # Only the idle VMs run from here on.
    curl -sf -o /dev/null -X POST "$STOP" -H "Authorization: Bearer $KEY" -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $warm" -d '{}'
    log "microvm: $IDLE idle VMs"
    for i in $(seq 1 "$IDLE"); do
      curl -sf -o /dev/null -X POST "$INVOKE" -H "Authorization: Bearer $KEY" -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: bench-idle-$i-0123456789012345678901234567" -d '{}'
    done
    sleep 5
    python3 - "$RUN/idle.json" <<'PY'
import json, os, sys
rss = pss = private = 0
count = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if not open(f"/proc/{pid}/cmdline", "rb").read().startswith(b"/usr/bin/qemu-system-x86_64"):
            continue
        fields = {line.split(":")[0]: int(line.split()[1]) for line in open(f"/proc/{pid}/smaps_rollup") if line.split()[-1] == "kB"}
    except OSError:
        continue
    count += 1
    rss += fields["Rss"]; pss += fields["Pss"]; private += fields["Private_Clean"] + fields["Private_Dirty"]
json.dump({"vms": count, "rssKiB": rss, "pssKiB": pss, "privateKiB": private}, open(sys.argv[1], "w"))
PY
    : > "$RUN/teardown.txt"
    for i in $(seq 1 "$IDLE"); do
      curl -sf -o /dev/null -w '%{time_total}\n' -X POST "$STOP" -H "Authorization: Bearer $KEY" \
        -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: bench-idle-$i-0123456789012345678901234567" -d '{}' >> "$RUN/teardown.txt"
    done
    stop_gateway
    log "microvm: warm pool of 1, first calls of new sessions"
    write_config microvm 1 true
    start_gateway
    curl -sf -o /dev/null -X POST "$INVOKE" -H "Authorization: Bearer $KEY" -H "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: bench-pool-warmup-$(cat /proc/sys/kernel/random/uuid)" -d '{}'
    # Each run waits until the pool has restored its next VM.
    hyperfine --runs "$RUNS" --prepare 'sleep 3' --export-json "$RUN/cold-pooled.json" \
      "curl -sf -o /dev/null -X POST '$INVOKE' -H 'Authorization: Bearer $KEY' -H \"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id: $new_session\" -d '{}'" >&2
    hyperfine -N --runs 30 --export-json "$RUN/ping.json" "curl -sf -o /dev/null http://127.0.0.1:$GATEWAY_PORT/ping" >&2
    stop_gateway
    log "microvm without snapshots: $BOOT_RUNS new sessions, each VM booting"
    write_config microvm 0 false
    start_gateway
    first_calls microvm-boot "$BOOT_RUNS"
  fi
  stop_gateway
}

measure bubblewrap
measure microvm

python3 - "$RUN" "$RESULTS_DIR/microvm-$STAMP.md" "$HERE/lib" <<'PY'
import json, statistics, sys
run, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
import results

def hyper(name):
    return results.hyperfine(f"{run}/{name}.json")

def wrk(name):
    return results.wrk(f"{run}/{name}.txt")

cold_bw, restored, booted, pooled, ping = hyper("cold-bubblewrap"), hyper("cold-microvm"), hyper("cold-microvm-boot"), hyper("cold-pooled"), hyper("ping")
snapshot_ms = float(open(f"{run}/first-microvm.txt").read()) * 1000
warm_bw, warm_vm = wrk("warm-bubblewrap"), wrk("warm-microvm")
idle = json.load(open(f"{run}/idle.json"))
teardown = sorted(float(line) * 1000 for line in open(f"{run}/teardown.txt") if line.strip())
vms = max(idle["vms"], 1)

def row(label, figures, digits=0):
    return f"| {label} | {figures['median']:.{digits}f} ms | {figures['mean']:.{digits}f} ms | {figures['min']:.{digits}f} ms | {figures['max']:.{digits}f} ms |"

lines = [
    "| new session's first call (curl) | median | mean | min | max |",
    "|---|---:|---:|---:|---:|",
    row("bubblewrap sandbox, cold start", cold_bw),
    row("microVM restored from its version's snapshot", restored),
    row("microVM booted (snapshots: false)", booted),
    row("microVM, warm pool of 1 (a restored VM waiting)", pooled, 1),
    row("curl to the gateway's /ping", ping, 1),
    "",
    f"The version's first call under microvm (booting the VM its snapshot is taken of, then restoring one): {snapshot_ms:,.0f} ms.",
    f"Restored / bubblewrap cold start: {restored['median'] / cold_bw['median']:.1f}x; booted / restored: {booted['median'] / restored['median']:.1f}x. Pooled first call minus /ping: {pooled['median'] - ping['median']:.1f} ms.",
    "",
    "| warm call, wrk -t1 -c1, one session | p50 | p90 | p99 | req/s |",
    "|---|---:|---:|---:|---:|",
    f"| into a bubblewrap sandbox | {warm_bw['p50']:.3f} ms | {warm_bw['p90']:.3f} ms | {warm_bw['p99']:.3f} ms | {warm_bw['rate']:,.0f} |",
    f"| into a microVM (restored) | {warm_vm['p50']:.3f} ms | {warm_vm['p90']:.3f} ms | {warm_vm['p99']:.3f} ms | {warm_vm['rate']:,.0f} |",
    "",
    f"Warm overhead of the VM at p50: +{warm_vm['p50'] - warm_bw['p50']:.3f} ms ({warm_vm['p50'] / warm_bw['p50']:.1f}x).",
    "",
    f"VMs running, all idle and restored from one snapshot (the first-call runs' sessions plus the idle ones): {idle['vms']}; per VM RSS {idle['rssKiB'] / vms / 1024:.0f} MiB, PSS {idle['pssKiB'] / vms / 1024:.0f} MiB, private {idle['privateKiB'] / vms / 1024:.0f} MiB.",
    f"Teardown (StopRuntimeSession), {len(teardown)} VMs: median {statistics.median(teardown):.1f} ms, max {teardown[-1]:.1f} ms.",
]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
log "results: $RESULTS_DIR/microvm-$STAMP.md"
