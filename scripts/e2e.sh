#!/usr/bin/env bash
# End-to-end proof: the real compose files run natively (tools/runner), real traffic and a
# shortened load test drive every signal, assertions read the real backends, then teardown.
#   E2E_KEEP=1 scripts/e2e.sh   # leave the stack running afterwards
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
declare -a TIMES=()
t_start=$SECONDS
step() {
  local name=$1; shift; local t0=$SECONDS
  echo "[e2e] ---- $name"
  "$@"; local rc=$?
  TIMES+=("$(printf '  %-24s %5ss  %s' "$name" $((SECONDS - t0)) "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")")")
  return $rc
}
finish() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "[e2e] FAILED: service logs follow"; python3 -m tools.runner ps; python3 -m tools.runner logs | tail -n 400
  fi
  if [ -z "${E2E_KEEP:-}" ]; then
    step teardown python3 -m tools.runner down
    if ip netns list | grep -q '^obs-'; then echo "[e2e] teardown left namespaces behind"; rc=1; fi
  fi
  echo "[e2e] phase timings:"; printf '%s\n' "${TIMES[@]}"
  echo "[e2e] total $((SECONDS - t_start))s"
  exit $rc
}
trap finish EXIT

[ "$(id -u)" = 0 ] || { echo "[e2e] needs root (network and mount namespaces)"; exit 1; }
step stack-up python3 -m tools.runner up --timeout 300 || exit 1
python3 -m tools.runner ps
step silence-not-run "$PY" scripts/silence-not-run.py || exit 1
step signals "$PY" -m pytest -q -p no:cacheprovider e2e/test_signals.py || exit 1
step loadtest-short scripts/loadtest.sh --profile short --assert-alerts || exit 1
step outages "$PY" -m pytest -q -s -p no:cacheprovider e2e/test_outage.py || exit 1
step after-load "$PY" -m pytest -q -p no:cacheprovider e2e/test_after_load.py || exit 1
# Last, so the pages (and their screenshots) show the alerts the load test fired.
step ui-pages "$PY" -m pytest -q -s -p no:cacheprovider e2e/test_ui_pages.py || exit 1
