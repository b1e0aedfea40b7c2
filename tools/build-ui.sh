#!/usr/bin/env bash
# Builds the web UIs of the native programs with npm, from the same Go module sources
# tools/build.sh compiles, into the cache beside the binaries:
#
#   tools/build-ui.sh                    # alloy prometheus alertmanager
#   tools/build-ui.sh prometheus
#
#   $CACHE/alloy-ui-<v>/internal/web/ui/dist/    Alloy without the `embedalloyui` tag serves
#                                                ./internal/web/ui/dist: the native runner starts
#                                                Alloy in this directory.
#   $CACHE/prometheus-ui-<v>/static/mantine-ui/  Prometheus without `builtinassets` serves
#                                                ./static/ when its working directory is not
#                                                named prometheus, web or ui (web/ui/ui.go): the
#                                                runner starts Prometheus in this directory.
#   $CACHE/alertmanager-ui-<v>/app/dist/         Alertmanager always embeds ui/app/dist:
#                                                tools/build.sh copies this in before `go build`.
#       mantine/   the new React UI (served at /ui/), built here
#       elm/       the classic UI at /. Its Elm compiler comes from npm, but the Elm packages
#                  it compiles against come only from the Elm package site, which this machine
#                  cannot reach; so / is a small page saying so, linking the working pages.
#
# Each result is complete only with its `.complete` marker; a lock per UI keeps two runs from
# writing one directory. Measured on 2 busy cores with a warm npm cache: alloy 34 s,
# prometheus 81 s, alertmanager 34 s (mostly package installs); later runs are instant.
#
# Where the registry lacks a locked package, the build says so in its log and substitutes:
# @mantine/code-highlight (a missing patch release: the newest one it has) and
# @grafana/alloy-pipeline-graph (missing: tools/ui/alloy-pipeline-graph, same exports).
# shellcheck disable=SC2317  # the build_* functions are called indirectly ("build_$name")
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
# shellcheck source=../.env
set -a; . ./.env; set +a
CACHE=${OBS_TOOLS_CACHE:-/var/cache/fastapi-obs-stack}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
# pnpm at the major Prometheus's own CI uses (its workspace settings need pnpm >= 10).
PNPM_VERSION=12.23.0
mkdir -p "$CACHE/logs" "$CACHE/src"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

prom_module_version() { # v3.16.0 → v0.316.0 (Prometheus's Go module versioning)
  echo "$PROMETHEUS_VERSION" | sed 's/^v//' | awk -F. '{printf "v0.%d%02d.%d", $1, $2, $3}'
}

