"""`up` and `start SERVICE`: bring the compose project up natively and wait until it is ready.

    refuse foreign or live state -> render compose -> pick programs -> check published ports
      -> bridge, DNS server, one namespace per instance (replicas: one each) -> port forwarder
      -> services in dependency order (each waits for its depends_on conditions on every
      replica) -> wait for every instance, as `up --wait`

Everything made is written to the state file before the next step, so `down` can remove it
even when `up` fails halfway.
"""

from __future__ import annotations

import shutil
import sys
import time

from . import compose, launch, netns, ports, state
from .console import RunnerError, log
from .down import teardown
from .model import Project
from .netns import Network
from .procs import alive, reference, start_helper
from .programs import Program, ProgramUnavailable, program_for
from .settings import Settings
from .state import Instance, State
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
        _plan_instances(project, programs, network, current)
        state.save(settings, current)

        netns.create_bridge(network)
        netns.create_dns_namespace(network)
        current.dns = start_helper(
            ["ip", "netns", "exec", network.dns_namespace, sys.executable, "-m", "tools.runner.dns"]
            + [str(settings.state_file), f"{network.dns_address}:53"],
            settings.logs_dir / "_dns.log",
            "dns ready",
            "the DNS server",
        )
        state.save(settings, current)
        hosts = {entry.addr: entry.names for entry in current.services.values()}
        for name, entry in current.services.items():
            netns.create_namespace(network, name, entry.index, hosts)
        routes = [
            (port, entry.addr) for entry in current.services.values() for port in project.services[entry.service].ports
        ]
        if routes:
            current.forwarder = ports.start_forwarder(routes, settings.logs_dir / "_portfwd.log")
        state.save(settings, current)
        log(f"network ready ({len(current.services)} namespaces) in {time.monotonic() - started_at:.1f}s")

        deadline = started_at + timeout
        running: dict[str, list[Running]] = {}
        for name in project.start_order(set(programs)):
            service = project.services[name]
            for dependency, condition in service.depends_on.items():
                if dependency in skipped:
                    log(f"{name}: dependency {dependency} is not available natively; not waiting for it")
                    continue
                replicas = running.get(dependency, [])
                if not replicas or not all(wait_for(entry, condition, deadline, settings) for entry in replicas):
                    log(f"FAILED: {name} waits for {dependency} ({condition})")
                    return 1
            running[name] = []
            for instance in service.instances():
                process = launch.start(
                    service, instance, programs[name], project, settings, network.namespace(instance), current.created
                )
                running[name].append(Running(instance, service, programs[name], process))
                current.services[instance].process = reference(process.pid)
                state.save(settings, current)
                log(f"started {instance} (pid {process.pid}) after {time.monotonic() - started_at:.1f}s")

        one_shots = project.one_shots()
        ready = [
            wait_for(entry, ready_condition(entry.service, one_shots), deadline, settings)
            for replicas in running.values()
            for entry in replicas
        ]
    outcome = "all services up" if all(ready) else "FAILED: not every service became ready"
    log(f"{outcome} in {time.monotonic() - started_at:.1f}s")
    return 0 if all(ready) else 1


def _plan_instances(project: Project, programs: dict[str, Program], network: Network, current: State) -> None:
    """Gives every instance its bridge slot and the names that resolve to it."""
    index = 0
    for name in sorted(programs):
        service = project.services[name]
        for instance in service.instances():
            names = list(dict.fromkeys([instance, name, *service.aliases]))
            current.services[instance] = Instance(
                name,
                index,
                network.address(index),
                names,
                stop_signal=service.stop_signal or programs[name].stop_signal,
                stop_grace=service.stop_grace,
            )
            index += 1


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
    return programs, skipped


def _check_ports(project: Project, programs: dict[str, Program]) -> None:
    """Every published port of every service that will run must be free, before anything starts."""
    claimed: dict[tuple[str, int], str] = {}
    for name in sorted(programs):
        service = project.services[name]
        if service.ports and service.replicas > 1:
            raise RunnerError(
                f"service {name} has {service.replicas} replicas and publishes fixed ports: only one replica "
                "could bind them (Docker fails the same way); publish through a load balancer instead"
            )
        for port in service.ports:
            key = (port.host_ip, port.published)
            if key in claimed:
                raise RunnerError(f"services {claimed[key]} and {name} both publish {port.host_ip}:{port.published}")
            claimed[key] = name
            ports.check_free(name, port)


def start(settings: Settings, name: str, timeout: float) -> int:
    """Starts a stopped service (every replica) or one instance again, as `docker compose start`."""
    with state.locked(settings):
        current, targets = state.named_instances(settings, name)
        project = compose.render(settings, current.profiles)
        network = Network(settings.net_prefix, settings.subnet)
        started = []
        for instance, entry in targets.items():
            if entry.process and alive(entry.process):
                log(f"{instance} is already running")
                continue
            service = project.services[entry.service]
            program = program_for(service)
            process = launch.start(
                service, instance, program, project, settings, network.namespace(instance), current.created
            )
            entry.process = reference(process.pid)
            state.save(settings, current)
            started.append(Running(instance, service, program, process))
        deadline = time.monotonic() + timeout
        ready = {
            entry.instance: wait_for(entry, ready_condition(entry.service, set()), deadline, settings)
            for entry in started
        }
    for instance, ok in ready.items():
        log(f"started {instance} again: {'ready' if ok else 'NOT ready'}")
    return 0 if all(ready.values()) else 1
