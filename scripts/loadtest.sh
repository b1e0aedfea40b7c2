#!/usr/bin/env bash
# Staged Locust load test against the running stack (make loadtest; make e2e uses --profile short).
#
#   scripts/loadtest.sh [--profile full|short] [--duration 15m] [--users N] [--assert-alerts]
#
# Stages (loadtest/shape.py): warm-up, steady, error-burst, latency-spike, recovery; each switches
# the app's failure injection and prints which alert it should fire. Reports (CSV, HTML, stage
# timeline) go to loadtest/reports/<time>-<profile>/. Intended errors do not fail the run.
# Afterwards the time-to-fire table (loadtest/time_to_fire.py) is printed from the alert sink;
# with --assert-alerts the script fails unless every stage's page fired within 180 s.
#
# Env: LOADTEST_HOST (http://127.0.0.1:8000), LOADTEST_SINK (http://127.0.0.1:9095),
#      LOADTEST_PROFILE / LOADTEST_DURATION / LOADTEST_USERS (defaults for the options),
#      ADMIN_TOKEN (else read from .env.secrets), LOCUST (.venv/bin/locust).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${LOADTEST_PROFILE:-full} duration="" users="" assert=0
while [ $# -gt 0 ]; do
  case $1 in
    --profile) profile=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --users) users=${2:?}; shift 2 ;;
    --assert-alerts) assert=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "loadtest: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $profile in full|short) ;; *) echo "loadtest: --profile must be full or short" >&2; exit 2 ;; esac

HOST=${LOADTEST_HOST:-http://127.0.0.1:8000}
SINK=${LOADTEST_SINK:-http://127.0.0.1:9095}
LOCUST=${LOCUST:-.venv/bin/locust}
if [ -z "${ADMIN_TOKEN:-}" ] && [ -f .env.secrets ]; then
  ADMIN_TOKEN=$(sed -n 's/^ADMIN_TOKEN=//p' .env.secrets | tail -1)
fi
[ -n "${ADMIN_TOKEN:-}" ] || { echo "loadtest: ADMIN_TOKEN not set and not in .env.secrets (make secrets)" >&2; exit 2; }
[ -x "$LOCUST" ] || { echo "loadtest: $LOCUST not found (make venv installs the loadtest group)" >&2; exit 2; }

# Fail early and clearly: the app must answer and accept the admin token.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Admin-Token: $ADMIN_TOKEN" "$HOST/admin/faults" || true)
if [ "$code" != 200 ]; then
  echo "loadtest: GET $HOST/admin/faults answered ${code:-nothing} (is the stack up? same ADMIN_TOKEN as the app?)" >&2
  exit 2
fi
if ! curl -sf -o /dev/null "$SINK/healthz"; then
  if [ $assert = 1 ]; then echo "loadtest: alert sink $SINK not answering" >&2; exit 2; fi
  echo "loadtest: note: alert sink $SINK not answering; no time-to-fire table" >&2
fi

dir=loadtest/reports/$(date +%Y%m%d-%H%M%S)-$profile
mkdir -p "$dir"
export ADMIN_TOKEN LOADTEST_PROFILE=$profile LOADTEST_TIMELINE=$dir/stages.jsonl
[ -n "$duration" ] && export LOADTEST_DURATION=$duration
[ -n "$users" ] && export LOADTEST_USERS=$users
echo "loadtest: profile $profile against $HOST; reports in $dir/"

# --exit-code-on-error 0: the injected 5xx are the point of the test, not a failure of it.
# A stage that cannot switch the faults sets exit code 2 (loadtest/shape.py).
"$LOCUST" -f loadtest/locustfile.py --headless --host "$HOST" \
  --csv "$dir/locust" --html "$dir/report.html" --exit-code-on-error 0 \
  --only-summary --stop-timeout 5 --loglevel WARNING

echo "loadtest: Locust done; reports: $dir/report.html, $dir/locust_stats.csv, timeline $dir/stages.jsonl"
curl -sf -o /dev/null "$SINK/healthz" || exit 0
if [ $assert = 1 ]; then
  # The last stage's page may still be on its way (for: 1m + group_wait): wait up to 90 s.
  python3 loadtest/time_to_fire.py --timeline "$dir/stages.jsonl" --sink "$SINK" \
    --wait 90 --max-fire 180 | tee "$dir/time_to_fire.txt"
else
  python3 loadtest/time_to_fire.py --timeline "$dir/stages.jsonl" --sink "$SINK" \
    | tee "$dir/time_to_fire.txt" || true
fi
