"""Reads what the session benchmarks' tools wrote: hyperfine's JSON exports and wrk's --latency text."""
import json
import re
import statistics


def hyperfine(path):
    """Milliseconds: median, mean, p90, min and max of one exported benchmark."""
    result = json.load(open(path))["results"][0]
    times = sorted(t * 1000 for t in result["times"])
    return {
        "median": statistics.median(times), "mean": statistics.mean(times), "p90": times[max(0, int(len(times) * 0.9) - 1)],
        "min": times[0], "max": times[-1],
    }


def wrk(path):
    """Milliseconds at p50, p90 and p99, requests per second, and the non-2xx count of one wrk run."""
    text = open(path).read()

    def ms(value, unit):
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    percentiles = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)$", text, re.M)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"p50": percentiles["50"], "p90": percentiles["90"], "p99": percentiles["99"], "rate": rate, "non2xx": int(non2xx.group(1)) if non2xx else 0}
