#!/usr/bin/env bash
# Where a pinned native program is: the one lookup, over tools/pinned.tsv and .env.
#
#   tools/which.sh promtool              → /var/cache/fastapi-obs-stack/prometheus-v3.16.0/promtool
#   tools/which.sh --dir prometheus      → /var/cache/fastapi-obs-stack/prometheus-v3.16.0 (built or not)
#   tools/which.sh --version prometheus  → v3.16.0
#   tools/which.sh --cache               → /var/cache/fastapi-obs-stack ($OBS_TOOLS_CACHE)
#
# A program counts only when its build folder is complete (tools/build.sh writes .complete
# last); a program on PATH at another version never stands in. Exit 1 with the reason otherwise.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 2
set -a; . ./.env; set +a
CACHE=${OBS_TOOLS_CACHE:-/var/cache/fastapi-obs-stack}
TABLE=tools/pinned.tsv

column() {  # column KEY-COLUMN KEY VALUE-COLUMN: the first matching row's value, or exit 1
  awk -v k="$1" -v key="$2" -v v="$3" '!/^#/ && $k == key { print $v; found = 1; exit } END { exit !found }' "$TABLE"
}
build_version() {  # BUILD → the version .env pins for it
  local var; var=$(column 2 "$1" 3) || { echo "tools/which.sh: no build '$1' in $TABLE" >&2; exit 1; }
  echo "${!var:?$var is not set in .env}"
}

case ${1:?usage: tools/which.sh [--dir|--version] NAME} in
  --dir) version=$(build_version "${2:?build name}"); echo "$CACHE/$2-$version"; exit 0 ;;
  --version) build_version "${2:?build name}"; exit 0 ;;
  --cache) echo "$CACHE"; exit 0 ;;
esac

name=$1
build=$(column 1 "$name" 2) || { echo "tools/which.sh: $name is not in $TABLE" >&2; exit 1; }
if [ "$build" = debian ]; then
  path=$(column 1 "$name" 3); marker=$path
else
  version=$(build_version "$build"); dir=$CACHE/$build-$version; path=$dir/$name; marker=$dir/.complete
fi
if [ -x "$path" ] && [ -e "$marker" ]; then
  echo "$path"
else
  echo "tools/which.sh: $name not available at $path (run 'make tools'; Loki/Promtail/Tempo/Grafana cannot be built here, see tools/README.md)" >&2
  exit 1
fi
