"""Starts one compose service natively: mounts, working directory, command, healthcheck."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from .netns import ns_name
from .programs import PG_BIN, REPO, Program

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def service_env(svc: dict) -> dict[str, str]:
    env = {k: "" if v is None else str(v) for k, v in (svc.get("environment") or {}).items()}
    env["PATH"] = f"{REPO / '.venv/bin'}:{PG_BIN}:{BASE_PATH}"
    env.setdefault("HOME", "/root")
    env["HOSTNAME"] = svc.get("hostname") or svc["name"]
    return env


def mount_plan(svc: dict, volumes_dir: Path) -> list[tuple[str, str, bool]]:
    """(source on this machine, container path, read-only) for every mount, shallow first."""
    plan = []
    for v in svc.get("volumes") or []:
        if v["type"] == "bind":
            src = v["source"]
            if not Path(src).exists():  # e.g. the Docker socket on a machine without Docker
                print(f"[native] {svc['name']}: bind source {src} does not exist here; not mounted")
                continue
        elif v["type"] == "volume":
            src = str(volumes_dir / v["source"])
            Path(src).mkdir(parents=True, exist_ok=True)
        else:
            continue
        plan.append((src, v["target"], bool(v.get("read_only"))))
    return sorted(plan, key=lambda m: m[1].count("/"))


def ensure_mount_points(plan, created: list[str]) -> None:
    """Creates missing container paths on this machine, remembering the topmost one made."""
    for src, target, _ in plan:
        t = Path(target)
        if t.exists():
            continue
        top = t
        while not top.parent.exists():
            top = top.parent
        if src == "tmpfs" or Path(src).is_dir():
            t.mkdir(parents=True)
        else:
            t.parent.mkdir(parents=True, exist_ok=True)
            t.touch()
        created.append(str(top))


def _argv(svc: dict, prog: Program) -> list[str]:
    entry = svc.get("entrypoint")
    command = svc.get("command") or []
    argv = list(entry) + list(command) if entry else list(prog.entrypoint) + list(command)
    if argv and argv[0] in prog.aliases:
        argv[0] = prog.aliases[argv[0]]
    # The redis image's entrypoint turns protected mode off when no config file is given
    # (compose peers connect from other addresses); do the same.
    if prog.launcher == "redis" and not any(a.endswith(".conf") or a == "--protected-mode" for a in argv):
        argv += ["--protected-mode", "no"]
    return argv


def launcher_script(svc: dict, prog: Program, plan) -> str:
    lines = ["#!/bin/sh", "set -e", f"hostname {shlex.quote(svc.get('hostname') or svc['name'])}"]
    for src, target, ro in plan:
        if src == "tmpfs":  # the image's anonymous volume (its WORKDIR, e.g. redis /data)
            lines.append(f"mount -t tmpfs tmpfs {shlex.quote(target)}")
            continue
        lines.append(f"mount --bind {shlex.quote(src)} {shlex.quote(target)}")
        if ro:
            lines.append(f"mount -o remount,bind,ro {shlex.quote(target)}")
    argv = _argv(svc, prog)
    if prog.launcher == "postgres":
        lines += _postgres_init(svc, argv)
        args = argv[1:] if argv and argv[0].endswith("postgres") else argv
        argv = [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "postgres"),
            "-D",
            "$PGDATA",
            "-c",
            "listen_addresses=*",
        ] + args  # the image listens on every address
        lines.append("exec " + " ".join(a if a == "$PGDATA" else shlex.quote(a) for a in argv))
        return "\n".join(lines) + "\n"
    workdir = workdir_of(svc, prog)
    lines.append(f"cd {shlex.quote(workdir)}")
    if svc.get("user") and svc["user"] not in ("0", "root"):
        lines.append("# compose 'user' is not switched natively: files in volumes stay root-owned")
    lines.append("exec " + " ".join(shlex.quote(a) for a in argv))
    return "\n".join(lines) + "\n"


def workdir_of(svc: dict, prog: Program) -> str:
    workdir = svc.get("working_dir") or prog.workdir
    return str(REPO) if workdir == "/app" else workdir  # the app image keeps the repo at /app


def _postgres_init(svc: dict, argv: list[str]) -> list[str]:
    """What the postgres image's entrypoint does on an empty data directory."""
    return [
        "mount -t tmpfs tmpfs /var/run/postgresql && chown postgres /var/run/postgresql",
        "PGDATA=${PGDATA:-/var/lib/postgresql/data}; export PGDATA",
        'mkdir -p "$PGDATA" && chown -R postgres "$PGDATA" && chmod 700 "$PGDATA"',
        'if [ ! -s "$PGDATA/PG_VERSION" ]; then',
        '  pw=$(mktemp); printf "%s" "$POSTGRES_PASSWORD" > "$pw"; chown postgres "$pw"',
        f'  runuser -u postgres -- {PG_BIN}/initdb -D "$PGDATA" -U "${{POSTGRES_USER:-postgres}}" '
        '--pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null; rm -f "$pw"',
        '  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"',
        f'  runuser -u postgres -- {PG_BIN}/pg_ctl -D "$PGDATA" -o "-c listen_addresses=" -w start >/dev/null',
        "  db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}",
        '  [ "$db" = postgres ] || runuser -u postgres -- psql -U "${POSTGRES_USER:-postgres}" -d postgres '
        '-c "CREATE DATABASE \\"$db\\"" >/dev/null',
        f'  runuser -u postgres -- {PG_BIN}/pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null',
        "fi",
    ]


def start(svc: dict, prog: Program, state_dir: Path, created: list[str]) -> subprocess.Popen:
    name = svc["name"]
    plan = mount_plan(svc, state_dir / "volumes")
    workdir = workdir_of(svc, prog)
    if not Path(workdir).exists() and all(t != workdir for _, t, _ in plan):
        plan.append(("tmpfs", workdir, False))
    ensure_mount_points(plan, created)
    script = state_dir / "launch" / f"{name}.sh"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(launcher_script(svc, prog, plan))
    log = open(state_dir / "logs" / f"{name}.log", "ab", buffering=0)  # noqa: SIM115 (handed to the child process)
    return subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            ns_name(name),
            "unshare",
            "--mount",
            "--uts",
            "--propagation",
            "private",
            "/bin/sh",
            str(script),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=service_env(svc),
        start_new_session=True,
    )


def healthcheck(svc: dict, prog: Program, pid: int) -> bool:
    """Runs the compose healthcheck inside the service's namespaces, as Docker would."""
    test = (svc.get("healthcheck") or {}).get("test") or []
    if not test or test[0] == "NONE":
        return True
    if test[0] == "CMD-SHELL":
        cmd = test[1]
        for k, v in prog.aliases.items():
            if k.startswith("/"):
                cmd = cmd.replace(k, v)
        argv = ["/bin/sh", "-c", cmd]
    else:
        argv = list(test[1:])
        argv[0] = prog.aliases.get(argv[0], argv[0])
    timeout = _seconds((svc.get("healthcheck") or {}).get("timeout"), 5)
    try:
        r = subprocess.run(
            ["nsenter", "-t", str(pid), "-n", "-m", "--"] + argv,
            env=service_env(svc),
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0


def _seconds(value, default: float) -> float:
    """Compose JSON gives durations as Go strings ("5s", "1m30s") or nanoseconds."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return value / 1e9
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"([\d.]+)(ms|h|m|s)", str(value))
    return sum(float(n) * units[u] for n, u in parts) or default
