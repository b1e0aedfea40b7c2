#!/usr/bin/env bash
# Prints where everything is once `make up` returns: only the pages that answer right now.
# The rest is named on one line (natively Loki, Tempo and Grafana are not started; Locust
# runs only with `make locust-ui` / `make loadtest`).
cd "$(dirname "$0")/.." || exit 1
pw=$(sed -n 's/^GRAFANA_ADMIN_PASSWORD=//p' .env.secrets 2>/dev/null)

# name | URL to open | URL that must answer 2xx/3xx | note
rows=(
  "App (FastAPI)|http://localhost:8000/docs|http://127.0.0.1:8000/health/live|API docs, through the load balancer (HAProxy); per-replica metrics are in Prometheus"
  "Grafana|http://localhost:3000|http://127.0.0.1:3000/api/health|login: admin / ${pw:-<see .env.secrets>}"
  "Prometheus|http://localhost:9090|http://127.0.0.1:9090/-/ready|alerts: http://localhost:9090/alerts"
  "Alertmanager|http://localhost:9093|http://127.0.0.1:9093/-/ready|new UI: http://localhost:9093/ui/"
  "Alert sink|http://localhost:9095|http://127.0.0.1:9095/healthz|every notification Alertmanager sent (JSON: /alerts)"
  "Loki|http://localhost:3100/ready|http://127.0.0.1:3100/ready|"
  "Tempo|http://localhost:3200/ready|http://127.0.0.1:3200/ready|"
  "Alloy|http://localhost:12345|http://127.0.0.1:12345/-/ready|pipeline UI"
  "Locust (loadtest)|http://localhost:8089|http://127.0.0.1:8089/|"
)

answers() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null)
  [[ $code =~ ^[23] ]]
}

echo
silent=()
for row in "${rows[@]}"; do
  IFS='|' read -r name url probe note <<<"$row"
  if answers "$probe"; then
    printf '  %-18s %-30s %s\n' "$name" "$url" "$note"
  else
    silent+=("$name")
  fi
done
if [ ${#silent[@]} -gt 0 ]; then
  list=$(printf '%s, ' "${silent[@]}"); echo; echo "  Not answering here: ${list%, } (make ps says why)."
fi
echo
echo "  Failure injection token: ADMIN_TOKEN in .env.secrets.  Next: make loadtest, make verify."
