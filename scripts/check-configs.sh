#!/usr/bin/env bash
# Runs every configuration of the stack through its own validator, at the versions .env pins.
#
#   scripts/check-configs.sh          (make check)
#
# Native tools come from tools/which.sh (built by `make tools`), else from PATH.
# Loki, Promtail and Tempo have no native build here (AGPL): they are validated with
# `docker run` of the pinned image when a Docker engine answers; otherwise the check is
# reported as NOT RUN and is not counted as passed. Alertmanager (amtool) is checked by
# scripts/test-rules.sh. Grafana has no offline validator: tests/configs lints its files.
# Ends with "N passed, M failed, K not run"; exits 1 if anything failed. With CI=true a
# missing native tool (promtool, alloy, docker-compose) counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
set -a; . ./.env; set +a

passed=0; failed=0; notrun=0; failures=()
ok()   { passed=$((passed + 1)); printf 'PASS    %s\n' "$1"; }
bad()  { failed=$((failed + 1)); failures+=("$1"); printf 'FAIL    %s\n' "$1"; }
skip() { notrun=$((notrun + 1)); printf 'NOT RUN: %s\n' "$1"; }

tool() {  # path of a native tool, or empty
  tools/which.sh "$1" 2>/dev/null || command -v "$1" 2>/dev/null || true
}
missing() {  # a native tool we expect to have: fail on CI, report otherwise
  if [ "${CI:-}" = "true" ]; then bad "$1 — tool not found (run 'make tools')"
  else skip "$1 — tool not found (run 'make tools')"; fi
}
run() {  # run NAME CMD...: print the command's output indented, record the result
  local name=$1; shift
  local out; out=$("$@" 2>&1); local rc=$?
  [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/        /'
  if [ $rc -eq 0 ]; then ok "$name"; else bad "$name (exit $rc)"; fi
}

# Compose interpolates every ${VAR:?...}; the secrets live in the untracked .env.secrets, so
# validation runs with placeholders for any that are not set.
export GRAFANA_ADMIN_PASSWORD=${GRAFANA_ADMIN_PASSWORD:-check-only} \
       ADMIN_TOKEN=${ADMIN_TOKEN:-check-only} POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-check-only}

# --- Prometheus: the config and, through rule_files, every rule file --------------------
promtool=$(tool promtool)
if [ -n "$promtool" ]; then
  run "promtool check config prometheus/prometheus.yml ($("$promtool" --version 2>&1 | head -1 | awk '{print $3}'))" \
    "$promtool" check config prometheus/prometheus.yml
else missing "promtool check config prometheus/prometheus.yml"; fi

# --- Alloy -------------------------------------------------------------------------------
alloy=$(tool alloy)
if [ -n "$alloy" ]; then
  run "alloy validate alloy/config.alloy" "$alloy" validate alloy/config.alloy
  run "alloy fmt --test alloy/config.alloy (canonical formatting)" "$alloy" fmt --test alloy/config.alloy
else missing "alloy validate alloy/config.alloy"; fi

# --- Compose -----------------------------------------------------------------------------
compose=$(tool docker-compose)
if [ -n "$compose" ]; then
  files=(--env-file .env -f docker-compose.yml -f docker-compose.monitoring.yml)
  run "docker-compose config (default services)" "$compose" "${files[@]}" config -q
  run "docker-compose config (--profile promtail --profile loadtest)" \
    "$compose" "${files[@]}" --profile promtail --profile loadtest config -q
else missing "docker-compose config"; fi

# --- Loki, Promtail, Tempo: native binary if someone built one, else the pinned image ------
docker_ok=false
command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && docker_ok=true

image_check() {  # NAME NATIVE IMAGE CONTAINER_PATH REPO_FILE ARGS...
  local name=$1 native=$2 image=$3 cpath=$4 file=$5; shift 5
  local bin; bin=$(tools/which.sh "$native" 2>/dev/null || true)
  if [ -n "$bin" ]; then
    run "$name (native)" "$bin" "-config.file=$file" "$@"
  elif $docker_ok; then
    run "$name ($image)" docker run --rm --network none -v "$PWD/$file:$cpath:ro" "$image" \
      "-config.file=$cpath" "$@"
  else
    skip "$name — no native binary and no Docker engine"
  fi
}
image_check "loki -verify-config loki/loki.yml" loki "grafana/loki:$LOKI_VERSION" \
  /etc/loki/loki.yml loki/loki.yml -verify-config=true
image_check "tempo -config.verify tempo/tempo.yml" tempo "grafana/tempo:$TEMPO_VERSION" \
  /etc/tempo/tempo.yml tempo/tempo.yml -config.verify=true
image_check "promtail -check-syntax promtail/promtail.yml" promtail "grafana/promtail:$PROMTAIL_VERSION" \
  /etc/promtail/promtail.yml promtail/promtail.yml -check-syntax

echo
echo "$passed passed, $failed failed, $notrun not run"
if [ "$failed" -gt 0 ]; then
  printf '  failed: %s\n' "${failures[@]}"
  exit 1
fi
