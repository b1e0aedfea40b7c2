"""Typed records of a compose project, read from `compose config --format json`.

The compose CLI has already interpolated `.env`, applied profiles and merged the files;
this module only turns its JSON into the few fields the runner acts on. Hardening keys that
only a container engine can honour (read_only, cap_add/cap_drop, security_opt other than
no-new-privileges, logging, user) are listed in `Service.not_emulated` so `up` can say so;
restart policies and resource limits are ignored silently (tools/README.md lists them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Json = dict[str, Any]
Condition = Literal["service_started", "service_healthy", "service_completed_successfully"]
MountKind = Literal["bind", "volume", "tmpfs", "secret", "config"]

# Docker-only hardening keys: accepted (valid compose), not emulated natively; `up` names them per service.
NOT_EMULATED = ("read_only", "cap_add", "cap_drop", "logging", "user")
NO_NEW_PRIVILEGES = ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true")


@dataclass(frozen=True)
class Mount:
    kind: MountKind
    source: str  # host path (bind, secret), volume key (volume), "" (tmpfs)
    target: str  # path inside the service
    read_only: bool = False
    options: str = ""  # tmpfs mount options, e.g. "size=64m"


@dataclass(frozen=True)
class Port:
    host_ip: str
    published: int
    target: int


@dataclass(frozen=True)
class Healthcheck:
    test: list[str]  # ["CMD", argv...] or ["CMD-SHELL", "command"]
    interval: float
    timeout: float


@dataclass(frozen=True)
class Volume:
    name: str  # the engine-wide name, `<project>_<key>` unless set explicitly
    external: bool


@dataclass(frozen=True)
class Secret:
    """A top-level `secrets:` or `configs:` entry: where its content comes from."""

    name: str
    file: Path | None  # `file:` source
    environment: str | None  # `environment:` source: the variable holding the value
    content: str | None = None  # `content:` source (configs only)


@dataclass(frozen=True)
class Service:
    name: str
    image: str | None
    built: bool  # has a `build:` section (the app image)
    entrypoint: list[str] | None
    command: list[str]
    environment: dict[str, str]
    working_dir: str | None
    hostname: str | None
    aliases: list[str]  # container_name and network aliases: more names for the same address
    mounts: list[Mount]
    ports: list[Port]
    depends_on: dict[str, Condition]
    healthcheck: Healthcheck | None
    replicas: int
    stop_signal: str | None = None  # None: the image's own (programs.py)
    stop_grace: float = 10.0
    no_new_privileges: bool = False  # security_opt no-new-privileges: honoured with setpriv
    not_emulated: list[str] = field(default_factory=list)

    def instances(self) -> list[str]:
        """One name per replica: the service's own, or `<service>-<n>` as compose numbers containers."""
        return (
            [self.name] if self.replicas == 1 else [f"{self.name}-{number}" for number in range(1, self.replicas + 1)]
        )


@dataclass(frozen=True)
class Project:
    name: str
    services: dict[str, Service]
    volumes: dict[str, Volume]
    secrets: dict[str, Secret]
    configs: dict[str, Secret]

    def one_shots(self) -> set[str]:
        """Services another waits on to complete (migrations): they are meant to exit."""
        return {
            dependency
            for service in self.services.values()
            for dependency, condition in service.depends_on.items()
            if condition == "service_completed_successfully"
        }

    def start_order(self, names: set[str]) -> list[str]:
        """`names` with every service after the services it depends on."""
        ordered: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for dependency in self.services[name].depends_on:
                if dependency in names:
                    visit(dependency)
            ordered.append(name)

        for name in sorted(names):
            visit(name)
        return ordered


