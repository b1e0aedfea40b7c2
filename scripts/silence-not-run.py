"""Silences, in Alertmanager, the alerts about components the native runner did not start.

Without a Docker engine the runner cannot start Loki, Tempo, Grafana (and Promtail): they are
AGPL programs this project neither builds nor downloads. Prometheus still scrapes them (the
config is the same as under Docker), so within minutes TargetDown, LokiUnhealthy and
TempoUnhealthy would page for something that was knowingly not started. The rules stay as they
are; instead each such job gets a silence through Alertmanager's API, with a comment saying why,
so the alerts stay visible in Alertmanager as silenced, with the reason.

    .venv/bin/python scripts/silence-not-run.py     # `make up` runs it after the native start

Which components: the runner's state file ("skipped" services). Which jobs: the scrape jobs in
prometheus/prometheus.yml whose targets name such a service. Re-running updates the same
silences (matched by creator and matchers) instead of stacking new ones; each lasts 7 days.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("OBS_NATIVE_STATE", "/var/tmp/obs-native")) / "state.json"
ALERTMANAGER = os.environ.get("ALERTMANAGER_URL", "http://127.0.0.1:9093")
CREATOR = "native-runner"
DAYS = 7


def skipped_services() -> dict[str, str]:
    if not STATE.exists():
        return {}
    return json.loads(STATE.read_text()).get("skipped") or {}


def jobs_of(services: set[str]) -> dict[str, str]:
    """Scrape job -> the service it scrapes, for jobs that scrape only services in `services`."""
    cfg = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())
    out = {}
    for job in cfg.get("scrape_configs") or []:
        hosts = [t.rsplit(":", 1)[0] for sc in job.get("static_configs") or [] for t in sc.get("targets") or []]
        hosts += [n for sd in job.get("dns_sd_configs") or [] for n in sd.get("names") or []]
        if hosts and all(h in services for h in hosts):
            out[job["job_name"]] = hosts[0]
    return out


def api(method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        ALERTMANAGER + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read() or b"null")


def wait_ready(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(ALERTMANAGER + "/-/ready", timeout=3) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"silence-not-run: Alertmanager at {ALERTMANAGER} is not ready")
        time.sleep(1)


def main() -> int:
    skipped = skipped_services()
    jobs = jobs_of(set(skipped))
    if not jobs:
        print("silences: none needed (every scraped component runs)")
        return 0
    wait_ready()
    existing = {
        json.dumps(s["matchers"], sort_keys=True): s["id"]
        for s in api("GET", "/api/v2/silences")  # type: ignore[union-attr]
        if s["createdBy"] == CREATOR and s["status"]["state"] == "active"
    }
    now = datetime.now(UTC)
    for job, service in sorted(jobs.items()):
        matchers = [{"name": "job", "value": job, "isRegex": False, "isEqual": True}]
        silence = {
            "matchers": matchers,
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(days=DAYS)).isoformat(),
            "createdBy": CREATOR,
            "comment": (
                f"{service} is not running: the native runner did not start it "
                f"({skipped[service]}). Alerts about job {job} (TargetDown, *Unhealthy) would only "
                "report that. Under Docker it runs and nothing is silenced."
            ),
        }
        key = json.dumps(matchers, sort_keys=True)
        if key in existing:
            silence["id"] = existing[key]
        sid = api("POST", "/api/v2/silences", silence)["silenceID"]  # type: ignore[index]
        print(f"silenced  job={job:10} ({service} not started natively; {DAYS} days, id {sid})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, urllib.error.URLError) as exc:
        sys.exit(f"silence-not-run: {exc}")
