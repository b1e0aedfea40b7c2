#!/usr/bin/env bash
# Alerting tests that need no running stack (make test-rules):
#   promtool check rules + promtool test rules (prometheus/rules/*.rules.yml, *.test.yml beside them)
#   rule metadata/coverage (tests/alerting/check_rules_meta.py)
#   amtool check-config (committed config, and rendered with every external receiver)
#   amtool config routes test for each case in alertmanager/routing-tests.txt
#   pytest tests/alerting: real Alertmanager + real alert sink
#   pytest tests/loadtest: time_to_fire.py against the real sink, the load shape's stage plan
# Prints "N passed, M failed"; exits 1 on any failure. A missing tool is reported as skipped;
# with CI=true it is a failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

passed=0 failed=0 skipped=0
indent() { sed 's/^/      /'; }
ok()   { passed=$((passed + 1)); echo "ok    $*"; }
bad()  { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() {
  if [ "${CI:-}" = "true" ]; then bad "$* (missing tool, CI=true)"
  else skipped=$((skipped + 1)); echo "SKIP  $*"; fi
}

# Run a check quietly; on failure show its output.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else bad "$name"; echo "$out" | indent; fi
}

tool() {  # tools/which.sh NAME, else the pinned cache, else PATH
  local name=$1 path=""
  if [ -x tools/which.sh ] && path=$(tools/which.sh "$name" 2>/dev/null); then echo "$path"; return; fi
  local version dir
  case $name in
    promtool) version=$(sed -n 's/^PROMETHEUS_VERSION=//p' .env); dir=prometheus-$version ;;
    amtool|alertmanager) version=$(sed -n 's/^ALERTMANAGER_VERSION=//p' .env); dir=alertmanager-$version ;;
  esac
  local cache=${OBS_TOOLS_CACHE:-/var/cache/fastapi-obs-stack}/${dir:-none}
  if [ -x "$cache/$name" ] && [ -f "$cache/.complete" ]; then echo "$cache/$name"; return; fi
  command -v "$name"
}

PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python

# --- Prometheus rules -------------------------------------------------------------------
if PROMTOOL=$(tool promtool); then
  echo "# promtool: $PROMTOOL ($("$PROMTOOL" --version 2>&1 | head -1))"
  for f in prometheus/rules/*.rules.yml; do
    check "promtool check rules $f" "$PROMTOOL" check rules "$f"
  done
  for f in prometheus/rules/*.test.yml; do
    check "promtool test rules $f" "$PROMTOOL" test rules "$f"
  done
else
  skip "promtool check/test rules: promtool not found (make tools)"
fi

YPY=""
for candidate in "$PY" python3; do
  if "$candidate" -c 'import yaml' 2>/dev/null; then YPY=$candidate; break; fi
done
if [ -n "$YPY" ]; then
  check "rule metadata, runbooks and test coverage" "$YPY" tests/alerting/check_rules_meta.py
else
  skip "rule metadata check: PyYAML missing for $PY and python3 (make venv)"
fi

# --- Alertmanager config and routing ----------------------------------------------------
if AMTOOL=$(tool amtool); then
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
  skip "amtool check-config and routing tests: amtool not found (make tools)"
fi

# --- Alertmanager + alert sink, real processes --------------------------------------------
pytest_check() {  # name, paths...: a skipped test is reported as skipped, never as passed
  local name=$1; shift
  local out
  if out=$("$PY" -m pytest -q -rs -p no:cacheprovider "$@" 2>&1); then
    if grep -q "skipped" <<<"$out"; then skip "$name: $(grep -m1 '^SKIPPED' <<<"$out")"
    else ok "$name: $(tail -1 <<<"$out")"; fi
  else bad "$name"; echo "$out" | indent; fi
}
if "$PY" -c 'import pytest' 2>/dev/null; then
  pytest_check "pytest tests/alerting (real Alertmanager + alert sink)" tests/alerting
  pytest_check "pytest tests/loadtest (time_to_fire against the sink, stage plan)" tests/loadtest
else
  skip "pytest tests/alerting tests/loadtest: pytest missing for $PY (make venv)"
fi

if [ "$skipped" -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"
else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
