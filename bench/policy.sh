#!/usr/bin/env bash
# The cost of authorization, outside the gateway: the Cedar engine over 1,000 policies (parse time, decision
# latency) and one gateway request's authorization with the shipped policies (entities, decision, log JSON).
#
#   bench/policy.sh        # release build into .build-release, then both benchmarks
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
swift build -c release --scratch-path .build-release --product CedarBench >/dev/null
swift build -c release --scratch-path .build-release --product PolicyBench >/dev/null
echo "== Cedar: 1,000 policies"
.build-release/release/CedarBench
echo "== A gateway request's authorization (policies/)"
.build-release/release/PolicyBench policies
