"""End-to-end: the app as several replicas behind the load balancer (HAProxy, 127.0.0.1:8000).

Run by scripts/e2e.sh with APP_REPLICAS=2 after `python -m tools.runner up`. Prometheus must
see every replica as a target of its own; their counters must add up to what was sent through
the load balancer; a replica stopped mid-load must cost no idempotent request and must raise
TargetDown for itself alone; logs and exemplars must come from every replica.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import REPO, stack
from tests.support.ci import missing
from tests.support.http import get_json, request
from tests.support.net import poll_until

REPLICAS = int(os.environ.get("APP_REPLICAS", "2"))
APP_JOB = 'job="fastapi-app"'


def replica_addresses() -> dict[str, str]:
    """instance name (app-1, app-2) -> address, from the native runner's state."""
    state = stack.NATIVE_STATE / "state.json"
    if not state.exists():
        missing("the replica tests drive the native runner (stop/start one replica); no native state here")
    services = json.loads(state.read_text())["services"]
    found = {name: entry["addr"] for name, entry in services.items() if name.startswith("app-") and name[4:].isdigit()}
    if len(found) < 2:
        missing(f"needs at least 2 app replicas (APP_REPLICAS=2); the stack runs {sorted(found)}")
    return found


@pytest.fixture(scope="module")
def replicas() -> dict[str, str]:
    return replica_addresses()


def app_targets() -> list[dict]:
    active = get_json(f"{stack.PROM}/api/v1/targets", state="active")["data"]["activeTargets"]
    return [t for t in active if t["labels"].get("job") == "fastapi-app"]


def wait_all_replicas_up(replicas: dict[str, str], timeout: float = 90) -> list[dict]:
    want = {f"{addr}:8000" for addr in replicas.values()}

    def up() -> list[dict] | None:
        targets = app_targets()
        healthy = {t["labels"]["instance"] for t in targets if t["health"] == "up"}
        return targets if healthy == want and len(targets) == len(want) else None

    return poll_until(f"app targets {sorted(want)} all up", up, timeout=timeout, every=2)


def test_prometheus_scrapes_every_replica_as_its_own_target(replicas):
    targets = wait_all_replicas_up(replicas)
    assert len(targets) == len(replicas) == REPLICAS, [t["labels"]["instance"] for t in targets]


def test_the_load_balancer_passes_traceparent_and_request_id_through(replicas):
    # The low 56 bits of a trace id decide the keep/drop sampling (app/observability/context.py):
    # near zero, this request is kept, so its access log line is written whatever the sample rate.
    trace_id = secrets.token_hex(9) + "00000000000001"
    request_id = f"replicas-{secrets.token_hex(8)}"
    reply = request(
        "GET",
        f"{stack.APP}/api/v1/items?limit=1",
        headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01", "X-Request-ID": request_id},
    )
    assert reply.status == 200, reply
    assert {k.lower(): v for k, v in reply.headers.items()}.get("x-request-id") == request_id

    def logged() -> list[dict]:
        lines = [
            json.loads(line)
            for f in (stack.NATIVE_STATE / "volumes").glob("*app-logs*/app-*.log")
            for line in f.read_text().splitlines()
            if request_id in line
        ]
        return [r for r in lines if r.get("request_id") == request_id]

    records = poll_until(f"a log line with request_id {request_id}", logged, timeout=30, every=1)
    assert {r.get("trace_id") for r in records} == {trace_id}, records


def _options_counts() -> dict[str, float]:
    """OPTIONS requests each replica has counted, as Prometheus last scraped them. Only this
    test sends OPTIONS, so other traffic on the stack does not disturb the sums."""
    rows = stack.promql(f'sum by (instance) (http_requests_total{{{APP_JOB}, method="OPTIONS"}})')
    return {r["metric"]["instance"]: float(r["value"][1]) for r in rows}


def test_replica_counters_add_up_to_what_the_load_balancer_was_sent(replicas):
    wait_all_replicas_up(replicas)
    before = _options_counts()
    sent = 600

    def one(_: int) -> int:
        return request("OPTIONS", f"{stack.APP}/api/v1/items").status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(one, range(sent)))
    assert all(code < 500 for code in statuses), statuses

    def counted() -> dict[str, float] | None:
        now = _options_counts()
        delta = {i: now.get(i, 0.0) - before.get(i, 0.0) for i in now}
        return delta if sum(delta.values()) >= sent else None

    try:
        delta = poll_until(f"{sent} OPTIONS requests counted across the replicas", counted, timeout=60, every=2)
    except AssertionError:
        delta = {i: v - before.get(i, 0.0) for i, v in _options_counts().items()}
    total = sum(delta.values())
    print(f"\ncounter match: sent {sent} through the load balancer, replicas counted {total:.0f} {delta}")
    assert abs(total - sent) <= 0.01 * sent, (total, sent, delta)
    assert len([v for v in delta.values() if v > 0]) == len(replicas), f"every replica takes traffic: {delta}"


