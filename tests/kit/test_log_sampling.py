"""The log sampler as a unit: rates, dedup, cap, memory bound, thread safety, hold-back."""

from __future__ import annotations

import random
import threading

import structlog

from app.observability.context import HASH_BITS, RequestContext, bind_request, unbind_request
from app.observability.log_sampling import ACCESS_LOGGER, LogSampler


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock=None, **kw) -> LogSampler:
    options = dict(
        warning_rate=0.5,
        info_rate=0.1,
        info_per_second=100,
        dedup_window=60.0,
        dedup_max_keys=10_000,
        buffer_per_request=64,
        debug_enabled=False,
    )
    options.update(kw)
    return LogSampler(clock=clock or Clock(), **options)


def emitted(sampler: LogSampler, level: str, message: str, logger: str = "app.x") -> bool:
    try:
        sampler(None, level, {"level": level, "event": message, "logger": logger})
        return True
    except structlog.DropEvent:
        return False


def in_request(position: float, kept: bool | None = None) -> tuple[RequestContext, object]:
    """A request whose trace-id hash sits at `position` in [0, 1)."""
    ctx = RequestContext("r")
    ctx.hash, ctx.kept = int(position * (1 << HASH_BITS)), kept
    return ctx, bind_request(ctx)


def test_errors_always_pass_even_with_zero_rates_and_cap():
    s = make(info_rate=0.0, warning_rate=0.0, info_per_second=0)
    ctx, token = in_request(0.99)
    try:
        assert all(emitted(s, level, "same message") for level in ["error", "critical", "error"] * 5)
    finally:
        unbind_request(token)


def test_rates_inside_a_request_follow_the_trace_hash():
    s = make(dedup_window=0.0)
    for hash_value, info, warning in [(0.05, True, True), (0.3, False, True), (0.7, False, False)]:
        ctx, token = in_request(hash_value)
        try:
            assert emitted(s, "info", f"i{hash_value}") is info
            assert emitted(s, "warning", f"w{hash_value}") is warning
        finally:
            unbind_request(token)


def test_statistical_rates_match_settings():
    s = make(dedup_window=0.0, info_per_second=1_000_000)
    rng = random.Random(7)
    counts = {"info": 0, "warning": 0}
    for i in range(20_000):
        ctx, token = in_request(rng.random())
        try:
            counts["info"] += emitted(s, "info", f"m{i}")
            counts["warning"] += emitted(s, "warning", f"m{i}")
        finally:
            unbind_request(token)
    assert 0.09 < counts["info"] / 20_000 < 0.11
    assert 0.48 < counts["warning"] / 20_000 < 0.52


def test_debug_is_off_in_production_and_on_in_development():
    assert emitted(make(debug_enabled=False), "debug", "d") is False
    assert emitted(make(debug_enabled=True), "debug", "d") is True


def test_same_message_suppressed_for_the_window_then_allowed():
    clock = Clock()
    s = make(clock=clock)
    assert emitted(s, "warning", "disk almost full") is True  # outside a request: no rate stage
    assert emitted(s, "warning", "disk almost full") is False
    assert emitted(s, "warning", "another message") is True
    clock.now += 59.9
    assert emitted(s, "warning", "disk almost full") is False
    clock.now += 0.2
    assert emitted(s, "warning", "disk almost full") is True
    assert emitted(s, "info", "request", logger=ACCESS_LOGGER) is True
    assert emitted(s, "info", "request", logger=ACCESS_LOGGER) is True  # access log exempt


def test_dedup_memory_is_bounded():
    s = make(dedup_max_keys=100, info_per_second=1_000_000)
    for i in range(5_000):
        emitted(s, "warning", f"unique {i}")
    assert len(s._seen) == 100


def test_info_is_capped_per_second():
    clock = Clock()
    s = make(clock=clock, dedup_window=0.0, info_per_second=100)
    assert sum(emitted(s, "info", f"m{i}") for i in range(1000)) == 100
    assert emitted(s, "warning", "warnings are not capped") is True
    clock.now += 1.0
    assert sum(emitted(s, "info", f"n{i}") for i in range(1000)) == 100


def test_thread_safe_cap_and_dedup():
    clock = Clock()
    s = make(clock=clock, dedup_window=60.0, info_per_second=1000)
    results: list[int] = []

    def worker(n: int) -> None:
        results.append(sum(emitted(s, "info", f"t{n}-{i % 2000}") for i in range(4000)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 1000  # never more than the cap, even under contention


def test_dropped_events_are_held_until_the_decision():
    s = make(info_rate=0.0, buffer_per_request=3)
    ctx, token = in_request(0.9)
    try:
        for i in range(5):
            assert emitted(s, "info", f"held {i}") is False
        assert len(ctx.logs) == 3  # bounded
        assert ctx.logs[0][1]["event"] == "held 0" and "_ts" in ctx.logs[0][1]
        ctx.kept = True
        assert emitted(s, "info", "after keep") is True
    finally:
        unbind_request(token)


def test_decided_drop_holds_nothing():
    s = make(info_rate=0.0)
    ctx, token = in_request(0.9, kept=False)
    try:
        assert emitted(s, "info", "x") is False
        assert ctx.logs == []
    finally:
        unbind_request(token)


def test_dedup_key_includes_the_event_fields_and_a_capped_line_is_not_remembered():
    clock = Clock()
    s = make(clock=clock, info_per_second=1)

    def info(message, **fields):
        try:
            s(None, "info", {"level": "info", "event": message, "logger": "app.x", **fields})
            return True
        except structlog.DropEvent:
            return False

    assert info("user registered", user_id=5) is True
    assert info("user registered", user_id=6) is False  # capped (1/s), so not remembered
    clock.now += 1.0
    assert info("user registered", user_id=6) is True  # a different message than user_id=5
    clock.now += 1.0
    assert info("user registered", user_id=5) is False  # same message within 60 s
