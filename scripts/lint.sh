#!/usr/bin/env bash
# make lint (part of make test, so of CI): ruff check, ruff format --check, shellcheck at
# warning severity on every shell script, mypy --strict as pyproject.toml [tool.mypy] scopes it.
# Prints PASS / FAIL / NOT RUN per check (scripts/lib/report.sh); a failing check shows its
# output. Without shellcheck (tools/install-debian.sh installs it) that check is NOT RUN
# locally and a failure with CI=true.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
. scripts/lib/report.sh
PY=${PY:-.venv/bin/python}

check "ruff check" "$PY" -m ruff check .
check "ruff format --check" "$PY" -m ruff format --check .
shell_files=(.ci/run scripts/*.sh scripts/lib/*.sh tools/*.sh)
if command -v shellcheck >/dev/null; then
  check "shellcheck -S warning (${#shell_files[@]} scripts)" shellcheck -S warning "${shell_files[@]}"
else
  missing_tool "shellcheck" "not installed (tools/install-debian.sh)"
fi
check "mypy --strict (pyproject.toml [tool.mypy])" "$PY" -m mypy
report_summary
