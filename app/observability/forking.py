"""Worker threads that survive fork.

A process forked after setup (gunicorn --preload, multiprocessing) keeps the parent's objects
but none of its threads: a queue drained by a worker thread would fill and never be sent.
The span export queue and the Sentry reporter each register here to start a new worker in
the child. The hook holds the owner weakly, so registering does not keep it alive.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def restart_in_child(owner: T, start: Callable[[T], None]) -> None:
    """After a fork, call start(owner) in the child if the owner still exists."""
    ref = weakref.ref(owner)

    def restart() -> None:
        alive = ref()
        if alive is not None:
            start(alive)

    os.register_at_fork(after_in_child=restart)