module_dir() { go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'; }

# A writable copy of one folder of a module (module zips are read-only).
copy_src() {
  local from=$1 to=$2
  rm -rf "$to"; mkdir -p "$(dirname "$to")"; cp -r "$from" "$to"; chmod -R u+w "$to"
}

build_alloy() {
  local out=$1 src="$CACHE/src/alloy-ui-$ALLOY_VERSION"
  copy_src "$(module_dir "github.com/grafana/alloy@$ALLOY_VERSION")/internal/web/ui" "$src"
  # The package's engines field asks for a newer Node than Debian ships; vite and tsc run fine
  # on Node 20, and the output is browser code, so the engines check is advisory here.
  (
    cd "$src"
    local install=ci
    # Alloy's pipeline-graph page uses @grafana/alloy-pipeline-graph; where the registry does not
    # serve it, tools/ui/alloy-pipeline-graph stands in (same exports; the graph as a table).
    if ! npm view "@grafana/alloy-pipeline-graph@$(node -p 'require("./package-lock.json").packages["node_modules/@grafana/alloy-pipeline-graph"].version')" version | grep -q .; then
      cp -r "$REPO/tools/ui/alloy-pipeline-graph" vendor-alloy-pipeline-graph
      npm pkg set "dependencies.@grafana/alloy-pipeline-graph=file:vendor-alloy-pipeline-graph"
      install=install
      echo "substituted @grafana/alloy-pipeline-graph with tools/ui/alloy-pipeline-graph"
    fi
    npm "$install" --engine-strict=false
    npm run build
  )
  mkdir -p "$out/internal/web/ui"
  cp -r "$src/dist" "$out/internal/web/ui/dist"
  test -f "$out/internal/web/ui/dist/index.html"
  rm -rf "$src"
}

locked_version() { # version of a package in pnpm-lock.yaml (cwd)
  sed -n "s|^  '$1@\\([0-9][^']*\\)':\$|\\1|p" pnpm-lock.yaml | head -n1
}

build_prometheus() {
  local out=$1 ver src
  ver=$(prom_module_version)
  src="$CACHE/src/prometheus-ui-$ver"
  copy_src "$(module_dir "github.com/prometheus/prometheus@$ver")/web/ui" "$src"
  (
    cd "$src"
    local pnpm=(npm exec --yes "pnpm@$PNPM_VERSION" --) frozen=--frozen-lockfile
    # The registry this builds from may lack a locked version; then the newest release it has
    # stands in (one minor back; peer ranges differ only in the patch train).
    if ! npm view "@mantine/code-highlight@$(locked_version @mantine/code-highlight)" version | grep -q .; then
      printf "overrides:\n  '@mantine/code-highlight': %s\n" \
        "$(npm view @mantine/code-highlight dist-tags.latest)" >>pnpm-workspace.yaml
      # pnpm vets every lockfile entry against its release-age policy before it re-resolves,
      # and an entry the registry lacks fails that check; the rest of the lock still pins
      # every other package to what upstream vetted.
      sed -i 's/^minimumReleaseAge: .*/minimumReleaseAge: 0/' pnpm-workspace.yaml
      frozen=--no-frozen-lockfile
      echo "substituted @mantine/code-highlight: $(tail -n1 pnpm-workspace.yaml)"
    fi
    # The workspace holds only what the mantine UI needs (Prometheus 3 no longer serves react-app).
    "${pnpm[@]}" install "$frozen"
    "${pnpm[@]}" --filter @prometheus-io/lezer-promql run build
    "${pnpm[@]}" --filter @prometheus-io/codemirror-promql run build
    "${pnpm[@]}" --filter @prometheus-io/mantine-ui run build
  )
  mkdir -p "$out/static"
  cp -r "$src/mantine-ui/dist" "$out/static/mantine-ui"
  test -f "$out/static/mantine-ui/index.html"
  rm -rf "$src"
}

build_alertmanager() {
  local out=$1 src="$CACHE/src/alertmanager-ui-$ALERTMANAGER_VERSION"
  copy_src "$(module_dir "github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION")/ui" "$src"
  (
    cd "$src/mantine-ui"
    local install=(ci)
    # Same stale package as in Prometheus's UI: the newest release the registry has stands in,
    # its peer range (one minor back) accepted.
    local locked
    locked=$(node -p 'require("./package-lock.json").packages["node_modules/@mantine/code-highlight"].version')
    if ! npm view "@mantine/code-highlight@$locked" version | grep -q .; then
      npm pkg set "dependencies.@mantine/code-highlight=$(npm view @mantine/code-highlight dist-tags.latest)"
      install=(install --legacy-peer-deps)
      echo "substituted @mantine/code-highlight@$locked: $(npm pkg get 'dependencies.@mantine/code-highlight')"
    fi
    npm "${install[@]}" --engine-strict=false
    npm run build
  )
  test -f "$src/app/dist/mantine/index.html.gz"
  mkdir -p "$out/app/dist/elm"
  cp -r "$src/app/dist/mantine" "$out/app/dist/mantine"
  # The server serves only the .br/.gz variants of an .html file, picked by the browser's
  # Accept-Encoding (ui/web.go; a browser asking for br gets 404 without .br), so both are stored.
  gzip -9 -n -c "$REPO/tools/ui/alertmanager-root.html" >"$out/app/dist/elm/index.html.gz"
  node -e 'const z = require("zlib"), fs = require("fs");
    fs.writeFileSync(process.argv[2], z.brotliCompressSync(fs.readFileSync(process.argv[1])))' \
    "$REPO/tools/ui/alertmanager-root.html" "$out/app/dist/elm/index.html.br"
  rm -rf "$src"
}

version_of() {
  case $1 in
    alloy) echo "$ALLOY_VERSION" ;; prometheus) echo "$PROMETHEUS_VERSION" ;;
    alertmanager) echo "$ALERTMANAGER_VERSION" ;; *) return 1 ;;
  esac
}

if [ "${1:-}" = --one ]; then "build_$2" "$3"; exit 0; fi

want=("$@"); [ ${#want[@]} -eq 0 ] && want=(alloy prometheus alertmanager)
rc=0
for name in "${want[@]}"; do
  version_of "$name" >/dev/null || { echo "unknown UI: $name" >&2; exit 2; }
  out="$CACHE/$name-ui-$(version_of "$name")"
  log="$CACHE/logs/$name-ui.log"
  (
    flock 9
    if [ -f "$out/.complete" ]; then echo "[ui] $name: cached ($out)"; exit 0; fi
    echo "[ui] building the $name UI $(version_of "$name") (log: $log)"
    t0=$(date +%s)
    rm -rf "$out"
    # A fresh shell per build: `set -e` holds there (it is ignored inside `if`/`||` contexts).
    if "$0" --one "$name" "$out" >"$log" 2>&1; then
      touch "$out/.complete"
      echo "[ui] $name: ok in $(($(date +%s) - t0))s ($out)"
    else
      rm -rf "$out"
      echo "[ui] $name: FAILED (tail of $log):" >&2; tail -n 20 "$log" >&2
      exit 1
    fi
  ) 9>"$CACHE/.ui-$name.lock" || rc=1
done
exit $rc
