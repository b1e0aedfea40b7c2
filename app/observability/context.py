"""Per-request state shared by the middleware, the log sampler and the span processor.

One ContextVar holds one small object per request. Reading it costs one lookup, much
less than structlog's merge_contextvars, which walks every context variable.

The keep/drop decision lives here as well, so that span export, exemplars and access-log
sampling agree: a request is *kept* when it failed (5xx or exception), was slower than
the threshold, or its trace id hashes under the sample rate.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

# W3C trace ids (level 2) carry at least 56 random bits on the right: hash on those, so
# every service using the same rule makes the same probabilistic choice for one trace.
# Integers, not floats: (2**56 - 1) / 2**56 would round to 1.0.
HASH_BITS = 56
_HASH_MASK = (1 << HASH_BITS) - 1


def trace_hash(trace_id: int) -> int:
    """A trace id's position in [0, 2**56): its low 56 bits."""
    return trace_id & _HASH_MASK


def threshold(rate: float) -> int:
    """Positions below this are sampled at `rate` (0 -> none, 1 -> all)."""
    return int(round(rate * (1 << HASH_BITS)))


class RequestContext:
    __slots__ = ("request_id", "hash", "kept", "logs", "spans", "deferred", "root_span_id", "trace_int")

    def __init__(self, request_id: str, position: int | None = None) -> None:
        self.request_id = request_id
        # position of this request in [0, 2**56): trace-id hash, or random without a trace
        self.hash: int = random.getrandbits(HASH_BITS) if position is None else position
        self.kept: bool | None = None  # None until the request ends
        self.logs: list[Any] | None = []  # log events held back until the decision
        self.spans: list[Any] | None = []  # SDK spans that ended during the request (app mode)
        self.deferred: list[Any] | None = []  # spans recorded as data (spans.Deferred)
        self.root_span_id: int | None = None  # set when the request is traced
        self.trace_int: int = 0


_current: ContextVar[RequestContext | None] = ContextVar("obs_request", default=None)

# The ContextVar's own methods, not wrappers: read on every log event, SQL span and SDK
# span end, so a Python frame around each is paid many times per request.
current_request: Callable[[], RequestContext | None] = _current.get
bind_request: Callable[[RequestContext], Token[RequestContext | None]] = _current.set
unbind_request: Callable[[Token[RequestContext | None]], None] = _current.reset


class KeepPolicy:
    """The one keep/drop decision, taken when a request ends."""

    __slots__ = ("threshold", "slow_seconds")

    def __init__(self, rate: float, slow_ms: float) -> None:
        self.threshold = threshold(rate)
        self.slow_seconds = slow_ms / 1000.0

    def decide(self, ctx: RequestContext, status: int, duration: float, failed: bool) -> bool:
        return failed or status >= 500 or duration > self.slow_seconds or ctx.hash < self.threshold