def test_every_replica_writes_its_own_log_file_and_alloy_tails_each(replicas):
    stack.traffic(10)
    volumes = stack.NATIVE_STATE / "volumes"
    files = {p.name for p in volumes.glob("*app-logs*/app-*.log")}
    assert {f"app-{name}.log" for name in replicas} <= files, files

    def tailed() -> set[str] | None:
        rows = stack.promql('sum by (path) (loki_source_file_read_lines_total{job="alloy"}) > 0')
        paths = {r["metric"]["path"].rsplit("/", 1)[-1] for r in rows}
        return paths if {f"app-{name}.log" for name in replicas} <= paths else None

    poll_until("Alloy reading every replica's log file", tailed, timeout=90, every=2)


def test_exemplars_come_from_every_replica(replicas):
    want = {f"{addr}:8000" for addr in replicas.values()}

    def instances_with_exemplars() -> set[str] | None:
        stack.traffic(5)
        data = get_json(
            f"{stack.PROM}/api/v1/query_exemplars",
            query=f"http_request_duration_seconds_bucket{{{APP_JOB}}}",
            start=str(time.time() - 3600),
            end=str(time.time() + 60),
        )["data"]
        seen = {s["seriesLabels"]["instance"] for s in data if any("trace_id" in e["labels"] for e in s["exemplars"])}
        return seen if want <= seen else None

    poll_until("trace_id exemplars from every replica", instances_with_exemplars, timeout=120, every=3)


def runner(*args: str) -> None:
    subprocess.run(["python3", "-m", "tools.runner", *args], cwd=REPO, check=True, timeout=120)


def target_down_instances() -> dict[str, str]:
    """instance -> alertstate of every TargetDown alert of the app (pending or firing)."""
    rows = stack.promql(f'ALERTS{{alertname="TargetDown", {APP_JOB}}}')
    return {r["metric"]["instance"]: r["metric"]["alertstate"] for r in rows}


class Load:
    """Idempotent requests through the load balancer from a few threads until stopped."""

    def __init__(self, threads: int = 4) -> None:
        self.stop = threading.Event()
        self.results: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                outcome = str(request("GET", f"{stack.APP}/api/v1/items?limit=5", timeout=10).status)
            except OSError as exc:
                outcome = type(exc).__name__
            with self.lock:
                self.results[outcome] += 1

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


def test_stopping_a_replica_mid_load_loses_no_request_and_pages_for_it_alone(replicas):
    wait_all_replicas_up(replicas)
    victim = sorted(replicas)[-1]
    victim_instance = f"{replicas[victim]}:8000"
    others = {f"{addr}:8000" for name, addr in replicas.items() if name != victim}
    try:
        with Load() as load:
            poll_until("load flowing", lambda: sum(load.results.values()) >= 50, timeout=30)
            runner("stop", victim)
            # Load duration, not an assertion: the window in which the replica is gone but may
            # still be chosen lasts until the health check (2 x 2 s) and DNS (5 s hold) have both
            # removed it; 20 s covers it several times over.
            time.sleep(20)
        results = dict(load.results)
        failed = {k: v for k, v in results.items() if k != "200"}
        print(f"\nreplica {victim} stopped mid-load: {sum(results.values())} GETs, outcomes {results}")
        assert not failed, f"requests lost when {victim} stopped: {failed} of {results}"

        # The replica left DNS, so its target disappears; TargetDown goes pending at the next
        # evaluation, fires 2 minutes later (`for: 2m`) and names that instance only.
        alerts = poll_until(
            f"TargetDown firing for {victim_instance}",
            lambda: (a := target_down_instances()).get(victim_instance) == "firing" and a,
            timeout=240,
            every=5,
        )
        print(f"TargetDown: {alerts}")
        assert set(alerts) == {victim_instance}, alerts
        assert not others & set(alerts)
    finally:
        runner("start", victim)
    wait_all_replicas_up(replicas, timeout=120)
    poll_until("TargetDown cleared after the restart", lambda: not target_down_instances(), timeout=90, every=3)
