"""A small circuit breaker shared by the database and the cache.

    closed --failure--> open (for `backoff` seconds: callers skip the dependency at once)
      ^                   | backoff over
      |                   v
      +--success---- half-open: exactly one caller probes, the others still skip;
                     a failed probe opens it again, an abandoned one hands over

Why: an unreachable dependency costs a connect timeout per request (1 s for Postgres,
0.2 s for Redis). With the breaker, only one request per back-off pays it; the rest
fail (or fall back) in microseconds, and the first successful probe heals it.
Single event loop: no locks needed, every transition is synchronous.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Breaker:
    __slots__ = ("backoff", "clock", "_open_until", "_probing")

    def __init__(self, backoff: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff = backoff
        self.clock = clock
        self._open_until = 0.0  # 0: closed
        self._probing = False

    @property
    def closed(self) -> bool:
        return not self._open_until

    def allow(self) -> bool | None:
        """None: skip the dependency (open, or another caller is probing).
        False: go ahead, healthy. True: go ahead as the probe; report the outcome."""
        if not self._open_until:
            return False
        if self._probing or self.clock() < self._open_until:
            return None
        self._probing = True
        return True

    def failure(self) -> bool:
        """Open (again) for one back-off. Returns True if it was closed (log once)."""
        was_closed = not self._open_until
        self._open_until = self.clock() + self.backoff
        self._probing = False
        return was_closed

    def success(self) -> None:
        self._open_until = 0.0
        self._probing = False

    def abandon(self) -> None:
        """The probe neither failed nor succeeded (cancelled): let the next caller probe."""
        self._probing = False
