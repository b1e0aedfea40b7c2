"""`make versions` (scripts/versions.py): the README's Versions block is its output, and the
pins it reads agree with each other (pyproject vs uv.lock, npm package vs lock, .env locust)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO

SCRIPT = REPO / "scripts" / "versions.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=REPO)


def test_readme_versions_block_is_generated_and_pins_agree():
    out = _run("--check")
    assert out.returncode == 0, out.stderr


def test_table_names_every_env_pin_and_its_native_coverage():
    out = _run()
    assert out.returncode == 0, out.stderr
    env = [line.split("=", 1)[0] for line in (REPO / ".env").read_text().splitlines() if "_VERSION=" in line]
    for name in env:
        row = next((line for line in out.stdout.splitlines() if line.split()[:1] == [name]), None)
        assert row is not None, f"{name} missing from make versions"
        assert "NOT COVERED" not in row, row
    assert "NOT RUN (AGPL" in out.stdout and "built from source" in out.stdout


def test_a_stale_block_is_detected():
    import importlib.util

    spec = importlib.util.spec_from_file_location("versions", SCRIPT)
    versions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(versions)
    sections, _ = versions.collect()
    block = versions.readme_block(sections)
    sections["Python"][0] = {**sections["Python"][0], "version": "0.0.0"}
    assert versions.readme_block(sections) != block
