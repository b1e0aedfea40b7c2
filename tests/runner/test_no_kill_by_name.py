"""No script in the repo ends processes by name: on a user's machine that would hit their
own Redis or Postgres. Processes are ended by the PID their starter recorded."""

from __future__ import annotations

import re

from runner_fixture import REPO

KILL_BY_NAME = re.compile(r"\b(pkill|killall)\b")


def test_no_script_kills_processes_by_name() -> None:
    scripts = [REPO / "Makefile", *REPO.glob("scripts/**/*"), *REPO.glob("tools/**/*")]
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in scripts
        if path.is_file() and path.suffix in ("", ".sh", ".py") and "__pycache__" not in path.parts
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if KILL_BY_NAME.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []
