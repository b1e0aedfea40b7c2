"""Native compose runner: runs the real compose files with native programs.

    python -m tools.runner up [--profile NAME]... [--timeout S]   # like `up -d --wait`
    python -m tools.runner ps | logs [SERVICE] | stop SERVICE | start SERVICE | down

Each service gets its own network namespace on a private bridge (compose names resolve
through per-namespace hosts files) and its own mount namespace (the repo's config files
and named volumes appear at their container paths). Only what is in the state file is
ever torn down: the PIDs and namespaces this runner made.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import launch, netns
from .programs import REPO, program_for, which_tool

STATE = Path(os.environ.get("OBS_NATIVE_STATE", "/var/tmp/obs-native"))
# The stack's files; a test may point the runner at its own (colon-separated paths).
FILES = os.environ.get("OBS_COMPOSE_FILES", "docker-compose.yml:docker-compose.monitoring.yml").split(":")
PROJECT_DIR = Path(os.environ.get("OBS_COMPOSE_DIR", REPO))


def log(msg: str) -> None:
    print(f"[native {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def compose_config(profiles: list[str]) -> dict:
    compose = which_tool("docker-compose")
    if not compose:
        sys.exit("native runner: the compose CLI is missing (make tools)")
    args = [compose, "--project-directory", str(PROJECT_DIR)]
    for env_file in (".env", ".env.secrets"):
        if (PROJECT_DIR / env_file).exists():
            args += ["--env-file", str(PROJECT_DIR / env_file)]
    for f in FILES:
        args += ["-f", str(PROJECT_DIR / f)]
    for p in profiles:
        args += ["--profile", p]
    out = subprocess.run(args + ["config", "--format", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"compose config failed:\n{out.stderr}")
    return json.loads(out.stdout)


def load_state() -> dict:
    f = STATE / "state.json"
    return json.loads(f.read_text()) if f.exists() else {"services": {}, "created": []}


def save_state(state: dict) -> None:
    (STATE / "state.json").write_text(json.dumps(state, indent=2))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def exit_code(procs: dict, name: str) -> int | None:
    p = procs.get(name)
    return p.poll() if p else None


def order(services: dict) -> list[str]:
    done, result = set(), []

    def visit(n):
        if n in done:
            return
        done.add(n)
        for dep in services[n].get("depends_on") or {}:
            if dep in services:
                visit(dep)
        result.append(n)

    for n in sorted(services):
        visit(n)
    return result


def up(profiles: list[str], timeout: float) -> int:
    t0 = time.monotonic()
    if (STATE / "state.json").exists():
        down()
    shutil.rmtree(STATE / "logs", ignore_errors=True)  # logs of the previous run go with it
    (STATE / "logs").mkdir(parents=True, exist_ok=True)
    cfg = compose_config(profiles)
    services = {n: dict(s, name=n) for n, s in cfg["services"].items()}
    progs, skipped = {}, {}
    for n, s in services.items():
        p = program_for(s.get("image"), "build" in s)
        (progs if not isinstance(p, str) else skipped)[n] = p
    for n, why in skipped.items():
        log(f"SKIP {n}: {why}")
    state = {"services": {}, "created": [], "profiles": profiles, "skipped": skipped}
    save_state(state)
    netns.create_bridge()
    hosts = {}
    for i, n in enumerate(sorted(progs)):
        s = services[n]
        names = [n] + ([s["container_name"]] if s.get("container_name") else [])
        for net in (s.get("networks") or {}).values():
            names += (net or {}).get("aliases") or []
        hosts[f"{netns.SUBNET}.{10 + i}"] = names
        state["services"][n] = {"index": i, "addr": f"{netns.SUBNET}.{10 + i}"}
    for n, st in state["services"].items():
        netns.create_namespace(n, st["index"], hosts)
    save_state(state)
    log(f"network ready ({len(progs)} namespaces) in {time.monotonic() - t0:.1f}s")

    procs: dict[str, subprocess.Popen] = {}
    deadline = time.monotonic() + timeout
    for n in order({k: services[k] for k in progs}):
        for dep, cond in (services[n].get("depends_on") or {}).items():
            if dep in skipped:
                log(f"{n}: dependency {dep} is not available natively; not waiting for it")
                continue
            if not wait_for(dep, cond.get("condition", "service_started"), services, progs, procs, deadline):
                log(f"FAILED: {n} waits for {dep} ({cond.get('condition')})")
                return 1
        t1 = time.monotonic()
        procs[n] = launch.start(services[n], progs[n], STATE, state["created"])
        state["services"][n]["pid"] = procs[n].pid
        save_state(state)
        log(f"started {n} (pid {procs[n].pid}) after {t1 - t0:.1f}s")
    start_forwarder(services, state)
    once = one_shot_services(services)
    ok = all(
        wait_for(
            n,
            "service_completed_successfully"
            if n in once
            else "service_healthy"
            if services[n].get("healthcheck")
            else "service_started",
            services,
            progs,
            procs,
            deadline,
        )
        for n in procs
    )
    log(f"{'all services up' if ok else 'FAILED: not every service became healthy'} in {time.monotonic() - t0:.1f}s")
    return 0 if ok else 1


def one_shot_services(services: dict) -> set[str]:
    """Services others wait on to complete (migrations): they are meant to exit."""
    return {
        dep
        for s in services.values()
        for dep, c in (s.get("depends_on") or {}).items()
        if c.get("condition") == "service_completed_successfully"
    }


def wait_for(name, cond, services, progs, procs, deadline) -> bool:
    svc = services[name]
    interval = min(launch._seconds((svc.get("healthcheck") or {}).get("interval"), 2), 2)
    while time.monotonic() < deadline:
        p = procs.get(name)
        if p is None:
            return False
        rc = p.poll()
        if cond == "service_completed_successfully":
            if rc is not None:
                return rc == 0
        elif rc is not None:
            log(f"{name} exited with {rc}; see {STATE}/logs/{name}.log")
            return False
        elif cond == "service_started" or launch.healthcheck(svc, progs[name], p.pid):
            return True
        time.sleep(interval)
    log(f"timed out waiting for {name} ({cond})")
    return False


def start_forwarder(services: dict, state: dict) -> None:
    specs = []
    for n, st in state["services"].items():
        for port in services[n].get("ports") or []:
            host_ip = port.get("host_ip") or "127.0.0.1"
            specs.append(f"{host_ip}:{port['published']}={st['addr']}:{port['target']}")
    if not specs:
        return
    logf = open(STATE / "logs" / "_portfwd.log", "ab")  # noqa: SIM115 (handed to the child process)
    p = subprocess.Popen(
        [sys.executable, "-m", "tools.runner.portfwd", *specs],
        cwd=REPO,
        stdout=logf,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    state["forwarder"] = p.pid
    save_state(state)


def kill(pids: list[int | None], grace: float = 10) -> None:
    """SIGTERM every process group at once, SIGKILL what is left after the grace period."""
    pids = [p for p in pids if p and alive(p)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while time.monotonic() < end and any(alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def stop(name: str) -> int:
    state = load_state()
    st = state["services"].get(name)
    if not st:
        print(f"unknown or skipped service {name}", file=sys.stderr)
        return 1
    kill([st.get("pid")])
    log(f"stopped {name}")
    return 0


def start_again(name: str, timeout: float) -> int:
    """Starts a stopped service again in its namespace (as `docker compose start SERVICE`)."""
    state = load_state()
    st = state["services"].get(name)
    if not st:
        print(f"unknown or skipped service {name}", file=sys.stderr)
        return 1
    if st.get("pid") and alive(st["pid"]):
        log(f"{name} is already running")
        return 0
    svc = dict(compose_config(state.get("profiles", []))["services"][name], name=name)
    prog = program_for(svc.get("image"), "build" in svc)
    proc = launch.start(svc, prog, STATE, state["created"])
    st["pid"] = proc.pid
    save_state(state)
    cond = "service_healthy" if svc.get("healthcheck") else "service_started"
    ok = wait_for(name, cond, {name: svc}, {name: prog}, {name: proc}, time.monotonic() + timeout)
    log(f"started {name} again (pid {proc.pid}): {'healthy' if ok else 'NOT healthy'}")
    return 0 if ok else 1


def down() -> int:
    state = load_state()
    kill([state.get("forwarder")], 2)
    kill([st.get("pid") for st in state["services"].values()])
    for n, st in state["services"].items():
        netns.delete_namespace(n, st["index"])
    netns.delete_bridge()
    for path in reversed(state.get("created", [])):
        shutil.rmtree(path, ignore_errors=True) if Path(path).is_dir() else Path(path).unlink(missing_ok=True)
    shutil.rmtree(STATE / "volumes", ignore_errors=True)
    (STATE / "state.json").unlink(missing_ok=True)
    log("down: removed what this runner started")
    return 0


def ps() -> int:
    state = load_state()
    for n, st in sorted(state["services"].items()):
        pid = st.get("pid")
        status = "running" if pid and alive(pid) else "exited" if pid else "created"
        print(f"{n:20} {st['addr']:14} pid={pid or '-':<8} {status}")
    for n, why in sorted(state.get("skipped", {}).items()):
        print(f"{n:20} {'-':14} {'':12} skipped: {why}")
    return 0


def logs(name: str | None) -> int:
    files = [STATE / "logs" / f"{name}.log"] if name else sorted((STATE / "logs").glob("*.log"))
    for f in files:
        print(f"===== {f.stem} =====")
        print(f.read_text(errors="replace")[-20000:] if f.exists() else "(no log)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.runner", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("--profile", action="append", default=[])
    u.add_argument("--timeout", type=float, default=300)
    sub.add_parser("down")
    sub.add_parser("ps")
    lg = sub.add_parser("logs")
    lg.add_argument("service", nargs="?")
    st = sub.add_parser("stop")
    st.add_argument("service")
    sa = sub.add_parser("start")
    sa.add_argument("service")
    sa.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("the native runner needs root (network and mount namespaces)")
    if a.cmd == "up":
        return up(a.profile, a.timeout)
    if a.cmd == "logs":
        return logs(a.service)
    if a.cmd == "stop":
        return stop(a.service)
    if a.cmd == "start":
        return start_again(a.service, a.timeout)
    return down() if a.cmd == "down" else ps()


if __name__ == "__main__":
    sys.exit(main())
