#!/usr/bin/env bash
# Ensures .env.secrets (git-ignored, mode 600) holds every local secret the stack needs.
# Existing values are kept; missing ones are generated. No secret has a default anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
f=.env.secrets
umask 077; touch "$f"
for key in GRAFANA_ADMIN_PASSWORD POSTGRES_PASSWORD ADMIN_TOKEN; do
  if ! grep -q "^$key=" "$f"; then
    echo "$key=$(openssl rand -hex 20)" >>"$f"
    echo "secrets: generated $key in $f"
  fi
done
