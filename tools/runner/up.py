"""`up` and `start SERVICE`: bring the compose project up natively and wait until it is ready.

    refuse foreign or live state -> render compose -> pick programs -> check published ports
      -> bridge + one namespace per service -> port forwarder -> services in dependency order
      (each waits for its depends_on conditions) -> wait for every service, as `up --wait`

Everything made is written to the state file before the next step, so `down` can remove it
even when `up` fails halfway.
"""

from __future__ import annotations

import shutil
import time

from . import compose, launch, netns, ports, state
from .console import RunnerError, log
from .down import teardown
from .model import Project
from .netns import Network
from .procs import alive, reference
from .programs import Program, ProgramUnavailable, program_for
from .settings import Settings
from .state import ServiceState, State
from .wait import Running, ready_condition, wait_for


def up(settings: Settings, profiles: list[str], timeout: float) -> int:
    started_at = time.monotonic()
    with state.locked(settings):
        _clear_previous(settings)
        project = compose.render(settings, profiles)
        programs, skipped = _programs(project)
        _check_ports(project, programs)
        network = Network(settings.net_prefix, settings.subnet)
        netns.ensure_free(network)

        shutil.rmtree(settings.logs_dir, ignore_errors=True)  # logs of the previous run go with it
        settings.logs_dir.mkdir(parents=True)
        current = State(project=project.name, project_dir=str(settings.project_dir), profiles=profiles, skipped=skipped)
        for index, name in enumerate(sorted(programs)):
            current.services[name] = ServiceState(index=index, addr=network.address(index))
        state.save(settings, current)

        netns.create_bridge(network)
        hosts = {entry.addr: [name, *project.services[name].aliases] for name, entry in current.services.items()}
        for name, entry in current.services.items():
            netns.create_namespace(network, name, entry.index, hosts)
        routes = [
            (port, entry.addr) for name, entry in current.services.items() for port in project.services[name].ports
        ]
        if routes:
            current.forwarder = ports.start_forwarder(routes, settings.logs_dir / "_portfwd.log")
        state.save(settings, current)
        log(f"network ready ({len(programs)} namespaces) in {time.monotonic() - started_at:.1f}s")

        deadline = started_at + timeout
        running: dict[str, Running] = {}
        for name in project.start_order(set(programs)):
            service = project.services[name]
            for dependency, condition in service.depends_on.items():
                if dependency in skipped:
                    log(f"{name}: dependency {dependency} is not available natively; not waiting for it")
                elif dependency not in running or not wait_for(running[dependency], condition, deadline, settings):
                    log(f"FAILED: {name} waits for {dependency} ({condition})")
                    return 1
            process = launch.start(service, programs[name], project, settings, network.namespace(name), current.created)
            running[name] = Running(service, programs[name], process)
            current.services[name].process = reference(process.pid)
            state.save(settings, current)
            log(f"started {name} (pid {process.pid}) after {time.monotonic() - started_at:.1f}s")

        one_shots = project.one_shots()
        ready = [
            wait_for(entry, ready_condition(entry.service, one_shots), deadline, settings) for entry in running.values()
        ]
    outcome = "all services up" if all(ready) else "FAILED: not every service became ready"
    log(f"{outcome} in {time.monotonic() - started_at:.1f}s")
    return 0 if all(ready) else 1


def _clear_previous(settings: Settings) -> None:
    """Refuses a stack that is running or belongs to another checkout; removes a dead one's leftovers."""
    previous = state.load(settings)
    if previous is None:
        return
    state.check_owner(settings, previous)
    if previous.live():
        raise RunnerError(
            f"the native stack of {previous.project_dir} is already running (state in {settings.state_dir}); "
            "run `python3 -m tools.runner down` first"
        )
    log("removing what a previous run left behind (its processes are gone)")
    teardown(settings, previous)


def _programs(project: Project) -> tuple[dict[str, Program], dict[str, str]]:
    programs: dict[str, Program] = {}
    skipped: dict[str, str] = {}
    for name, service in sorted(project.services.items()):
        try:
            programs[name] = program_for(service)
        except ProgramUnavailable as reason:
            skipped[name] = str(reason)
            log(f"SKIP {name}: {reason}")
            continue
        if service.not_emulated:
            log(f"{name}: accepted, not emulated natively: {', '.join(service.not_emulated)}")
        if service.replicas > 1:
            log(f"{name}: {service.replicas} replicas requested; the native runner starts one")
    return programs, skipped


def _check_ports(project: Project, programs: dict[str, Program]) -> None:
    """Every published port of every service that will run must be free, before anything starts."""
    claimed: dict[tuple[str, int], str] = {}
    for name in sorted(programs):
        for port in project.services[name].ports:
            key = (port.host_ip, port.published)
            if key in claimed:
                raise RunnerError(f"services {claimed[key]} and {name} both publish {port.host_ip}:{port.published}")
            claimed[key] = name
            ports.check_free(name, port)


def start(settings: Settings, name: str, timeout: float) -> int:
    """Starts a stopped service again in its namespace (as `docker compose start SERVICE`)."""
    with state.locked(settings):
        current = state.load(settings)
        if current is None:
            raise RunnerError("the native stack is not up")
        state.check_owner(settings, current)
        entry = current.services.get(name)
        if entry is None:
            raise RunnerError(f"unknown or skipped service {name}")
        if entry.process and alive(entry.process):
            log(f"{name} is already running")
            return 0
        project = compose.render(settings, current.profiles)
        service = project.services[name]
        program = program_for(service)
        namespace = Network(settings.net_prefix, settings.subnet).namespace(name)
        process = launch.start(service, program, project, settings, namespace, current.created)
        entry.process = reference(process.pid)
        state.save(settings, current)
        ok = wait_for(
            Running(service, program, process), ready_condition(service, set()), time.monotonic() + timeout, settings
        )
    log(f"started {name} again (pid {process.pid}): {'ready' if ok else 'NOT ready'}")
    return 0 if ok else 1
