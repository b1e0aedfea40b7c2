"""The committed Alertmanager config, run by the real pinned Alertmanager, delivering to the real
alert sink: routing by severity/team, inhibition, resolved notifications. No mocks."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import REPO
from tests.support.http import exchange
from tests.support.net import free_port, poll_until
from tests.support.procs import Proc, start_sink
from tests.support.tools import require_tool

CONFIG = REPO / "alertmanager" / "alertmanager.yml"


def _now(delta: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta)).isoformat()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    binary = require_tool("alertmanager")
    tmp = tmp_path_factory.mktemp("am")
    sink, sink_url = start_sink(tmp)
    # Same routes, receivers and inhibition; only the sink address and the wait timings change
    # (the test should take seconds, not the production 10s-5m).
    text = CONFIG.read_text().replace("http://alert-sink:9095/webhook", sink_url + "/webhook")
    text = re.sub(r"group_wait: \S+", "group_wait: 1s", text)
    text = re.sub(r"group_interval: \S+", "group_interval: 1s", text)
    assert sink_url in text
    (tmp / "alertmanager.yml").write_text(text)
    shutil.copytree(REPO / "alertmanager" / "templates", tmp / "templates")
    port = free_port()
    am = Proc(
        [
            binary,
            f"--config.file={tmp / 'alertmanager.yml'}",
            f"--storage.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        log=tmp / "alertmanager.log",
    )
    am_url = f"http://127.0.0.1:{port}"
    try:
        until("alertmanager /-/ready", lambda: exchange("GET", am_url + "/-/ready")[0] == 200, am)
        yield am_url, sink_url, am, sink
    finally:
        am.stop()
        sink.stop()


def until(what: str, probe, am: Proc):
    """Poll probe() for 30 s; fail at once with its output if Alertmanager has died."""
    return poll_until(what, lambda: am.alive() and probe(), 30)


def received(sink_url: str, alertname: str, status: str = "firing") -> dict[str, list[dict]]:
    """receiver -> alerts with that name and status that reached the sink."""
    _, notifications = exchange("GET", f"{sink_url}/alerts?alertname={alertname}")
    out: dict[str, list[dict]] = {}
    for n in notifications:
        for a in n["alerts"]:
            if a["labels"].get("alertname") == alertname and a["status"] == status:
                out.setdefault(n["receiver"], []).append(a)
    return out


def alert(name: str, severity: str, **labels: str) -> dict:
    return {
        "labels": {"alertname": name, "severity": severity, **labels},
        "annotations": {
            "summary": f"{name} test",
            "description": "posted by the test",
            "runbook_url": f"https://example.invalid/{name}.md",
        },
        "startsAt": _now(),
    }


def test_routing_and_inhibition(stack):
    am_url, sink_url, am, sink = stack
    exchange("DELETE", sink_url + "/alerts")
    alerts = [
        alert("AvailabilityErrorBudgetBurn", "critical", job="fastapi-app", slo="availability"),
        alert("AvailabilityErrorBudgetBurn", "warning", job="fastapi-app", slo="availability"),
        alert("PostgresDown", "critical", team="dba", job="postgres-exporter", instance="pg:9187"),
        alert("LokiUnhealthy", "warning", job="loki", instance="loki:3100"),
    ]
    code, body = exchange("POST", am_url + "/api/v2/alerts", alerts)
    assert code == 200, body

    until(
        "PostgresDown via dba, pager and chat",
        lambda: set(received(sink_url, "PostgresDown")) == {"dba", "pager", "chat"},
        am,
    )
    until(
        "AvailabilityErrorBudgetBurn via pager and chat",
        lambda: set(received(sink_url, "AvailabilityErrorBudgetBurn")) == {"pager", "chat"},
        am,
    )
    until("LokiUnhealthy via chat", lambda: set(received(sink_url, "LokiUnhealthy")) == {"chat"}, am)

    # The warning twin of the page is inhibited: Alertmanager says so, and it never reached the
    # sink although the warning sent in the same batch (LokiUnhealthy, same route) already did.
    _, state = exchange("GET", am_url + '/api/v2/alerts?filter=alertname="AvailabilityErrorBudgetBurn"')
    warning = [a for a in state if a["labels"]["severity"] == "warning"]
    assert len(warning) == 1
    assert warning[0]["status"]["state"] == "suppressed"
    assert warning[0]["status"]["inhibitedBy"], warning[0]["status"]
    burn = received(sink_url, "AvailabilityErrorBudgetBurn")
    severities = {a["labels"]["severity"] for alerts in burn.values() for a in alerts}
    assert severities == {"critical"}, burn
    assert "pager" not in received(sink_url, "LokiUnhealthy")


def test_resolved_notification_reaches_sink(stack):
    am_url, sink_url, am, sink = stack
    firing = alert("TargetDown", "critical", job="fastapi-app", instance="app:8000")
    assert exchange("POST", am_url + "/api/v2/alerts", [firing])[0] == 200
    until(
        "TargetDown firing via pager and chat", lambda: set(received(sink_url, "TargetDown")) == {"pager", "chat"}, am
    )

    resolved = {**firing, "endsAt": _now(-1)}
    assert exchange("POST", am_url + "/api/v2/alerts", [resolved])[0] == 200
    got = until("TargetDown resolved notification", lambda: received(sink_url, "TargetDown", status="resolved"), am)
    assert set(got) <= {"pager", "chat"} and got
    # The sink logged one JSON line per alert, firing and resolved.
    lines = [json.loads(line) for line in sink.output().splitlines() if line.startswith("{")]
    statuses = {
        line["status"] for line in lines if line.get("event") == "alert" and line.get("alertname") == "TargetDown"
    }
    assert statuses == {"firing", "resolved"}, sink.output()