def seconds(value: object, default: float) -> float:
    """Compose JSON gives durations as Go strings ("5s", "1m30s") or as nanoseconds."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return value / 1e9
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"([\d.]+)(ms|us|h|m|s)", str(value))
    return sum(float(number) * units[unit] for number, unit in parts) or default


def parse_project(config: Json) -> Project:
    volumes = {
        key: Volume(
            name=str((spec or {}).get("name") or f"{config['name']}_{key}"), external=bool((spec or {}).get("external"))
        )
        for key, spec in (config.get("volumes") or {}).items()
    }
    secrets, configs = _sources(config.get("secrets")), _sources(config.get("configs"))
    services = {name: _service(name, spec, secrets, configs) for name, spec in config["services"].items()}
    return Project(name=str(config["name"]), services=services, volumes=volumes, secrets=secrets, configs=configs)


def _sources(section: Json | None) -> dict[str, Secret]:
    return {
        key: Secret(
            name=key,
            file=Path(spec["file"]) if spec.get("file") else None,
            environment=spec.get("environment"),
            content=spec.get("content"),
        )
        for key, spec in (section or {}).items()
    }


def _service(name: str, spec: Json, secrets: dict[str, Secret], configs: dict[str, Secret]) -> Service:
    aliases = [spec["container_name"]] if spec.get("container_name") else []
    for network in (spec.get("networks") or {}).values():
        aliases += (network or {}).get("aliases") or []
    deploy = spec.get("deploy") or {}
    health = spec.get("healthcheck") or {}
    test = health.get("test") or []
    return Service(
        name=name,
        image=spec.get("image"),
        built="build" in spec,
        entrypoint=list(spec["entrypoint"]) if spec.get("entrypoint") else None,
        command=list(spec.get("command") or []),
        environment={
            key: "" if value is None else str(value) for key, value in (spec.get("environment") or {}).items()
        },
        working_dir=spec.get("working_dir"),
        hostname=spec.get("hostname"),
        aliases=aliases,
        mounts=_mounts(name, spec, secrets, configs),
        ports=[
            Port(
                host_ip=port.get("host_ip") or "127.0.0.1", published=int(port["published"]), target=int(port["target"])
            )
            for port in spec.get("ports") or []
            if port.get("published")
        ],
        depends_on={
            dependency: (condition or {}).get("condition", "service_started")
            for dependency, condition in (spec.get("depends_on") or {}).items()
        },
        healthcheck=None
        if health.get("disable") or not test or test[0] == "NONE"
        else Healthcheck(
            test=list(test),
            interval=seconds(health.get("interval"), 30),
            timeout=seconds(health.get("timeout"), 30),
        ),
        replicas=int(deploy.get("replicas") or spec.get("scale") or 1),
        stop_signal=spec.get("stop_signal"),
        stop_grace=seconds(spec.get("stop_grace_period"), 10),
        no_new_privileges=any(option in NO_NEW_PRIVILEGES for option in spec.get("security_opt") or []),
        not_emulated=[key for key in NOT_EMULATED if spec.get(key)]
        + [f"security_opt {option}" for option in spec.get("security_opt") or [] if option not in NO_NEW_PRIVILEGES],
    )


def _mounts(name: str, spec: Json, secrets: dict[str, Secret], configs: dict[str, Secret]) -> list[Mount]:
    mounts: list[Mount] = []
    for volume in spec.get("volumes") or []:
        kind = volume["type"]
        if kind in ("bind", "volume"):
            # An anonymous volume (no source) gets a name of its own, as the engine gives it one.
            source = volume.get("source") or f"{name}{volume['target'].replace('/', '_')}"
            mounts.append(Mount(kind, str(source), volume["target"], bool(volume.get("read_only"))))
        elif kind == "tmpfs":
            size = (volume.get("tmpfs") or {}).get("size")
            mounts.append(Mount("tmpfs", "", volume["target"], options=f"size={size}" if size else ""))
    for entry in spec.get("tmpfs") or []:  # short form: "/path[:options]"
        target, _, options = str(entry).partition(":")
        mounts.append(Mount("tmpfs", "", target, options=options))
    for reference in spec.get("secrets") or []:
        source = reference["source"]
        if source not in secrets:
            raise ValueError(f"service {name} uses secret {source!r}, which is not declared at the top level")
        target = reference.get("target") or source
        path = target if target.startswith("/") else f"/run/secrets/{target}"
        mounts.append(Mount("secret", source, path, read_only=True))
    for reference in spec.get("configs") or []:  # mounted at /<name> unless a target is given
        source = reference["source"]
        if source not in configs:
            raise ValueError(f"service {name} uses config {source!r}, which is not declared at the top level")
        mounts.append(Mount("config", source, reference.get("target") or f"/{source}", read_only=True))
    return mounts
