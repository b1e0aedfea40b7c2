"""Processes this runner started, and only those: identified by PID *and* start time.

A PID alone is not an identity: after a reboot or a long uptime the number recorded in the
state file may belong to someone else's program. Every started service leads its own process
group (new session), so "what we started" is: processes in that group that began no earlier
than the leader did. Nothing is ever signalled by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .console import RunnerError
from .settings import REPO


@dataclass(frozen=True)
class ProcessRef:
    pid: int
    start_ticks: int  # field 22 of /proc/PID/stat: start time in clock ticks since boot


@dataclass(frozen=True)
class _Stat:
    state: str
    group: int
    start_ticks: int


def _stat(pid: int) -> _Stat | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return _Stat(state=fields[0], group=int(fields[2]), start_ticks=int(fields[19]))


def reference(pid: int) -> ProcessRef:
    stat = _stat(pid)
    if stat is None:
        raise ProcessLookupError(pid)
    return ProcessRef(pid, stat.start_ticks)


def alive(ref: ProcessRef) -> bool:
    """The very process we started is still running (a zombie counts as gone)."""
    stat = _stat(ref.pid)
    return stat is not None and stat.start_ticks == ref.start_ticks and stat.state != "Z"


def group_members(refs: list[ProcessRef]) -> list[int]:
    """Live processes in the groups these leaders created (children that outlived a leader too)."""
    # The kernel reuses a PID only once no process or group uses it, so a leader PID now held
    # by a different process means our group is gone entirely.
    leaders = {ref.pid: ref.start_ticks for ref in refs if _leader_pid_free_or_ours(ref)}
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat and stat.state != "Z" and stat.group in leaders and stat.start_ticks >= leaders[stat.group]:
            members.append(int(entry.name))
    return members


def _leader_pid_free_or_ours(ref: ProcessRef) -> bool:
    stat = _stat(ref.pid)
    return stat is None or stat.start_ticks == ref.start_ticks


@dataclass(frozen=True)
class Stop:
    """How to stop one started process: compose's stop_signal and stop_grace_period."""

    process: ProcessRef
    signal_name: str = "SIGTERM"
    grace: float = 10.0


def signal_number(name: str) -> int:
    """compose writes "SIGINT", "INT" or a number."""
    if name.isdigit():
        return int(name)
    return int(signal.Signals[name if name.startswith("SIG") else f"SIG{name}"])


def terminate(stops: list[Stop]) -> None:
    """As `docker stop`, for all at once: the stop signal to each leader (the container's PID 1),
    then, once that leader has exited or its grace period is over, SIGKILL whatever is left of
    its group (as the kernel does to a PID namespace whose init exits)."""
    started = time.monotonic()
    for stop in stops:
        if alive(stop.process):
            with contextlib.suppress(ProcessLookupError):
                os.kill(stop.process.pid, signal_number(stop.signal_name))
    pending = list(stops)
    while pending:
        elapsed = time.monotonic() - started
        done = [stop for stop in pending if not alive(stop.process) or elapsed >= stop.grace]
        _signal(group_members([stop.process for stop in done]), signal.SIGKILL)
        pending = [stop for stop in pending if stop not in done]
        time.sleep(0.1 if pending else 0)
    deadline = time.monotonic() + 5  # SIGKILLed processes vanish within moments
    while group_members([stop.process for stop in stops]) and time.monotonic() < deadline:
        time.sleep(0.1)


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def start_helper(argv: list[str], log_path: Path, ready_line: str, what: str, timeout: float = 10) -> ProcessRef:
    """Starts one of the runner's own helper processes (port forwarder, DNS server) in a session
    of its own; returns once its log shows `ready_line`, raises RunnerError if it exits first."""
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            argv, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    ref = reference(process.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RunnerError(f"{what} failed:\n{log_path.read_text(errors='replace')[-2000:]}")
        if ready_line in log_path.read_text(errors="replace"):
            return ref
        time.sleep(0.1)
    raise RunnerError(f"{what}: not ready within {timeout:.0f}s; see {log_path}")
