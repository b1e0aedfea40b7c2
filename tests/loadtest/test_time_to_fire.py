"""loadtest/time_to_fire.py against a real alert sink process, and the shape's stage plan."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from tests.support import REPO
from tests.support.ci import missing
from tests.support.http import exchange
from tests.support.procs import start_sink

TTF = REPO / "loadtest" / "time_to_fire.py"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def post(
    url: str, receiver: str, status: str, name: str, severity: str, starts: float, ends: float | None = None
) -> None:
    alert = {
        "status": status,
        "labels": {"alertname": name, "severity": severity, "job": "fastapi-app"},
        "annotations": {},
        "startsAt": iso(starts),
        "endsAt": iso(ends) if ends else "0001-01-01T00:00:00Z",
    }
    code, _ = exchange("POST", url + "/webhook", {"receiver": receiver, "status": status, "alerts": [alert]})
    assert code == 200


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TTF), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def sink(tmp_path):
    proc, url = start_sink(tmp_path)
    yield url
    proc.stop()


def test_reports_fire_and_resolve_times(sink, tmp_path):
    now = time.time()
    burst = {"stage": "error-burst", "start": now - 600, "end": now - 400, "expect": ["AvailabilityErrorBudgetBurn"]}
    spike = {"stage": "latency-spike", "start": now - 400, "end": now - 200, "expect": ["LatencyErrorBudgetBurn"]}
    timeline = tmp_path / "stages.jsonl"
    timeline.write_text(
        "\n".join(
            json.dumps(s)
            for s in ({"stage": "steady", "start": now - 700, "end": now - 600, "expect": []}, burst, spike)
        )
        + "\n"
    )
    # An older page of the same alert, from before this fault: must be ignored.
    post(sink, "pager", "firing", "AvailabilityErrorBudgetBurn", "critical", now - 900)
    post(sink, "pager", "firing", "AvailabilityErrorBudgetBurn", "critical", now - 600 + 95)
    post(sink, "chat", "firing", "AvailabilityErrorBudgetBurn", "critical", now - 600 + 95)
    post(sink, "pager", "resolved", "AvailabilityErrorBudgetBurn", "critical", now - 600 + 95, ends=now - 400 + 300)

    res = run("--timeline", str(timeline), "--sink", sink, "--json")
    assert res.returncode == 1, res.stderr  # the latency page never fired
    assert "LatencyErrorBudgetBurn (critical) did not fire after latency-spike" in res.stderr
    rows = {r["alert"]: r for r in json.loads(res.stdout)}
    avail = rows["AvailabilityErrorBudgetBurn"]
    assert avail["fired_s"] == 95.0
    assert 0 <= avail["notified_s"] - 600 < 30  # posted just now, fault started 600 s ago
    assert avail["resolved_s"] == 300.0
    assert avail["receivers"] == ["pager", "chat"]
    assert rows["LatencyErrorBudgetBurn"]["fired_s"] is None

    post(sink, "pager", "firing", "LatencyErrorBudgetBurn", "critical", now - 400 + 200)
    assert run("--timeline", str(timeline), "--sink", sink).returncode == 0
    slow = run("--timeline", str(timeline), "--sink", sink, "--max-fire", "150")
    assert slow.returncode == 1 and "fired 200s after latency-spike" in slow.stderr
    unresolved = run("--timeline", str(timeline), "--sink", sink, "--require-resolved", "LatencyErrorBudgetBurn")
    assert unresolved.returncode == 1 and "did not resolve" in unresolved.stderr
    extra = run("--timeline", str(timeline), "--sink", sink, "--expect", "HighErrorRate:warning")
    assert extra.returncode == 1 and "HighErrorRate (warning) did not fire" in extra.stderr


def test_unreadable_inputs_exit_2(sink, tmp_path):
    assert run("--timeline", str(tmp_path / "missing.jsonl"), "--sink", sink).returncode == 2
    (tmp_path / "t.jsonl").write_text('{"stage": "x", "start": 1, "end": 2, "expect": []}\n')
    assert run("--timeline", str(tmp_path / "t.jsonl"), "--sink", "http://127.0.0.1:9").returncode == 2


def test_shape_plan_profiles_and_duration():
    try:
        import locust  # noqa: F401
    except ImportError:
        missing("locust missing: make venv installs the loadtest group")
    from loadtest import shape

    names = [s.name for s in shape.plan("full")]
    assert names == ["warm-up", "steady", "error-burst", "latency-spike", "recovery"]
    short = shape.plan("short")
    assert sum(s.seconds for s in short) <= 7 * 60
    burst = next(s for s in short if s.name == "error-burst")
    assert burst.faults == {"error_rate_percent": 30} and burst.alerts == ("AvailabilityErrorBudgetBurn",)
    assert [s.seconds for s in shape.plan("short", "90")] == [20, 40, 30]
    stretched = shape.plan("short", "10m")
    assert sum(s.seconds for s in stretched) == 600 and stretched[-1].name == "recovery"
    with pytest.raises(ValueError):
        shape.parse_duration("ten minutes")
