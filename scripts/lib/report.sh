# shellcheck shell=bash
# The one report vocabulary of every check script and of CI, sourced (never run):
#
#   pass NAME / fail NAME / not_run NAME     one line each: PASS, FAIL or NOT RUN
#   missing_tool NAME REASON                 NOT RUN on a laptop, FAIL under CI=true
#   check NAME CMD...                        runs CMD quietly: PASS, or FAIL and its output
#   report_summary                           "N passed, M failed, K not run"; status 1 on FAIL
#   phase NAME CMD...                        runs CMD as a timed phase (same words)
#   phase_summary                            the table of phases with their seconds
#
# A NOT RUN is never counted as passed: it names what could not run here and why.

REPORT_PASSED=0 REPORT_FAILED=0 REPORT_NOT_RUN=0
REPORT_FAILURES=() REPORT_PHASES=()

pass() { REPORT_PASSED=$((REPORT_PASSED + 1)); printf 'PASS     %s\n' "$*"; }
fail() { REPORT_FAILED=$((REPORT_FAILED + 1)); REPORT_FAILURES+=("$*"); printf 'FAIL     %s\n' "$*"; }
not_run() { REPORT_NOT_RUN=$((REPORT_NOT_RUN + 1)); printf 'NOT RUN  %s\n' "$*"; }

missing_tool() {
  if [ "${CI:-}" = true ]; then fail "$1: $2 (CI=true: a missing tool fails)"; else not_run "$1: $2"; fi
}

check() {
  local name=$1 out rc; shift
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then pass "$name"; else fail "$name (exit $rc)"; printf '%s\n' "$out" | sed 's/^/         /'; fi
}

report_summary() {
  echo "$REPORT_PASSED passed, $REPORT_FAILED failed, $REPORT_NOT_RUN not run"
  [ "$REPORT_FAILED" -eq 0 ] && return 0
  printf '  failed: %s\n' "${REPORT_FAILURES[@]}"
  return 1
}

phase() {
  local name=$1 t0=$SECONDS rc; shift
  echo "==== phase $name: $*"
  "$@"; rc=$?
  local word=PASS; [ $rc -eq 0 ] || word="FAIL (exit $rc)"
  REPORT_PHASES+=("$(printf '%-22s %5ss  %s' "$name" $((SECONDS - t0)) "$word")")
  echo "==== phase $name: $word in $((SECONDS - t0))s"
  return $rc
}

phase_summary() {
  echo "==== phase timings ===="
  [ ${#REPORT_PHASES[@]} -eq 0 ] || printf '%s\n' "${REPORT_PHASES[@]}"
}
