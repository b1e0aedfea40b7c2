"""The state file: what one native stack consists of, so `down` removes exactly that.

It records which checkout owns the stack, the processes started (PID and start time), the
namespaces' addresses and the mount points created on this machine. `up` refuses a state
directory that another checkout owns or that is still running; a lock file serialises
runner commands on one state directory.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .console import RunnerError
from .procs import ProcessRef, Stop, alive
from .settings import Settings


@dataclass
class Instance:
    """One running copy of a service (one per replica), in a namespace of its own."""

    service: str
    index: int  # position on the bridge: address and veth name derive from it
    addr: str
    names: list[str]  # what resolves to addr: instance, service and alias names
    process: ProcessRef | None = None
    stop_signal: str = "SIGTERM"  # compose's stop_signal, else the image's STOPSIGNAL
    stop_grace: float = 10.0  # compose's stop_grace_period

    def stop(self) -> Stop | None:
        return Stop(self.process, self.stop_signal, self.stop_grace) if self.process else None


@dataclass
class State:
    project: str
    project_dir: str  # the checkout that owns this stack
    profiles: list[str]
    services: dict[str, Instance] = field(default_factory=dict)  # by instance name
    skipped: dict[str, str] = field(default_factory=dict)  # service -> why it is not run here
    created: list[str] = field(default_factory=list)  # mount points made on this machine, removed by down
    forwarder: ProcessRef | None = None
    dns: ProcessRef | None = None

    def processes(self) -> list[ProcessRef]:
        refs = [instance.process for instance in self.services.values() if instance.process]
        return refs + [helper for helper in (self.forwarder, self.dns) if helper]

    def select(self, name: str) -> dict[str, Instance]:
        """The instances a command names: one instance, or every replica of a service."""
        return {key: entry for key, entry in self.services.items() if name in (key, entry.service)}

    def live(self) -> bool:
        return any(alive(ref) for ref in self.processes())


def load(settings: Settings) -> State | None:
    if not settings.state_file.exists():
        return None
    raw = json.loads(settings.state_file.read_text())
    if "project_dir" not in raw:  # written before processes were recorded with their start time
        pids = sorted(entry["pid"] for entry in raw.get("services", {}).values() if entry.get("pid"))
        raise RunnerError(
            f"{settings.state_file} was written by an older runner that did not record process start times, "
            f"so its PIDs ({', '.join(map(str, pids)) or 'none'}) cannot be verified as its own. Check them with "
            "`ps`, end the ones that are the stack's, delete its namespaces (`ip netns list`), then delete the file."
        )
    try:
        return parse(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise RunnerError(f"{settings.state_file} is not a state file this runner wrote ({exc!r})") from exc


def parse(raw: dict[str, Any]) -> State:
    return State(
        project=raw["project"],
        project_dir=raw["project_dir"],
        profiles=raw["profiles"],
        services={
            name: Instance(
                service=entry["service"],
                index=entry["index"],
                addr=entry["addr"],
                names=entry["names"],
                process=_ref(entry.get("process")),
                stop_signal=entry.get("stop_signal", "SIGTERM"),
                stop_grace=entry.get("stop_grace", 10.0),
            )
            for name, entry in raw["services"].items()
        },
        skipped=raw["skipped"],
        created=raw["created"],
        forwarder=_ref(raw.get("forwarder")),
        dns=_ref(raw.get("dns")),
    )


def _ref(raw: dict[str, int] | None) -> ProcessRef | None:
    return ProcessRef(raw["pid"], raw["start_ticks"]) if raw else None


def save(settings: Settings, state: State) -> None:
    temporary = settings.state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(state), indent=2))
    temporary.replace(settings.state_file)  # a crash mid-write never leaves half a state file


def check_owner(settings: Settings, state: State) -> None:
    """Refuses to act on a stack that another checkout started (unless that checkout is gone)."""
    owner = Path(state.project_dir)
    if owner != settings.project_dir and owner.exists():
        status = "running" if state.live() else "stopped but not torn down"
        raise RunnerError(
            f"{settings.state_dir} holds the native stack of {owner} (project {state.project}, {status}).\n"
            f"Run `python3 -m tools.runner down` in {owner}, or run this one beside it with other "
            "OBS_NATIVE_STATE, OBS_NATIVE_NET and OBS_NATIVE_SUBNET values (tools/runner/settings.py)."
        )


def named_instances(settings: Settings, name: str) -> tuple[State, dict[str, Instance]]:
    """The running stack and the instances `stop`/`start NAME` act on; call it under locked()."""
    current = load(settings)
    if current is None:
        raise RunnerError("the native stack is not up")
    check_owner(settings, current)
    targets = current.select(name)
    if not targets:
        raise RunnerError(f"unknown or skipped service {name}")
    return current, targets


@contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """One runner command at a time per state directory; a second one is refused, not queued."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.state_dir / "lock", "a+") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "another process"
            raise RunnerError(f"another runner command ({holder}) is working on {settings.state_dir}") from None
        lock_file.truncate(0)
        lock_file.write(f"pid {os.getpid()}")
        lock_file.flush()
        yield
