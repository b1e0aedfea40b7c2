"""Waiting for a service as `depends_on` conditions and `up --wait` do.

Healthchecks run inside the service's own network and mount namespaces (`nsenter` into its
PID), so `localhost`, compose names and mounted files mean what they mean in a container.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from .console import log
from .launch import service_env
from .model import Condition, Service
from .programs import Program
from .settings import Settings


@dataclass(frozen=True)
class Running:
    """A started service instance: its compose record, its native program and its process."""

    instance: str
    service: Service
    program: Program
    process: subprocess.Popen[bytes]


def healthy(running: Running) -> bool:
    """Runs the compose healthcheck once; True when it passes (or there is none)."""
    check = running.service.healthcheck
    if check is None:
        return True
    aliases = running.program.aliases
    if check.test[0] == "CMD-SHELL":
        command = check.test[1]
        for name, native in aliases.items():
            if name.startswith("/"):
                command = command.replace(name, native)
        argv = ["/bin/sh", "-c", command]
    else:
        argv = list(check.test[1:])
        argv[0] = aliases.get(argv[0], argv[0])
    try:
        result = subprocess.run(
            ["nsenter", "-t", str(running.process.pid), "-n", "-m", "--", *argv],
            env=service_env(running.service, running.instance),
            capture_output=True,
            timeout=check.timeout,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def wait_for(running: Running, condition: Condition, deadline: float, settings: Settings) -> bool:
    """Polls until `condition` holds (True), the service exits wrongly or the deadline passes (False)."""
    name = running.instance
    interval = min(running.service.healthcheck.interval if running.service.healthcheck else 1.0, 2.0)
    while time.monotonic() < deadline:
        exit_status = running.process.poll()
        if condition == "service_completed_successfully":
            if exit_status is not None:
                if exit_status != 0:
                    log(f"{name} exited with {exit_status}; see {settings.logs_dir / name}.log")
                return exit_status == 0
        elif exit_status is not None:
            log(f"{name} exited with {exit_status}; see {settings.logs_dir / name}.log")
            return False
        elif condition == "service_started" or healthy(running):
            return True
        time.sleep(interval)
    log(f"timed out waiting for {name} ({condition})")
    return False


def ready_condition(service: Service, one_shots: set[str]) -> Condition:
    """What `up --wait` waits for: one-shots to complete, others to be healthy or started."""
    if service.name in one_shots:
        return "service_completed_successfully"
    return "service_healthy" if service.healthcheck else "service_started"
