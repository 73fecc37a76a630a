"""Summarises bench/run.sh's raw wrk output: medians over rounds, ratios against the same run's baselines."""
import glob
import os
import re
import statistics
import sys

raw, conns, lo_conns = sys.argv[1], sys.argv[2], sys.argv[3]
ticks_per_second = os.sysconf("SC_CLK_TCK")
names = {
    "a": "direct → upstream (nginx)",
    "b": "nginx reverse proxy, no auth",
    "c": "portcullis, API key + forwarding",
    "d": "portcullis, RS256 JWT (token cache warm)",
    "e": "portcullis, RS256 JWT (token cache off)",
}
peers = [peer for peer in "abcde" if glob.glob(f"{raw}/{peer}-c*-round*.txt")]


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    ticks = int(re.search(r"cpu_ticks (\d+)", text).group(1))
    return {"rps": rps, "p50": p50, "p99": p99, "errors": int(errors.group(1)) if errors else 0,
            "cpu_us": ticks / ticks_per_second * 1e6 / requests if ticks else None}


def table(c):
    results = {}
    for peer in peers:
        runs = [parse(p) for p in sorted(glob.glob(f"{raw}/{peer}-c{c}-round*.txt"))]
        results[peer] = {k: statistics.median([r[k] for r in runs if r[k] is not None]) if any(r[k] is not None for r in runs) else None
                         for k in ("rps", "p50", "p99", "cpu_us")}
        results[peer]["errors"] = sum(r["errors"] for r in runs)
        results[peer]["all_rps"] = [round(r["rps"]) for r in runs]
    print(f"\n**-c{c}** (median of {len(runs)} rounds; wrk -t2, 2 cores shared by wrk, upstream and proxy)\n")
    print("| peer | req/s | vs direct | vs nginx proxy | p50 | p99 | proxy CPU µs/req | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for peer in peers:
        r = results[peer]
        cpu = f"{r['cpu_us']:.0f}" if r["cpu_us"] else "–"
        print(f"| {peer} {names[peer]} | {r['rps']:,.0f} | {r['rps'] / results['a']['rps']:.2f}x | "
              f"{r['rps'] / results['b']['rps']:.2f}x | {r['p50']:.2f} ms | {r['p99']:.2f} ms | {cpu} | {r['errors']} |")
    print(f"\nPer-round req/s: " + "; ".join(f"{p}: {results[p]['all_rps']}" for p in peers))
    added = results["c"]["p99"] - results["a"]["p99"]
    print(f"\nPortcullis reaches **{results['c']['rps'] / results['b']['rps']:.0%}** of the nginx proxy's requests/s; "
          f"p99 added over direct: **{added:.2f} ms** (nginx proxy adds {results['b']['p99'] - results['a']['p99']:.2f} ms).")
    if "d" in results and "e" in results:
        cost = 1 - results["d"]["rps"] / results["c"]["rps"]
        verify = (results["e"]["cpu_us"] or 0) - (results["d"]["cpu_us"] or 0)
        print(f"\nJWT with the token cache costs **{cost:.1%}** of API-key throughput (d vs c); without the cache each "
              f"request spends **{verify:.0f} µs** more CPU (e − d), the cold RS256 verification on one core.")


print("# Portcullis benchmark\n")
print(f"Raw output: `{raw}`.")
table(conns)
table(lo_conns)
memory = dict(line.split(" ", 1) for line in open(f"{raw}/memory.txt").read().strip().splitlines())
growth = (int(memory["vmhwm_after_kb"]) - int(memory["vmhwm_before_kb"])) / 1024
print(f"\n**100 MB bodies**: upload `{memory['upload']}` (status, seconds), download `{memory['download']}` "
      f"(status, bytes, seconds); gateway VmHWM {int(memory['vmhwm_before_kb']) / 1024:.1f} MB → "
      f"{int(memory['vmhwm_after_kb']) / 1024:.1f} MB (growth **{growth:.1f} MB**).")
