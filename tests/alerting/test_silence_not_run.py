"""scripts/silence-not-run.py against a real Alertmanager: the components the native runner
skipped get one silence per scrape job, with the reason; others are untouched; re-running
updates instead of stacking."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import REPO
from tests.support.http import exchange
from tests.support.net import free_port, poll_until
from tests.support.procs import Proc, start_sink
from tests.support.tools import require_tool

SCRIPT = REPO / "scripts" / "silence-not-run.py"


@pytest.fixture
def alertmanager(tmp_path):
    binary = require_tool("alertmanager")
    sink, sink_url = start_sink(tmp_path)
    (tmp_path / "am.yml").write_text(
        json.dumps(
            {
                "route": {"receiver": "sink", "group_wait": "1s"},
                "receivers": [{"name": "sink", "webhook_configs": [{"url": sink_url + "/webhook"}]}],
            }
        )
    )
    port = free_port()
    am = Proc(
        [
            binary,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        log=tmp_path / "alertmanager.log",
    )
    url = f"http://127.0.0.1:{port}"
    poll_until("alertmanager ready", lambda: am.alive() and exchange("GET", url + "/-/ready")[0] == 200, 30)
    yield url
    am.stop()
    sink.stop()


def run_script(tmp_path, am_url: str, skipped: dict[str, str]) -> str:
    (tmp_path / "state.json").write_text(json.dumps({"services": {}, "skipped": skipped}))
    r = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={"OBS_NATIVE_STATE": str(tmp_path), "ALERTMANAGER_URL": am_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def post_alert(am_url: str, job: str, alertname: str) -> None:
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": alertname, "job": job, "severity": "warning"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
    }
    assert exchange("POST", am_url + "/api/v2/alerts", [alert])[0] == 200


def test_skipped_components_are_silenced_with_a_reason_and_nothing_else(tmp_path, alertmanager):
    skipped = {s: "no native program (AGPL)" for s in ("loki", "tempo", "grafana", "promtail")}
    out = run_script(tmp_path, alertmanager, skipped)
    assert out.count("silenced") == 4, out
    silences = [s for s in exchange("GET", alertmanager + "/api/v2/silences")[1] if s["status"]["state"] == "active"]
    assert sorted(s["matchers"][0]["value"] for s in silences) == ["grafana", "loki", "promtail", "tempo"]
    assert all("did not start it" in s["comment"] for s in silences)

    post_alert(alertmanager, "loki", "TargetDown")
    post_alert(alertmanager, "tempo", "TempoUnhealthy")
    post_alert(alertmanager, "postgres", "TargetDown")

    def states():
        got = {a["labels"]["job"]: a["status"]["state"] for a in exchange("GET", alertmanager + "/api/v2/alerts")[1]}
        return got if len(got) == 3 else None

    assert poll_until("three alerts in Alertmanager", states, 15) == {
        "loki": "suppressed",
        "tempo": "suppressed",
        "postgres": "active",
    }

    run_script(tmp_path, alertmanager, skipped)  # a second `make up`
    active = [s for s in exchange("GET", alertmanager + "/api/v2/silences")[1] if s["status"]["state"] == "active"]
    assert len(active) == 4


def test_nothing_is_silenced_when_everything_runs(tmp_path, alertmanager):
    assert "none needed" in run_script(tmp_path, alertmanager, {})
    assert exchange("GET", alertmanager + "/api/v2/silences")[1] == []
