"""`make verify`: a signal-flow doctor for a running stack. One PASS / FAIL / NOT RUN line per
signal (NOT RUN: its backend is not running here, e.g. Loki natively), a little traffic of its own.
Run from the repository root: python -m scripts.verify

metrics   every Prometheus target is up
exemplar  the app's latency histogram carries trace_id exemplars
logs      a fresh request's log line is in Loki, with its trace_id
traces    an exemplar's trace is in Tempo
grafana   the four dashboards are provisioned
alerts    Alertmanager is ready and the alert sink answers
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from typing import Any

from tests.support import stack
from tests.support.http import answers, get_json, request
from tests.support.net import poll_until


def check_metrics() -> str:
    skipped = set(stack.native_skipped())

    def all_up() -> list[dict[str, Any]]:
        active = get_json(f"{stack.PROM}/api/v1/targets", state="active")["data"]["activeTargets"]
        mine = [t for t in active if t["labels"].get("job") not in skipped]
        down = [f"{t['labels']['job']} ({t['lastError'] or t['health']})" for t in mine if t["health"] != "up"]
        if down or not mine:  # RuntimeError: not yet; the last one is the verdict on timeout
            raise RuntimeError("targets down: " + ", ".join(down) if down else "no active targets yet")
        return mine

    mine = poll_until("every scrape target up", all_up, timeout=60, every=2)
    return f"{len(mine)} targets up" + (f" (not running here: {', '.join(sorted(skipped))})" if skipped else "")


def exemplar_trace_ids() -> list[str]:
    data = get_json(
        f"{stack.PROM}/api/v1/query_exemplars",
        query='http_request_duration_seconds_bucket{job="fastapi-app"}',
        start=str(time.time() - 3600),
        end=str(time.time()),
    )["data"]
    return [e["labels"]["trace_id"] for s in data for e in s["exemplars"] if "trace_id" in e["labels"]]


def check_exemplars() -> str:
    stack.traffic(20)  # a fresh stack has kept no trace yet; ~100 requests keep a few (5 % and errors)
    ids = poll_until("exemplars", exemplar_trace_ids, timeout=45, every=2)
    return f"{len(ids)} exemplars, e.g. trace_id {ids[-1]}"


def check_logs() -> str:
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
    trace_id = exemplar_trace_ids()[-1]
    trace = poll_until(
        f"trace {trace_id} in Tempo", lambda: get_json(f"{stack.TEMPO}/api/v2/traces/{trace_id}"), timeout=60, every=2
    )
    return f"trace {trace_id} in Tempo ({len(json.dumps(trace))} bytes)"


def check_grafana() -> str:
    auth = base64.b64encode(f"admin:{stack.secret('GRAFANA_ADMIN_PASSWORD')}".encode()).decode()
    status, body, _ = request(
        "GET", f"{stack.GRAFANA}/api/search?type=dash-db", headers={"Authorization": f"Basic {auth}"}
    )
    uids = {d["uid"] for d in json.loads(body)} if status == 200 else set()
    want = {"fastapi-overview", "fastapi-slo", "datastores", "stack-health"}
    if not want <= uids:
        raise AssertionError(f"dashboards missing: {sorted(want - uids)} (HTTP {status})")
    return "4 dashboards provisioned"


def check_alerts() -> str:
    if not answers(f"{stack.ALERTMANAGER}/-/ready"):
        raise AssertionError("Alertmanager not ready")
    got = get_json(f"{stack.SINK}/alerts")
    return f"Alertmanager ready; sink holds {len(got) if isinstance(got, list) else '?'} notifications"


# name, check, the backend it needs (None: always runnable)
CHECKS = [
    ("metrics", check_metrics, None),
    ("exemplar", check_exemplars, None),
    ("logs", check_logs, "loki"),
    ("traces", check_traces, "tempo"),
    ("grafana", check_grafana, "grafana"),
    ("alerts", check_alerts, None),
]


def main() -> int:
    """One PASS / FAIL / NOT RUN line per signal (the words of scripts/lib/report.sh)."""
    skipped = stack.native_skipped()  # services the native runner could not start here, and why
    counts = {"passed": 0, "failed": 0, "not run": 0}
    for name, check, backend in CHECKS:
        if backend in skipped:
            counts["not run"] += 1
            print(f"NOT RUN  {name:9} {backend} is not running here: {skipped[backend]}", flush=True)
            continue
        try:
            print(f"PASS     {name:9} {check()}", flush=True)
            counts["passed"] += 1
        except Exception as exc:  # a doctor reports every signal, whatever broke
            counts["failed"] += 1
            print(f"FAIL     {name:9} {exc}", flush=True)
    print(", ".join(f"{n} {word}" for word, n in counts.items()))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
