#!/usr/bin/env bash
# Prints the path of a native tool at the version .env pins, or exits 1 with a reason.
#   tools/which.sh promtool   → /var/cache/fastapi-obs-stack/prometheus-v3.16.0/promtool
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . ./.env; set +a
CACHE=${OBS_TOOLS_CACHE:-/var/cache/fastapi-obs-stack}
case ${1:?usage: tools/which.sh NAME} in
  prometheus|promtool)     dir=prometheus-$PROMETHEUS_VERSION ;;
  alertmanager|amtool)     dir=alertmanager-$ALERTMANAGER_VERSION ;;
  alloy)                   dir=alloy-$ALLOY_VERSION ;;
  docker-compose|compose)  dir=compose-$COMPOSE_VERSION; set -- docker-compose ;;
  loki)                    dir=loki-$LOKI_VERSION ;;
  promtail)                dir=promtail-$PROMTAIL_VERSION ;;
  tempo)                   dir=tempo-$TEMPO_VERSION ;;
  grafana)                 dir=grafana-$GRAFANA_VERSION ;;
  postgres_exporter)       p=/usr/bin/prometheus-postgres-exporter ;;
  redis_exporter)          p=/usr/bin/prometheus-redis-exporter ;;
  postgres|initdb|pg_isready|pg_ctl) p=/usr/lib/postgresql/15/bin/$1 ;;
  *) p=$(command -v "$1" || true) ;;
esac
[ -n "${dir:-}" ] && p=$CACHE/$dir/$1
if [ -x "${p:-}" ] && { [ -z "${dir:-}" ] || [ -f "$CACHE/$dir/.complete" ]; }; then
  echo "$p"
else
  echo "tools/which.sh: $1 not available at ${p:-PATH} (run 'make tools'; Loki/Promtail/Tempo/Grafana cannot be built here, see tools/README.md)" >&2
  exit 1
fi
