"""Overhead benchmark under production-like settings: one uvicorn worker, wrk on loopback.

For each endpoint (a one-query DB endpoint and a trivial one) and each configuration
(bare = OBSERVABILITY_ENABLED=false, full = every signal on with app-side sampling,
full-collector = every span exported for tail sampling in the collector, optional single
signals), it measures requests/s, p50/p99 latency and the server's CPU time per request
(utime+stime from /proc/<pid>/stat).

Production-like, because a kinder setup flatters the figures:
  - the app's stdout (JSON logs) goes to a file, as Docker's json-file driver captures it,
    and the app also writes its own LOG_FILE, as in compose;
  - spans go to a live OTLP/gRPC receiver in its own process (bench/otlp_sink.py);
  - each server runs alone: started, warmed up, measured on both endpoints, stopped, so no
    idle sibling's timers or GC share the CPU;
  - wrk -c16 (BENCH_CONNECTIONS).
Every round runs the configurations back to back, the order reversed every other round, so
slow drifts in background load hit them alike. Reported: the median over rounds, and the
ratio to bare as the median of per-round ratios (each against the bare run of the same
round). bare, full and full-collector run BENCH_ROUNDS rounds, single signals BENCH_EXTRA_ROUNDS.

    python -m bench.run            (scripts/bench.sh sets up services and calls this)
Env: BENCH_DURATION (s, default 5), BENCH_ROUNDS (7), BENCH_EXTRA_ROUNDS (2),
     BENCH_CONNECTIONS (16), BENCH_CONFIGS (comma list), BENCH_SAMPLE_RATE (0.05).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.appserver import start_app
from tests.support.http import get_json, request
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
EXTRA_ROUNDS = int(os.environ.get("BENCH_EXTRA_ROUNDS", "2"))
MAIN = ("bare", "full", "full-collector")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
RATE = os.environ.get("BENCH_SAMPLE_RATE", "0.05")
TICK = os.sysconf("SC_CLK_TCK")

OFF = {"OBSERVABILITY_ENABLED": "false"}
ALL_ON = {
    "OBSERVABILITY_ENABLED": "true",
    "METRICS_ENABLED": "true",
    "TRACING_ENABLED": "true",
    "ACCESS_LOG_ENABLED": "true",
    "LOG_SAMPLING_ENABLED": "true",
}
ONLY = {"METRICS_ENABLED": "false", "TRACING_ENABLED": "false", "ACCESS_LOG_ENABLED": "false"}
CONFIGS: dict[str, dict[str, str]] = {
    "bare": OFF,
    "full": {**ALL_ON, "TRACE_SAMPLING_MODE": "app"},
    "full-collector": {**ALL_ON, "TRACE_SAMPLING_MODE": "collector"},
    "metrics-only": {**ALL_ON, **ONLY, "METRICS_ENABLED": "true"},
    "tracing-only": {**ALL_ON, **ONLY, "TRACING_ENABLED": "true"},
    "accesslog-only": {**ALL_ON, **ONLY, "ACCESS_LOG_ENABLED": "true"},
}
ENDPOINTS = {"db": "/api/v1/users/{user_id}", "trivial": "/internal/ping"}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def parse_wrk(out: str) -> dict[str, float]:
    def dur(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = dur(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = dur(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "requests": total, "p50": p50, "p99": p99, "errors": int(non2xx.group(1)) if non2xx else 0}


def start_server(name: str, env_extra: dict[str, str], otlp_port: int, logdir: str) -> tuple[subprocess.Popen, int]:
    env = {
        "TRACE_SAMPLE_RATE": RATE,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_port}",
        "LOG_FILE": f"{logdir}/{name}.log",
        **env_extra,
    }
    # `python -m app` as in the image: one worker, the kit's access log only; stdout captured
    # to a file as a container runtime does (a pipe nobody reads would block, /dev/null is free).
    with open(f"{logdir}/{name}.stdout", "a") as stdout:  # the child keeps its own descriptor
        return start_app(env, output=stdout)


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(port: int, pid: int, path: str, duration: float) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}{path}"
    subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", "-d1s", url], capture_output=True)  # warm-up
    before = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{int(duration)}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = parse_wrk(out)
    result["cpu_us"] = (cpu_seconds(pid) - before) / max(result["requests"], 1) * 1e6
    return result


def ensure_user(port: int) -> int:
    items = get_json(f"http://127.0.0.1:{port}/api/v1/users", limit="1")["items"]
    if items:
        return int(items[0]["id"])
    reply = request(
        "POST", f"http://127.0.0.1:{port}/api/v1/users", {"email": "bench@example.com", "full_name": "Bench"}
    )
    assert reply.status == 201, reply
    return int(reply.data()["id"])


def main() -> None:
    names = [n for n in os.environ.get("BENCH_CONFIGS", ",".join(MAIN)).split(",") if n]
    logdir = tempfile.mkdtemp(prefix="bench-logs-")
    otlp_port = free_port()
    sink_count = f"{logdir}/spans.count"
    sink = subprocess.Popen([PY, str(ROOT / "bench" / "otlp_sink.py"), str(otlp_port), sink_count])
    load_before = os.getloadavg()
    started = time.monotonic()
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        proc, port = start_server("setup", OFF, otlp_port, logdir)
        user_id = ensure_user(port)
        stop_server(proc)
        for rnd in range(ROUNDS):
            active = [n for n in names if n in MAIN or rnd < EXTRA_ROUNDS]
            order = active if rnd % 2 == 0 else list(reversed(active))
            for name in order:
                proc, port = start_server(name, CONFIGS[name], otlp_port, logdir)
                try:
                    for endpoint, path in ENDPOINTS.items():
                        r = measure(port, proc.pid, path.format(user_id=user_id), DURATION)
                        r["round"] = rnd
                        results.setdefault((endpoint, name), []).append(r)
                        print(
                            f"round {rnd + 1} {endpoint:<7} {name:<15} {r['rps']:8.0f} rps "
                            f"p50 {r['p50']:6.2f} ms p99 {r['p99']:6.2f} ms cpu {r['cpu_us']:6.0f} us/req",
                            flush=True,
                        )
                finally:
                    stop_server(proc)
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
    report(results, names, load_before, time.monotonic() - started, sink_count)


def report(results, names, load_before, elapsed, sink_count) -> None:
    print()
    print(
        f"wrk -t1 -c{CONNECTIONS} -d{DURATION}s; rounds: {ROUNDS} ({', '.join(MAIN)}), {EXTRA_ROUNDS} (others); "
        f"medians; TRACE_SAMPLE_RATE={RATE}; 1 uvicorn worker, each server alone; stdout to a file; "
        f"live OTLP sink; {os.cpu_count()} CPUs"
    )
    print(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; took {elapsed:.0f}s")
    header = (
        f"{'endpoint':<8} {'config':<15} {'rps':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu us/req':>10} "
        f"{'rps/bare':>8} {'+cpu us':>8}"
    )
    print(header)
    print("-" * len(header))
    for endpoint in ENDPOINTS:
        bare = {r["round"]: r for r in results.get((endpoint, "bare"), [])}
        for name in names:
            rs = results[(endpoint, name)]
            rps = statistics.median(r["rps"] for r in rs)
            cpu = statistics.median(r["cpu_us"] for r in rs)
            paired = [r for r in rs if r["round"] in bare]
            ratio = extra = "       -"
            if paired:
                ratio = f"{statistics.median(r['rps'] / bare[r['round']]['rps'] for r in paired):8.2f}"
                extra = f"{statistics.median(r['cpu_us'] - bare[r['round']]['cpu_us'] for r in paired):+8.0f}"
            errors = sum(r["errors"] for r in rs)
            print(
                f"{endpoint:<8} {name:<15} {rps:8.0f} {statistics.median(r['p50'] for r in rs):7.2f} "
                f"{statistics.median(r['p99'] for r in rs):7.2f} {cpu:10.0f} {ratio} {extra}"
                + (f"  ({errors} non-2xx!)" if errors else "")
            )
    with contextlib.suppress(OSError):
        print(f"spans received by the OTLP sink: {Path(sink_count).read_text()}")


if __name__ == "__main__":
    main()
