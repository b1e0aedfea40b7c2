"""Starts one compose service natively: its mounts, working directory and command.

The service runs as `ip netns exec <ns> unshare --mount --uts /bin/sh <launch script>`: the
script mounts volumes, bind mounts, tmpfs and secrets at their container paths inside the
service's private mount namespace, then execs the program, so the service's PID is the
program's PID. Mount points that do not exist on this machine are created (and recorded for
`down`), except under a tmpfs the script mounts itself, where they exist only inside.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from .console import log
from .entrypoints import postgres_first_start, redis_arguments
from .model import Mount, Project, Secret, Service
from .programs import PG_BIN, Program
from .settings import REPO, Settings

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class PlannedMount:
    """A mount resolved to this machine: tmpfs has no source."""

    source: Path | None
    target: str
    read_only: bool
    tmpfs_options: str = ""

    @property
    def depth(self) -> int:
        return len(PurePosixPath(self.target).parts)


def hostname(service: Service, instance: str) -> str:
    """compose's `hostname`, else the instance name (Docker would use the container ID)."""
    return service.hostname or instance


def service_env(service: Service, instance: str) -> dict[str, str]:
    env = dict(service.environment)
    env["PATH"] = f"{REPO / '.venv/bin'}:{PG_BIN}:{BASE_PATH}"
    env.setdefault("HOME", "/root")
    env["HOSTNAME"] = hostname(service, instance)
    return env


def workdir_of(service: Service, program: Program) -> str:
    workdir = service.working_dir or program.workdir
    return str(REPO) if workdir == "/app" else workdir  # the app image keeps the repo at /app


def plan_mounts(service: Service, project: Project, program: Program, settings: Settings) -> list[PlannedMount]:
    """Every mount of the service on this machine's paths, parents before children."""
    plan: list[PlannedMount] = []
    for mount in service.mounts:
        planned = _resolve(service, mount, project, settings)
        if planned is not None:
            plan.append(planned)
    if any(mount.kind == "secret" and mount.target.startswith("/run/secrets/") for mount in service.mounts):
        plan.append(PlannedMount(None, "/run/secrets", False, "mode=0755,size=1m"))  # as Docker: only this service's
    workdir = workdir_of(service, program)
    if not Path(workdir).exists() and all(mount.target != workdir for mount in plan):
        plan.append(PlannedMount(None, workdir, False))  # the image's anonymous volume (e.g. redis /data)
    return sorted(plan, key=lambda mount: mount.depth)


def _resolve(service: Service, mount: Mount, project: Project, settings: Settings) -> PlannedMount | None:
    if mount.kind == "tmpfs":
        return PlannedMount(None, mount.target, False, mount.options)
    if mount.kind == "volume":
        declared = project.volumes.get(mount.source)
        source = settings.volumes_dir / (declared.name if declared else f"{project.name}_{mount.source}")
        source.mkdir(parents=True, exist_ok=True)
        return PlannedMount(source, mount.target, mount.read_only)
    if mount.kind == "secret":
        return PlannedMount(_content_file(project.secrets[mount.source], "secrets", settings), mount.target, True)
    if mount.kind == "config":
        return PlannedMount(_content_file(project.configs[mount.source], "configs", settings), mount.target, True)
    source = Path(mount.source)
    if not source.exists():  # e.g. the Docker socket on a machine without Docker
        log(f"{service.name}: bind source {source} does not exist here; not mounted")
        return None
    return PlannedMount(source, mount.target, mount.read_only)


def _content_file(source: Secret, kind: str, settings: Settings) -> Path:
    """The file to mount for a secret or config: its `file:`, or its value written where only root reads."""
    if source.file is not None:
        return source.file
    directory = settings.state_dir / kind
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / source.name
    path.touch(mode=0o400)
    # `environment:` is read from the runner's own environment, as compose reads its own.
    path.write_text(source.content if source.content is not None else os.environ.get(source.environment or "", ""))
    return path


def _under_tmpfs(target: str, plan: list[PlannedMount]) -> bool:
    return any(
        mount.source is None and mount.target != target and PurePosixPath(target).is_relative_to(mount.target)
        for mount in plan
    )


