#!/usr/bin/env bash
# Debian packages the native runs need: data stores, exporters and the load balancer (the
# versions .env pins for their images), network-namespace tooling, the benchmark load
# generator and shellcheck (make lint).
set -euo pipefail
pkgs=(postgresql redis-server prometheus-postgres-exporter prometheus-redis-exporter
      iproute2 iptables procps psmisc curl wget wrk util-linux shellcheck haproxy
      chromium)  # chromium: the e2e's screenshots of every UI page (headless)
# node + npm for the dashboard schema check (grafana/schema-check) and tools/build-ui.sh;
# any install of them will do
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[debian] installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packages start their own services on install; stop and disable those (and only those)
# through the service manager so they do not hold the ports the stack publishes. Processes this
# script did not start are never signalled: a Redis or Postgres the user runs stays untouched,
# and if it holds a published port, `tools.runner up` names it and stops.
for s in redis-server prometheus-postgres-exporter prometheus-redis-exporter postgresql haproxy; do
  systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
done
echo "[debian] ok: $(redis-server --version | cut -d' ' -f3), postgres $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}'), postgres_exporter $(dpkg-query -W -f='${Version}' prometheus-postgres-exporter), redis_exporter $(dpkg-query -W -f='${Version}' prometheus-redis-exporter), haproxy $(dpkg-query -W -f='${Version}' haproxy)"
