"""First open, before any load test: within two minutes of the app starting, every dashboard panel
that can have data has it, thanks to the always-on traffic service (loadtest/traffic.py).

Run by scripts/e2e.sh right after the signals phase, before the load test. A panel counts as
having data when any of its Prometheus queries returns a series (a panel with "5xx" and "4xx"
lines shows the 4xx line while there are no server errors). Panels whose every query needs a
component that is not running here are NOT RUN; panels that are empty by design while the
stack is healthy are listed with the reason, not required.
"""

from __future__ import annotations

import time
from collections import defaultdict

from tests.e2e.test_after_load import ALL_PROM, runnable, substitute
from tests.support import stack
from tests.support.net import poll_until

WITHIN_S = 120.0
# Empty while everything is healthy, by design.
EMPTY_WHILE_HEALTHY = {
    "fastapi-slo: Firing alerts (Prometheus)": "ALERTS has firing series only during an incident",
}


def panels() -> dict[str, list[tuple[str, dict]]]:
    """Panel title -> its runnable (expr, template defaults); titles as test_after_load names them."""
    grouped: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for title, _ds, expr, defaults in ALL_PROM:
        grouped[title.rsplit(" [", 1)[0]].append((expr, defaults) if runnable(expr) else ("", {}))
    return grouped


def app_started_at() -> float:
    result = stack.promql('min(process_start_time_seconds{job="fastapi-app"})')
    assert result, "the app is not scraped yet"
    return float(result[0]["value"][1])


def empty_panels(required: dict[str, list[tuple[str, dict]]]) -> list[str]:
    return [
        title
        for title, targets in required.items()
        if not any(stack.promql(substitute(expr, defaults)) for expr, defaults in targets)
    ]


def test_traffic_service_runs():
    # The data below must come from the always-on traffic, not only from the e2e's own requests:
    # it keeps a steady rate (the signals phase sends one short burst).
    rate = poll_until(
        "a steady request rate from the traffic service",
        lambda: [r for r in stack.promql('sum(rate(http_requests_total{job="fastapi-app"}[1m])) > 1')],
        timeout=90,
        every=5,
    )
    assert float(rate[0]["value"][1]) > 1


def test_every_panel_that_can_have_data_has_it_within_two_minutes():
    grouped = panels()
    not_run = sorted(t for t, targets in grouped.items() if not any(expr for expr, _ in targets))
    required = {
        t: [x for x in targets if x[0]]
        for t, targets in grouped.items()
        if t not in not_run and t not in EMPTY_WHILE_HEALTHY
    }
    assert len(required) >= 30, sorted(required)
    started = app_started_at()
    deadline = max(started + WITHIN_S, time.time() + 10)
    empty = empty_panels(required)
    while empty and time.time() < deadline:
        time.sleep(5)  # each round is ~60 queries; Prometheus scrapes every 15 s
        empty = empty_panels(required)
    elapsed = time.time() - started
    assert not empty, f"{len(empty)} panel(s) still empty {elapsed:.0f} s after the app started: {empty}"
    print(f"\nevery one of {len(required)} panels has data {elapsed:.0f} s after the app started")
    if not_run:
        print(f"NOT RUN ({', '.join(sorted(stack.native_skipped()))} not running): " + "; ".join(not_run))
    for title, why in EMPTY_WHILE_HEALTHY.items():
        print(f"not required: {title} ({why})")