def ensure_mount_points(plan: list[PlannedMount], created: list[str]) -> None:
    """Creates missing mount points on this machine, recording the topmost path made."""
    for mount in plan:
        target = Path(mount.target)
        if target.exists() or _under_tmpfs(mount.target, plan):
            continue
        top = target
        while not top.parent.exists():
            top = top.parent
        if mount.source is None or mount.source.is_dir():
            target.mkdir(parents=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        created.append(str(top))


def _argv(service: Service, program: Program) -> list[str]:
    argv = (service.entrypoint or program.entrypoint) + service.command
    if argv and argv[0] in program.aliases:
        argv[0] = program.aliases[argv[0]]
    return redis_arguments(argv) if program.launcher == "redis" else argv


def stage_hidden_sources(plan: list[PlannedMount], stage: Path) -> tuple[list[PlannedMount], list[str]]:
    """Sources that one of the service's own mounts would cover (a project under /tmp when the
    service mounts a tmpfs on /tmp) are bind-mounted to a staging path first, and mounted from
    there. Returns the plan with staged sources and the mount lines that must run first."""
    staged_plan, lines = [], []
    for number, mount in enumerate(plan):
        source = mount.source
        if source is None or not any(
            other.target != "/" and PurePosixPath(source).is_relative_to(other.target) for other in plan
        ):
            staged_plan.append(mount)
            continue
        staged = stage / str(number)
        stage.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            staged.mkdir(exist_ok=True)
        else:
            staged.touch()
        lines.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(str(staged))}")
        staged_plan.append(replace(mount, source=staged))
    return staged_plan, lines


def _mount_lines(plan: list[PlannedMount]) -> list[str]:
    lines = []
    for mount in plan:
        target = shlex.quote(mount.target)
        if _under_tmpfs(mount.target, plan):  # the mount point exists only in this namespace
            make = "mkdir -p" if mount.source is None or mount.source.is_dir() else "touch"
            lines.append(f"mkdir -p $(dirname {target}) && {make} {target}")
        if mount.source is None:
            options = f" -o {shlex.quote(mount.tmpfs_options)}" if mount.tmpfs_options else ""
            lines.append(f"mount -t tmpfs{options} tmpfs {target}")
            continue
        lines.append(f"mount --bind {shlex.quote(str(mount.source))} {target}")
        if mount.read_only:
            lines.append(f"mount -o remount,bind,ro {target}")
    return lines


def launch_script(
    service: Service, instance: str, program: Program, plan: list[PlannedMount], staging: list[str]
) -> str:
    lines = ["#!/bin/sh", "set -e", f"hostname {shlex.quote(hostname(service, instance))}"]
    lines += staging + _mount_lines(plan)
    argv = _argv(service, program)
    if program.launcher == "postgres":
        lines += postgres_first_start()
        args = argv[1:] if argv and argv[0].endswith("postgres") else argv
        server = [str(PG_BIN / "postgres"), "-D", "$PGDATA", "-c", "listen_addresses=*"]  # as the image: every address
        quoted = " ".join(arg if arg == "$PGDATA" else shlex.quote(arg) for arg in server + args)
        # setpriv execs (runuser would fork and wait): the service's PID is the server's, as in the image
        lines.append(
            f"exec setpriv{_no_new_privs(service)} --reuid=postgres --regid=postgres --init-groups -- {quoted}"
        )
    else:
        lines.append(f"cd {shlex.quote(workdir_of(service, program))}")
        prefix = f"setpriv{_no_new_privs(service)} -- " if service.no_new_privileges else ""
        lines.append(f"exec {prefix}" + " ".join(shlex.quote(arg) for arg in argv))
    return "\n".join(lines) + "\n"


def _no_new_privs(service: Service) -> str:
    """setpriv's flag for `security_opt: [no-new-privileges]`: no exec can gain privileges
    (setuid bits, file capabilities), as under Docker; the mounts before it still need root."""
    return " --no-new-privs" if service.no_new_privileges else ""


def start(
    service: Service,
    instance: str,
    program: Program,
    project: Project,
    settings: Settings,
    namespace: str,
    created: list[str],
) -> subprocess.Popen[bytes]:
    """Starts one instance of the service in its network namespace; the process leads its own group."""
    plan = plan_mounts(service, project, program, settings)
    ensure_mount_points(plan, created)
    script = settings.state_dir / "launch" / f"{instance}.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    plan, staging = stage_hidden_sources(plan, script.with_suffix(".stage"))
    script.write_text(launch_script(service, instance, program, plan, staging))
    with open(settings.logs_dir / f"{instance}.log", "ab", buffering=0) as log_file:
        return subprocess.Popen(
            ["ip", "netns", "exec", namespace, "unshare", "--mount", "--uts", "--propagation", "private"]
            + ["/bin/sh", str(script)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=service_env(service, instance),
            start_new_session=True,
        )
