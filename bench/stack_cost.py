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

Env: BENCH_STACK_REQUESTS (3000), BENCH_STACK_RPS (40), BENCH_STACK_IDLE_S (30),
     BENCH_APP_URL (http://127.0.0.1:8000), BENCH_PROMETHEUS_URL (http://127.0.0.1:9090),
     OBS_NATIVE_STATE (/var/tmp/obs-native).
"""

from __future__ import annotations

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
REQUESTS = int(os.environ.get("BENCH_STACK_REQUESTS", "3000"))
RPS = float(os.environ.get("BENCH_STACK_RPS", "40"))
IDLE_S = float(os.environ.get("BENCH_STACK_IDLE_S", "30"))
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


def main() -> int:
    pids = roots()
    idle, idle_s, idle_req = window(pids, lambda: time.sleep(IDLE_S))
    busy, busy_s, busy_req = window(pids, lambda: load(REQUESTS, RPS))
    print(
        f"idle window {idle_s:.0f} s ({idle_req:.0f} requests, always-on traffic only); "
        f"load window {busy_s:.0f} s, {busy_req:.0f} requests ({busy_req / busy_s:.1f} req/s); "
        f"this benchmark sent {sum(SENT.values())} ({dict(SENT)})"
    )
    print(f"{'service':<17}{'total s/1k req':>15}{'extra s/1k req':>15}{'idle CPU %':>11}{'RSS MiB':>9}{'anon':>6}")
    for s in [*SERVICES, *(o for o in OPTIONAL if o in pids)]:
        total = busy[s] / busy_req * 1000
        extra = (busy[s] - idle[s] / idle_s * busy_s) / busy_req * 1000
        rss, anon = rss_mib(pids[s])
        print(f"{s:<17}{total:>15.3f}{extra:>15.3f}{100 * idle[s] / idle_s:>11.1f}{rss:>9.0f}{anon:>6.0f}")
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
