"""metrics.Timed: the request counter and duration histogram kept as plain numbers."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from app.observability.metrics import Timed


def _timed() -> tuple[Timed, CollectorRegistry]:
    timed = Timed(
        ("demo_requests_total", "Requests", ("route", "status")),
        ("demo_duration_seconds", "Duration", ("route",)),
        (0.005, 0.01, 0.1),
    )
    registry = CollectorRegistry()
    registry.register(timed)
    return timed, registry


def _value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} ([0-9.e+-]+)", text, re.M)
    assert match, f"{sample} missing from:\n{text}"
    return float(match.group(1))


def test_a_duration_on_a_bucket_bound_counts_in_that_bucket_and_buckets_are_cumulative():
    timed, registry = _timed()
    ok = timed.series(("/a", "2xx"), ("/a",))
    for seconds in (0.005, 0.0051, 0.2):
        timed.observe(ok, seconds)
    text = generate_latest(registry).decode()
    assert _value(text, 'demo_duration_seconds_bucket{le="0.005",route="/a"}') == 1
    assert _value(text, 'demo_duration_seconds_bucket{le="0.01",route="/a"}') == 2
    assert _value(text, 'demo_duration_seconds_bucket{le="0.1",route="/a"}') == 2
    assert _value(text, 'demo_duration_seconds_bucket{le="+Inf",route="/a"}') == 3
    assert _value(text, 'demo_duration_seconds_count{route="/a"}') == 3
    assert abs(_value(text, 'demo_duration_seconds_sum{route="/a"}') - 0.2101) < 1e-9
    assert _value(text, 'demo_requests_total{route="/a",status="2xx"}') == 3


def test_the_counter_splits_by_its_extra_label_while_the_histogram_does_not():
    timed, registry = _timed()
    timed.observe(timed.series(("/a", "2xx"), ("/a",)), 0.001)
    timed.observe(timed.series(("/a", "5xx"), ("/a",)), 0.001)
    text = generate_latest(registry).decode()
    assert _value(text, 'demo_requests_total{route="/a",status="2xx"}') == 1
    assert _value(text, 'demo_requests_total{route="/a",status="5xx"}') == 1
    assert _value(text, 'demo_duration_seconds_count{route="/a"}') == 2


def test_an_exemplar_marks_the_counter_and_the_bucket_of_its_observation_in_openmetrics_only():
    timed, registry = _timed()
    series = timed.series(("/a", "2xx"), ("/a",))
    timed.observe(series, 0.05, "ab" * 16)
    timed.observe(series, 0.001)  # no trace: must not replace the exemplar
    om = generate_openmetrics(registry).decode()
    marked = [line for line in om.splitlines() if "# {" in line]
    assert len(marked) == 2, om
    assert marked[0].startswith('demo_requests_total{route="/a",status="2xx"} 2.0 # {trace_id="' + "ab" * 16)
    assert marked[1].startswith('demo_duration_seconds_bucket{le="0.1",route="/a"} 2.0 # {trace_id="' + "ab" * 16)
    assert "# {" not in generate_latest(registry).decode()  # the classic text format has no exemplars
