"""Loopback ports and polling. Tests wait for a condition with a deadline, never for a fixed
time: the poll is the assertion, and a timeout says what it saw last."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
# What a probe may raise while the thing it waits for is not there yet.
NOT_YET = (OSError, RuntimeError, KeyError, ValueError)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def poll_until(what: str, probe: Callable[[], T], timeout: float, every: float = 0.25) -> T:
    """Call probe() until it returns something truthy and return that.

    On timeout raise AssertionError naming `what` and the last value or error seen. Errors in
    NOT_YET count as "not yet"; anything else (an AssertionError from a probe that found a
    dead process, say) ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = probe()
        except NOT_YET as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
        time.sleep(every)
