#!/usr/bin/env bash
# Alerting tests that need no running stack (make test-rules):
#   promtool check rules + promtool test rules (prometheus/rules/*.rules.yml, *.test.yml beside them)
#   rule metadata, runbooks and test coverage (tests/alerting/check_rules_meta.py)
#   amtool check-config (committed config, and rendered with every external receiver)
#   amtool config routes test for each case in alertmanager/routing-tests.txt
#   pytest tests/alerting: real Alertmanager + real alert sink
#   pytest tests/loadtest: time_to_fire.py against the real sink, the load shape's stage plan
# Prints PASS / FAIL / NOT RUN per check (scripts/lib/report.sh) and a summary; exits 1 on
# any failure. A missing tool is NOT RUN locally and a failure with CI=true.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
. scripts/lib/report.sh

PY=${PY:-.venv/bin/python}

# --- Prometheus rules -------------------------------------------------------------------
if PROMTOOL=$(tools/which.sh promtool 2>/dev/null); then
  echo "# promtool: $PROMTOOL ($("$PROMTOOL" --version 2>&1 | head -1))"
  for f in prometheus/rules/*.rules.yml; do
    check "promtool check rules $f" "$PROMTOOL" check rules "$f"
  done
  for f in prometheus/rules/*.test.yml; do
    check "promtool test rules $f" "$PROMTOOL" test rules "$f"
  done
else
  missing_tool "promtool check/test rules" "promtool not found (make tools)"
fi

if "$PY" -c 'import yaml' 2>/dev/null; then
  check "rule metadata, runbooks and test coverage" "$PY" tests/alerting/check_rules_meta.py
else
  missing_tool "rule metadata check" "PyYAML missing for $PY (make venv)"
fi

# --- Alertmanager config and routing ----------------------------------------------------
if AMTOOL=$(tools/which.sh amtool 2>/dev/null); then
  echo "# amtool: $AMTOOL"
  check "amtool check-config alertmanager/alertmanager.yml" \
    "$AMTOOL" check-config alertmanager/alertmanager.yml

  # The same config with Slack, PagerDuty and e-mail rendered in (fake secrets in a temp dir).
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/secrets" && cp -r alertmanager/templates "$tmp/"
  echo "https://slack.example.invalid/webhook/fake" > "$tmp/secrets/slack_webhook_url"
  echo "0123456789abcdef0123456789abcdef" > "$tmp/secrets/pagerduty_routing_key"
  echo "not-a-real-password" > "$tmp/secrets/smtp_password"
  check "render_config.py with every external receiver + amtool check-config" \
    env ALERT_EMAIL_TO=dba@example.com SMTP_SMARTHOST=smtp.example.com:587 SMTP_FROM=am@example.com \
        SMTP_USERNAME=am SLACK_CHANNEL='#alerts' AMTOOL="$AMTOOL" \
    python3 alertmanager/render_config.py --output "$tmp/alertmanager.yml" \
        --secrets-dir "$tmp/secrets" --secrets-mount "$tmp/secrets" --check
  plain_config_unchanged() {
    python3 alertmanager/render_config.py --output "$tmp/plain.yml" --secrets-dir "$tmp/none" |
      grep -q "none (sink only)" &&
      ! grep -qE "slack_configs|pagerduty_configs|email_configs" "$tmp/plain.yml"
  }
  check "render_config.py with no secrets adds nothing" plain_config_unchanged

  while IFS='|' read -r expected labels; do
    expected=$(echo "$expected" | tr -d ' '); [ -z "$expected" ] && continue
    # shellcheck disable=SC2086 # labels are intentionally split into words
    check "route -> $expected :$labels" "$AMTOOL" config routes test \
      --config.file=alertmanager/alertmanager.yml --verify.receivers="$expected" $labels
  done < <(grep -vE '^\s*(#|$)' alertmanager/routing-tests.txt)
else
  missing_tool "amtool check-config and routing tests" "amtool not found (make tools)"
fi

# --- Alertmanager + alert sink, real processes --------------------------------------------
pytest_check() {  # NAME PATHS...: skipped tests are NOT RUN (a failure under CI), never PASS
  local name=$1 out; shift
  if out=$("$PY" -m pytest -q -rs -p no:cacheprovider "$@" 2>&1); then
    if grep -q "skipped" <<<"$out"; then missing_tool "$name" "$(grep -m1 '^SKIPPED' <<<"$out")"
    else pass "$name: $(tail -1 <<<"$out")"; fi
  else fail "$name"; printf '%s\n' "$out" | sed 's/^/         /'; fi
}
if "$PY" -c 'import pytest' 2>/dev/null; then
  pytest_check "pytest tests/alerting (real Alertmanager + alert sink)" tests/alerting
  pytest_check "pytest tests/loadtest (time_to_fire against the sink, stage plan)" tests/loadtest
else
  missing_tool "pytest tests/alerting tests/loadtest" "pytest missing for $PY (make venv)"
fi

report_summary
