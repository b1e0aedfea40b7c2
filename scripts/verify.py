"""`make verify`: a signal-flow doctor for a running stack. One line per signal (the words of
scripts/lib/report.sh), a little traffic of its own. Run from the repository root:
python -m scripts.verify


PASS, FAIL, or NOT RUN when a component it needs is not running here (the native runner cannot
start Loki, Tempo and Grafana; it says so, and so does this). NOT RUN never counts as a pass, and
a run with nothing passed fails.

metrics   every Prometheus target of a running component is up (no targets at all: FAIL)
exemplar  the app's latency histogram carries trace_id exemplars
logs      a fresh request's log line is in Loki, with its trace_id
traces    an exemplar's trace is in Tempo
grafana   the four dashboards are provisioned
alloy     Alloy (logs and traces pipeline) is ready and all its components are healthy
alerts    Prometheus sends to Alertmanager, Alertmanager is ready, the alert sink answers
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid

from tests.support import stack
from tests.support.http import answers, get_json, request
from tests.support.net import poll_until


class NotRun(Exception):
    """A check whose component is not running here: reported, never counted as passed."""


def needs(*services: str) -> None:
    missing = {s: why for s, why in stack.native_skipped().items() if s in services}
    if missing:
        by_reason: dict[str, list[str]] = {}
        for service, why in missing.items():
            by_reason.setdefault(why, []).append(service)
        raise NotRun("; ".join(f"not running here: {', '.join(names)} ({why})" for why, names in by_reason.items()))


def _target_host(t: dict) -> str:
    return t["labels"].get("instance", "").rsplit(":", 1)[0]


def check_metrics() -> str:
    needs("prometheus")
    if not answers(f"{stack.PROM}/-/ready"):
        raise AssertionError(f"Prometheus is not answering at {stack.PROM} (is the stack up? make up)")
    skipped = set(stack.native_skipped())

    def scraped():  # right after start a target may not have been scraped yet ("unknown")
        active = get_json(f"{stack.PROM}/api/v1/targets", state="active")["data"]["activeTargets"]
        ours = [t for t in active if _target_host(t) not in skipped]
        return ours if ours and all(t["health"] != "unknown" for t in ours) else None

    try:
        ours = poll_until("every target scraped once", scraped, timeout=45, every=2)
    except AssertionError as exc:
        raise AssertionError(f"Prometheus has no scraped targets of running components ({exc})") from None
    down = [f"{t['labels']['job']} ({t['lastError'] or t['health']})" for t in ours if t["health"] != "up"]
    if down:
        raise AssertionError("targets down: " + ", ".join(down))
    not_run = sorted(
        {t["labels"]["job"] for t in get_json(f"{stack.PROM}/api/v1/targets")["data"]["activeTargets"]}
        - {t["labels"]["job"] for t in ours}
    )
    return f"{len(ours)} targets up" + (f" (not checked, not running here: {', '.join(not_run)})" if not_run else "")


def exemplar_trace_ids() -> list[str]:
    data = get_json(
        f"{stack.PROM}/api/v1/query_exemplars",
        query='http_request_duration_seconds_bucket{job="fastapi-app"}',
        start=str(time.time() - 3600),
        end=str(time.time()),
    )["data"]
    return [e["labels"]["trace_id"] for s in data for e in s["exemplars"] if "trace_id" in e["labels"]]


def check_exemplars() -> str:
    needs("prometheus", "app")

    def probe() -> list[str]:
        # Only kept requests (errors, slow ones, 5 % by trace id) carry an exemplar; a fresh stack
        # has none yet, so send a batch each round: 20 requests leave none kept 36 % of the time,
        # the 4-5 rounds before Prometheus's next scrapes make that well under 1 %.
        for _ in range(20):
            request("GET", f"{stack.APP}/api/v1/items?limit=1")
        return exemplar_trace_ids()

    ids = poll_until("exemplars", probe, timeout=60, every=5)
    return f"{len(ids)} exemplars, e.g. trace_id {ids[-1]}"


def check_logs() -> str:
    needs("loki", "alloy", "app")
    rid = f"verify-{uuid.uuid4().hex[:12]}"
    request("GET", f"{stack.APP}/api/v1/items?limit=1", headers={"X-Request-ID": rid})
    # ERROR lines are always kept; an access line may be sampled out, so ask for a failing one too.
    request("GET", f"{stack.APP}/api/v1/items/not-a-number", headers={"X-Request-ID": rid})

    def found():
        res = get_json(
            f"{stack.LOKI}/loki/api/v1/query_range",
            query=f'{{service_name=~".+"}} |= "{rid}"',
            limit="5",
            start=str(int((time.time() - 600) * 1e9)),
        )["data"]["result"]
        return [v for s in res for v in s["values"]]

    lines = poll_until(f"a log line with request_id {rid} in Loki", found, timeout=60, every=2)
    return f"request {rid} found in Loki ({len(lines)} lines)"


def check_traces() -> str:
    needs("tempo", "alloy", "prometheus")
    trace_id = exemplar_trace_ids()[-1]
    trace = poll_until(
        f"trace {trace_id} in Tempo", lambda: get_json(f"{stack.TEMPO}/api/v2/traces/{trace_id}"), timeout=60, every=2
    )
    return f"trace {trace_id} in Tempo ({len(json.dumps(trace))} bytes)"


def check_grafana() -> str:
    needs("grafana")
    auth = base64.b64encode(f"admin:{stack.secret('GRAFANA_ADMIN_PASSWORD')}".encode()).decode()
    reply = request("GET", f"{stack.GRAFANA}/api/search?type=dash-db", headers={"Authorization": f"Basic {auth}"})
    uids = {d["uid"] for d in json.loads(reply.body)} if reply.status == 200 else set()
    want = {"fastapi-overview", "fastapi-slo", "datastores", "stack-health"}
    if not want <= uids:
        raise AssertionError(f"dashboards missing: {sorted(want - uids)} (HTTP {reply.status})")
    return "4 dashboards provisioned"


def check_alloy() -> str:
    needs("alloy")
    reply = request("GET", f"{stack.ALLOY}/-/ready")
    if reply.status != 200:
        raise AssertionError(f"Alloy not ready (HTTP {reply.status}: {reply.body[:200]!r})")
    components = get_json(f"{stack.ALLOY}/api/v0/web/components")
    bad = [f"{c['localID']} ({c['health']['state']})" for c in components if c["health"]["state"] != "healthy"]
    if bad:
        raise AssertionError("Alloy components not healthy: " + ", ".join(bad))
    return f"Alloy ready, {len(components)} components healthy"


def check_alerts() -> str:
    needs("prometheus", "alertmanager", "alert-sink")
    ams = get_json(f"{stack.PROM}/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
    if not ams:
        raise AssertionError("Prometheus has no Alertmanager to send alerts to")
    if not answers(f"{stack.ALERTMANAGER}/-/ready"):
        raise AssertionError("Alertmanager not ready")
    got = get_json(f"{stack.SINK}/alerts")
    return f"Prometheus -> Alertmanager ready; sink holds {len(got)} notifications"


CHECKS = [
    ("metrics", check_metrics),
    ("exemplar", check_exemplars),
    ("logs", check_logs),
    ("traces", check_traces),
    ("grafana", check_grafana),
    ("alloy", check_alloy),
    ("alerts", check_alerts),
]


def main() -> int:
    passed = failed = not_run = 0
    for name, check in CHECKS:
        try:
            result = check()
        except NotRun as why:
            not_run += 1
            print(f"NOT RUN  {name:9} {why}", flush=True)
        except Exception as exc:  # a doctor reports every signal, whatever broke
            failed += 1
            print(f"FAIL     {name:9} {exc}", flush=True)
        else:
            passed += 1
            print(f"PASS     {name:9} {result}", flush=True)
    if not passed:
        failed += 1
        print("FAIL     nothing passed: is the stack up? (make up)")
    print(f"{passed} passed, {failed} failed, {not_run} not run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
