"""Native compose runner: the real compose files, run with native programs (root needed).

    python -m tools.runner up [--profile NAME]... [--timeout S]   # docker compose up -d --wait
    python -m tools.runner down [-v]                               # keeps named volumes, unless -v
    python -m tools.runner clean                                   # down -v: delete named volumes
    python -m tools.runner ps | logs [-f] [--tail N] [SERVICE] | stop SERVICE | start SERVICE

Compose's own spellings are accepted too (`--profile` before the verb, `up -d --build --wait`,
`down --remove-orphans`), so a Makefile can call either engine with the same arguments.

This file only parses arguments; up.py, down.py, status.py do the work (see their docstrings).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from . import down, status, up
from .console import RunnerError
from .settings import from_environment


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m tools.runner", description=(__doc__ or "").split("\n")[0])
    cli.add_argument("--profile", action="append", default=[], dest="global_profiles", help="as compose's")
    verbs = cli.add_subparsers(dest="verb", required=True)
    up_verb = verbs.add_parser("up", help="start every service and wait until ready")
    up_verb.add_argument("--profile", action="append", default=[])
    up_verb.add_argument("--timeout", type=float, default=300)
    for flag in ("--detach", "--build", "--wait"):  # what the runner always does, or cannot (no images)
        up_verb.add_argument(flag, *(["-d"] if flag == "--detach" else []), action="store_true", help="accepted")
    down_verb = verbs.add_parser("down", help="stop and remove everything but the named volumes")
    down_verb.add_argument("-v", "--volumes", action="store_true", help="delete the named volumes too (= clean)")
    down_verb.add_argument("--remove-orphans", action="store_true", help="accepted (the state file has no orphans)")
    verbs.add_parser("clean", help="down, then delete the project's named volumes")
    verbs.add_parser("ps", help="list services and their state")
    logs_verb = verbs.add_parser("logs", help="print service logs")
    logs_verb.add_argument("-f", "--follow", action="store_true")
    logs_verb.add_argument("--tail", type=int, default=None, help="lines per log (default: its last 20 kB)")
    logs_verb.add_argument("service", nargs="?")
    stop_verb = verbs.add_parser("stop", help="stop one service")
    stop_verb.add_argument("service")
    start_verb = verbs.add_parser("start", help="start a stopped service again")
    start_verb.add_argument("service")
    start_verb.add_argument("--timeout", type=float, default=60)
    return cli


def main() -> int:
    args = parser().parse_args()
    if os.geteuid() != 0:
        print("the native runner needs root (network and mount namespaces)", file=sys.stderr)
        return 1
    try:
        settings = from_environment()
        match args.verb:
            case "up":
                return up.up(settings, args.global_profiles + args.profile, args.timeout)
            case "start":
                return up.start(settings, args.service, args.timeout)
            case "down":
                return down.clean(settings) if args.volumes else down.down(settings)
            case "clean":
                return down.clean(settings)
            case "stop":
                return down.stop(settings, args.service)
            case "logs":
                return status.logs(settings, args.service, args.tail, args.follow)
            case _:
                return status.ps(settings)
    except RunnerError as error:
        print(f"native runner: ERROR: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:  # an `ip` command failed: show what it said
        print(f"native runner: ERROR: {' '.join(error.cmd)} failed: {error.stderr}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
