#!/usr/bin/env bash
# Runs every configuration of the stack through its own validator, at the versions .env pins.
#
#   scripts/check-configs.sh          (make check)
#
# Native tools come from tools/which.sh (built by `make tools`) at the pinned versions only.
# Loki, Promtail and Tempo have no native build here (AGPL): they are validated with
# `docker run` of the pinned image when a Docker engine answers; otherwise the check is
# reported as NOT RUN and is not counted as passed. Alertmanager (amtool) is checked by
# scripts/test-rules.sh. Grafana has no offline validator: tests/configs lints its files.
# Prints PASS / FAIL / NOT RUN per check (scripts/lib/report.sh), then "N passed, M failed,
# K not run"; exits 1 if anything failed. With CI=true a missing native tool (promtool, alloy,
# docker-compose) counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
set -a; . ./.env; set +a
. scripts/lib/report.sh


# Compose interpolates every ${VAR:?...}; the secrets live in the untracked .env.secrets, so
# validation runs with placeholders for any that are not set.
export GRAFANA_ADMIN_PASSWORD=${GRAFANA_ADMIN_PASSWORD:-check-only} \
       ADMIN_TOKEN=${ADMIN_TOKEN:-check-only} POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-check-only}

# --- Prometheus: the config and, through rule_files, every rule file --------------------
if promtool=$(tools/which.sh promtool 2>/dev/null); then
  check "promtool check config prometheus/prometheus.yml ($("$promtool" --version 2>&1 | head -1 | awk '{print $3}'))" \
    "$promtool" check config prometheus/prometheus.yml
else missing_tool "promtool check config prometheus/prometheus.yml" "promtool not found (make tools)"; fi

# --- Alloy -------------------------------------------------------------------------------
if alloy=$(tools/which.sh alloy 2>/dev/null); then
  check "alloy validate alloy/config.alloy" "$alloy" validate alloy/config.alloy
  check "alloy fmt --test alloy/config.alloy (canonical formatting)" "$alloy" fmt --test alloy/config.alloy
  check "alloy validate alloy/exporters.alloy" "$alloy" validate alloy/exporters.alloy
  check "alloy fmt --test alloy/exporters.alloy (canonical formatting)" "$alloy" fmt --test alloy/exporters.alloy
else missing_tool "alloy validate alloy/config.alloy" "alloy not found (make tools)"; fi

# --- HAProxy (the load balancer): Debian's haproxy is the version .env pins for the image ---
if command -v haproxy >/dev/null 2>&1; then
  # -c parses the whole file and resolves nothing at check time (init-addr none)
  check "haproxy -c haproxy/haproxy.cfg ($(haproxy -v | head -1 | awk '{print $3}'))" \
    haproxy -c -q -f "$PWD/haproxy/haproxy.cfg"
else missing_tool "haproxy -c haproxy/haproxy.cfg" "haproxy not found (tools/install-debian.sh)"; fi

# --- Compose -----------------------------------------------------------------------------
if compose=$(tools/which.sh docker-compose 2>/dev/null); then
  files=(--env-file .env -f docker-compose.yml -f docker-compose.monitoring.yml)
  check "docker-compose config (default services)" "$compose" "${files[@]}" config -q
  check "docker-compose config (--profile promtail --profile loadtest)" \
    "$compose" "${files[@]}" --profile promtail --profile loadtest config -q
else missing_tool "docker-compose config" "docker-compose not found (make tools)"; fi

# --- Loki, Promtail, Tempo: native binary if someone built one, else the pinned image ------
docker_ok=false
command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && docker_ok=true

image_check() {  # NAME NATIVE IMAGE CONTAINER_PATH REPO_FILE ARGS...
  local name=$1 native=$2 image=$3 cpath=$4 file=$5; shift 5
  local bin
  if bin=$(tools/which.sh "$native" 2>/dev/null); then
    check "$name (native)" "$bin" "-config.file=$file" "$@"
  elif $docker_ok; then
    check "$name ($image)" docker run --rm --network none -v "$PWD/$file:$cpath:ro" "$image" \
      "-config.file=$cpath" "$@"
  else
    not_run "$name: no native binary and no Docker engine (AGPL: not built here)"
  fi
}
image_check "loki -verify-config loki/loki.yml" loki "grafana/loki:$LOKI_VERSION" \
  /etc/loki/loki.yml loki/loki.yml -verify-config=true
image_check "tempo -config.verify tempo/tempo.yml" tempo "grafana/tempo:$TEMPO_VERSION" \
  /etc/tempo/tempo.yml tempo/tempo.yml -config.verify=true
image_check "promtail -check-syntax promtail/promtail.yml" promtail "grafana/promtail:$PROMTAIL_VERSION" \
  /etc/promtail/promtail.yml promtail/promtail.yml -check-syntax

echo
report_summary
