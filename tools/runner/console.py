"""What the runner tells its user: timestamped progress lines, and the one error type.

A `RunnerError` carries a message meant for the user (what is wrong and what to do); the
CLI prints it and exits 1 without a traceback.
"""

from __future__ import annotations

import time


class RunnerError(Exception):
    """A condition the user must act on; the message says what and how."""


def log(message: str) -> None:
    print(f"[native {time.strftime('%H:%M:%S')}] {message}", flush=True)
