#!/usr/bin/env bash
# Prints where everything is once `make up` returns.
cd "$(dirname "$0")/.." || exit 2
pw=$(sed -n 's/^GRAFANA_ADMIN_PASSWORD=//p' .env.secrets 2>/dev/null)
cat <<EOF2

  App (FastAPI)      http://localhost:8000/docs        metrics: http://localhost:8000/metrics
  Grafana            http://localhost:3000             login: admin / ${pw:-<see .env.secrets>}
  Prometheus         http://localhost:9090
  Alertmanager       http://localhost:9093
  Alert sink         http://localhost:9095/alerts      (every notification Alertmanager sent)
  Loki               http://localhost:3100/ready
  Tempo              http://localhost:3200/ready
  Alloy              http://localhost:12345
  Locust (loadtest)  http://localhost:8089             (profile 'loadtest': make loadtest)

  Failure injection token: ADMIN_TOKEN in .env.secrets.  Next: make loadtest, make verify.
EOF2
