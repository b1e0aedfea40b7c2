"""What the observability stack spends per 1,000 app requests (a benchmark, not a test).

    bench/stack_cost.py ──HTTP (traffic.py's mix, paced)──> app ──logs, spans──> Alloy
                                                             ^ scrape             |
    CPU: /proc/<pid>/stat (utime+stime) of each      Prometheus <── alloy-exporters
    service's process tree, before and after

With the native stack up (`make up`, default sampling, the always-on traffic running), it reads the
CPU time of Alloy, alloy-exporters, Prometheus (and the app, for scale) over an idle window (only
the always-on traffic) and over a load window of a fixed number of requests, and the RSS of each
at the end. The request count is the app's own http_requests_total (read from its /metrics before
and after), so the always-on traffic is counted too. HAProxy (`lb`) is listed for scale when it
runs. Reported per service:

    total   CPU seconds per 1,000 requests in the load window (what a site at that rate pays)
    extra   the same minus the idle rate for as long: the per-request (marginal) part
    idle    CPU % with only the always-on traffic (scrapes, rule evaluation, timers)
    RSS     resident memory at the end, MiB, and its anonymous part (heap, stacks)

Then it asks Prometheus how many samples each exporter job returns per scrape and how many are
stored after metric_relabel_configs: the fixed load the exporters put on Prometheus.

Comparing Alloy configs (before and after a change) on one running stack, in alternating rounds:

    bench/stack_cost.py --alloy-config before=/tmp/old.alloy --alloy-config after=alloy/config.alloy --rounds 2

Each round writes a variant's text over alloy/config.alloy (the file Alloy reads), reloads Alloy
(POST /-/reload) and measures; the original text is put back at the end. Alternating on one
stack matters on a shared 2-core machine: a neighbour's load hits both variants alike, where two
separate runs would differ by more than the change. Each window also reports what Alloy shipped
(log entries, spans) and its Go heap in use; RSS barely moves between variants of one process.

Natively Loki and Tempo do not run: start the stack with bench/sinks.compose.yml (stand-ins that
accept the pushes), or Alloy's CPU is mostly its failing exports' retries.

Env: BENCH_STACK_REQUESTS (3000), BENCH_STACK_RPS (40), BENCH_STACK_IDLE_S (30),
     BENCH_STACK_SETTLE_S (20, after each Alloy reload),
     BENCH_APP_URL (http://127.0.0.1:8000), BENCH_PROMETHEUS_URL (http://127.0.0.1:9090),
     BENCH_ALLOY_URL (http://127.0.0.1:12345), OBS_NATIVE_STATE (/var/tmp/obs-native).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "loadtest"))
import traffic  # noqa: E402 (loadtest/traffic.py: the same request mix as the always-on traffic)

SERVICES = ("alloy", "alloy-exporters", "prometheus", "app")
OPTIONAL = ("lb",)  # HAProxy in front of the app replicas, when the compose file has it
STATE = Path(os.environ.get("OBS_NATIVE_STATE", "/var/tmp/obs-native")) / "state.json"
APP = os.environ.get("BENCH_APP_URL", "http://127.0.0.1:8000")
PROMETHEUS = os.environ.get("BENCH_PROMETHEUS_URL", "http://127.0.0.1:9090")
ALLOY = os.environ.get("BENCH_ALLOY_URL", "http://127.0.0.1:12345")
ALLOY_CONFIG = ROOT / "alloy" / "config.alloy"  # mounted at /etc/alloy/config.alloy
REQUESTS = int(os.environ.get("BENCH_STACK_REQUESTS", "3000"))
RPS = float(os.environ.get("BENCH_STACK_RPS", "40"))
IDLE_S = float(os.environ.get("BENCH_STACK_IDLE_S", "30"))
SETTLE_S = float(os.environ.get("BENCH_STACK_SETTLE_S", "20"))
TICK = os.sysconf("SC_CLK_TCK")


def roots() -> dict[str, list[int]]:
    """Service -> the PIDs the native runner recorded (one per replica)."""
    services = json.loads(STATE.read_text())["services"]
    found: dict[str, list[int]] = {}
    for name, info in services.items():
        base = info.get("service") or re.sub(r"-\d+$", "", name)  # app-1, app-2: replicas of app
        pid = (info.get("process") or {}).get("pid")
        if base in SERVICES + OPTIONAL and pid:
            found.setdefault(base, []).append(int(pid))
    missing = [s for s in SERVICES if s not in found]
    if missing:
        sys.exit(f"stack_cost: not running natively: {missing} (make up first; {STATE})")
    absent = [peer for peer in ("loki", "tempo") if not (services.get(peer, {}).get("process") or {}).get("pid")]
    if absent:
        print(
            f"note: {' and '.join(absent)} not running, so Alloy's exports to them fail and retry; for "
            "Alloy's real cost start the stack with bench/sinks.compose.yml (README: What the stack costs)"
        )
    return found


def tree(pids: list[int]) -> list[int]:
    """The processes and all their live descendants (wrappers exec, but be safe)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in tree(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / TICK


def rss_mib(pids: list[int]) -> tuple[float, float]:
    """(RSS, its anonymous part) in MiB. The rest is file-backed: mostly the program's own
    binary (Alloy's is 400 MB, and two Alloy processes share those pages in the page cache)."""
    rss = anon = 0
    for pid in tree(pids):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss += int(fields.get("VmRSS", "0 kB").split()[0])
        anon += int(fields.get("RssAnon", "0 kB").split()[0])
    return rss / 1024, anon / 1024


def exporter_samples() -> dict[str, tuple[float, float]]:
    """Exporter job -> (samples per scrape as returned, as stored after metric_relabel_configs)."""
    out: dict[str, list[float]] = {}
    for i, metric in enumerate(("scrape_samples_scraped", "scrape_samples_post_metric_relabeling")):
        query = urllib.parse.quote(f'{metric}{{job=~"postgres|redis"}}')
        with urllib.request.urlopen(f"{PROMETHEUS}/api/v1/query?query={query}", timeout=10) as resp:
            for row in json.load(resp)["data"]["result"]:
                out.setdefault(row["metric"]["job"], [0.0, 0.0])[i] = float(row["value"][1])
    return {job: (v[0], v[1]) for job, v in sorted(out.items())}


def alloy_counters() -> dict[str, float]:
    """What Alloy shipped so far (log entries, spans, failures) and its Go heap in use."""
    wanted = {
        "loki_write_sent_entries_total": "entries",
        "loki_write_dropped_entries_total": "entries dropped",
        "otelcol_exporter_sent_spans_total": "spans",
        "otelcol_exporter_send_failed_spans_total": "spans failed",
        "go_memstats_heap_inuse_bytes": "heap",
    }
    out = dict.fromkeys(wanted.values(), 0.0)
    with urllib.request.urlopen(f"{ALLOY}/metrics", timeout=10) as resp:
        for family in text_string_to_metric_families(resp.read().decode()):
            for sample in family.samples:
                if sample.name in wanted:
                    out[wanted[sample.name]] += sample.value
    return out


def use_alloy_config(text: str) -> None:
    """Alloy reads the file again on POST /-/reload and answers 200 only once it loaded."""
    ALLOY_CONFIG.write_text(text)
    request = urllib.request.Request(f"{ALLOY}/-/reload", method="POST")
    with urllib.request.urlopen(request, timeout=60) as resp:
        if resp.status != 200:
            sys.exit(f"stack_cost: Alloy did not reload: {resp.status} {resp.read()[:500]!r}")
    # A reload rebuilds the changed components (new clients, queues, tailers): measured right
    # after it, that work landed in the idle window and read as 0.1-0.2 % of a core more.
    time.sleep(SETTLE_S)


def served() -> float:
    """Requests the app counted. Parsed, not matched by a regex: label values hold braces
    (endpoint="/api/v1/items/{item_id}"), and a `{[^}]*}` pattern silently skipped those lines,
    so about half the requests went uncounted and the per-request figures came out twice too high."""
    with urllib.request.urlopen(f"{APP}/metrics", timeout=10) as resp:
        families = text_string_to_metric_families(resp.read().decode())
        return sum(s.value for f in families for s in f.samples if s.name == "http_requests_total")


SENT: Counter[str] = Counter()  # what this benchmark's clients got back, by status


def load(n: int, rps: float, threads: int = 4) -> None:
    """n calls of the traffic mix, Poisson-paced at rps in total."""
    done = threading.Semaphore(n)
    stop = threading.Event()
    clients = [traffic.Client(APP) for _ in range(threads)]

    def worker(client: traffic.Client) -> None:
        calls, weights = zip(*traffic.mix(client), strict=True)
        while done.acquire(blocking=False):
            random.choices(calls, weights)[0]()
            stop.wait(random.expovariate(rps / threads))

    workers = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for c in clients:
        SENT.update(c.status)


def window(pids: dict[str, list[int]], action) -> tuple[dict[str, float], float, float]:
    before = {s: cpu_s(p) for s, p in pids.items()}
    requests, started = served(), time.monotonic()
    action()
    elapsed = time.monotonic() - started
    requests = served() - requests
    return {s: cpu_s(p) - before[s] for s, p in pids.items()}, elapsed, requests


def measure(pids: dict[str, list[int]], label: str) -> dict[str, tuple[float, float, float, float]]:
    """One idle window and one load window; prints them, returns service -> (total, extra, idle %, RSS)."""
    SENT.clear()
    idle, idle_s, idle_req = window(pids, lambda: time.sleep(IDLE_S))
    shipped = alloy_counters()
    busy, busy_s, busy_req = window(pids, lambda: load(REQUESTS, RPS))
    after = alloy_counters()
    print(
        f"{label}idle window {idle_s:.0f} s ({idle_req:.0f} requests, always-on traffic only); "
        f"load window {busy_s:.0f} s, {busy_req:.0f} requests ({busy_req / busy_s:.1f} req/s); "
        f"this benchmark sent {sum(SENT.values())} ({dict(SENT)})"
    )
    print(
        "  Alloy shipped in the load window: "
        + ", ".join(f"{k} {after[k] - shipped[k]:.0f}" for k in after if k != "heap")
        + f"; Go heap in use {after['heap'] / 2**20:.0f} MiB"
    )
    print(f"{'service':<17}{'total s/1k req':>15}{'extra s/1k req':>15}{'idle CPU %':>11}{'RSS MiB':>9}{'anon':>6}")
    rows = {}
    for s in [*SERVICES, *(o for o in OPTIONAL if o in pids)]:
        total = busy[s] / busy_req * 1000
        extra = (busy[s] - idle[s] / idle_s * busy_s) / busy_req * 1000
        rss, anon = rss_mib(pids[s])
        print(f"{s:<17}{total:>15.3f}{extra:>15.3f}{100 * idle[s] / idle_s:>11.1f}{rss:>9.0f}{anon:>6.0f}")
        rows[s] = (total, extra, 100 * idle[s] / idle_s, rss)
    rows["alloy heap MiB"] = (after["heap"] / 2**20,) * 4
    return rows


def spread(values: list[float], fmt: str = ".3f") -> str:
    low, high = min(values), max(values)
    return f"{low:{fmt}}" if f"{low:{fmt}}" == f"{high:{fmt}}" else f"{low:{fmt}}–{high:{fmt}}"


def compare(pids: dict[str, list[int]], variants: list[tuple[str, str]], rounds: int) -> None:
    """Alternating rounds of each Alloy config on the running stack; the original file is restored."""
    original = ALLOY_CONFIG.read_text()
    results: dict[str, list[dict[str, tuple[float, float, float, float]]]] = {name: [] for name, _ in variants}
    try:
        for r in range(1, rounds + 1):
            for name, text in variants:
                use_alloy_config(text)
                results[name].append(measure(pids, f"[round {r}, {name}] "))
    finally:
        ALLOY_CONFIG.write_text(original)
        use_alloy_config(original)
    print(f"\nsummary over {rounds} rounds (min–max): total s/1k req | idle CPU % | RSS MiB")
    for s in results[variants[0][0]][0]:
        cells = []
        for name, _ in variants:
            runs = results[name]
            if s == "alloy heap MiB":
                cells.append(f"{name}: {spread([run[s][0] for run in runs], '.0f')}")
            else:
                total = spread([run[s][0] for run in runs])
                idle = spread([run[s][2] for run in runs], ".1f")
                cells.append(f"{name}: {total} | {idle} | {spread([run[s][3] for run in runs], '.0f')}")
        print(f"{s:<17}" + "    ".join(cells))


def main() -> int:
    cli = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    cli.add_argument(
        "--alloy-config",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="an Alloy config to measure (repeat: alternating rounds on the running stack)",
    )
    cli.add_argument("--rounds", type=int, default=2, help="rounds per config with --alloy-config (2)")
    args = cli.parse_args()
    pids = roots()
    if args.alloy_config:
        variants = []
        for spec in args.alloy_config:
            name, sep, file = spec.partition("=")
            if not sep:
                cli.error(f"--alloy-config wants NAME=FILE, got {spec!r}")
            variants.append((name, Path(file).read_text()))  # read now: the file may be the one swapped
        compare(pids, variants, args.rounds)
    else:
        measure(pids, "")
    samples = exporter_samples()
    if samples:
        print(
            "exporter samples per scrape, returned -> stored: "
            + ", ".join(f"{job} {got:.0f} -> {kept:.0f}" for job, (got, kept) in samples.items())
            + f" (total {sum(v[1] for v in samples.values()):.0f} stored)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
