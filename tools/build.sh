#!/usr/bin/env bash
# Builds (or installs) every native program the stack needs, at the versions pinned in .env.
#
#   tools/build.sh            # everything
#   tools/build.sh prometheus alertmanager
#
# Go programs are built from their Go modules into a cache outside the repo, keyed by
# name and version, so a fresh clone (CI) reuses them: the folder `tools/which.sh --dir NAME`
# prints ($OBS_TOOLS_CACHE/<name>-<version>/); tools/pinned.tsv says which program is in which.
# Debian packages (Postgres, Redis, exporters, iproute2) come from tools/install-debian.sh.
# One build of a tool at a time: each holds a lock (flock) on <folder>.lock, so parallel runs
# wait for each other and then find the finished build instead of racing on the folder.
# Ends with a table of what is there and what is not, and why; a tool whose build did not
# finish is FAILED there, never ok.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
WHICH=$PWD/tools/which.sh  # absolute: the builds below run inside module copies
CACHE=$("$WHICH" --cache) || exit 2
JOBS=${TOOLS_JOBS:-2}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
mkdir -p "$CACHE/logs" "$CACHE/src"

strip_v() { echo "${1#v}"; }

version_of() { "$WHICH" --version "$1"; }  # the version .env pins (tools/pinned.tsv)

# name → "module version main-packages…"
recipe() {
  local v; v=$(version_of "$1" 2>/dev/null) || return 1
  case $1 in
    prometheus)   echo "github.com/prometheus/prometheus v0.$(strip_v "$v" | awk -F. '{printf "%d%02d.%d", $1, $2, $3}') ./cmd/prometheus ./cmd/promtool" ;;
    alertmanager) echo "github.com/prometheus/alertmanager $v ./cmd/alertmanager ./cmd/amtool" ;;
    alloy)        echo "github.com/grafana/alloy $v ./cmd/alloy-native" ;;
    compose)      echo "github.com/docker/compose/v2 $v ./cmd" ;;
    *) return 1 ;;
  esac
}
ALL=(prometheus alertmanager compose alloy)

# go build inside a writable copy of the module: works for modules whose go.mod has
# `replace` lines (which `go install pkg@version` refuses). Local replaces point at
# nested modules a module zip does not carry, so they are dropped.
build_one() {
  local name=$1 out mod ver pkgs dir
  out=$("$WHICH" --dir "$name") || return 1
  read -r mod ver pkgs <<<"$(recipe "$name")"
  is_built "$name" "$out" && { echo "cached"; return 0; }
  rm -rf "$out" && mkdir -p "$out" || return 1
  dir=$(go mod download -json "$mod@$ver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') || return 1
  local src="$CACHE/src/$name-$ver"
  rm -rf "$src" && cp -r "$dir" "$src" && chmod -R u+w "$src" || return 1
  (
    cd "$src" || exit 1
    for r in $(go mod edit -json | python3 -c 'import json,sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith("."): print(r["Old"]["Path"])'); do
      go mod edit -dropreplace="$r"
    done
    # Alertmanager embeds its web UI from ui/app/dist: elm/ (the classic UI at /) and mantine/
    # (the new UI at /ui/), each page stored only as .gz/.br. tools/build-ui.sh builds them into
    # the cache; without npm, / says so and the API still works.
    if [ "$name" = alertmanager ]; then
      ui="$CACHE/alertmanager-ui-$ver"
      "$OLDPWD/tools/build-ui.sh" alertmanager || echo "alertmanager UI not built: API only" >&2
      rm -rf ui/app/dist
      if [ -f "$ui/.complete" ]; then cp -r "$ui/app/dist" ui/app/dist && touch "$out/.ui"
      else  # no npm: at least the page at / (gzip only: browsers asking for br get 404)
        mkdir -p ui/app/dist/elm && gzip -9 -n -c "$OLDPWD/tools/ui/alertmanager-root.html" >ui/app/dist/elm/index.html.gz
      fi
    fi
    # Alloy's own main lives in a nested module (./collector) that the module zip does not
    # carry; its CLI is the exported flowcmd.RootCommand, so a three-line main runs it.
    if [ "$name" = alloy ]; then
      mkdir -p cmd/alloy-native
      cat >cmd/alloy-native/main.go <<'GO'
package main

import (
	"os"

	"github.com/grafana/alloy/flowcmd"
)

func main() {
	if err := flowcmd.RootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
GO
    fi
    local v=${ver#v} ldflags="-s -w"
    case $name in
      prometheus) v=$(strip_v "$(version_of prometheus)") ;;
    esac
    ldflags+=" -X github.com/prometheus/common/version.Version=$v"
    # shellcheck disable=SC2086
    for p in $pkgs; do
      local bin; bin=$(basename "$p"); [ "$p" = . ] && bin=$name; [ "$name" = compose ] && bin=docker-compose
      [ "$name" = alloy ] && { bin=alloy; ldflags+=" -X github.com/grafana/alloy/internal/build.Version=$ver"; }
      go build -trimpath -ldflags "$ldflags" -o "$out/$bin" "$p" || exit 1
      "$out/$bin" --version >/dev/null 2>&1 || [ "$name" = compose ] || { echo "$out/$bin does not run" >&2; exit 1; }
    done
  ) || return 1
  rm -rf "$src"
  touch "$out/.complete"
}

# Built and complete. An Alertmanager built before its UI was embedded (no .ui marker) counts as
# not built, so it is built again, once.
is_built() { [ -f "$2/.complete" ] && { [ "$1" != alertmanager ] || [ -f "$2/.ui" ]; }; }

# build_one under the tool's lock, logging to logs/NAME.log once the lock is held: a run that
# waited, or finds the tool built, leaves the log of the build that made it alone.
locked_build() {
  local name=$1 dir
  dir=$("$WHICH" --dir "$name") || return 1
  (
    flock -n 9 || { echo "[tools] $name: waiting for another build ($dir.lock)"; flock 9; } || exit 1
    is_built "$name" "$dir" && { echo "[tools] $name: cached"; exit 0; }
    build_one "$name" >"$CACHE/logs/$name.log" 2>&1
  ) 9>"$dir.lock"
}

want=("$@"); [ ${#want[@]} -eq 0 ] && want=("${ALL[@]}")
for name in "${want[@]}"; do
  recipe "$name" >/dev/null || { echo "unknown tool: $name" >&2; exit 2; }
done
# Results of this run only: a status another run (or an earlier one) left can never read as ok.
results=$(mktemp -d); trap 'rm -rf "$results"' EXIT
for name in "${want[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done  # a free slot, no polling
  echo "[tools] building $name $(version_of "$name") (log: $CACHE/logs/$name.log)"
  ( t0=$SECONDS; if locked_build "$name"; then r=ok; else r=FAILED; fi
    echo "$r $((SECONDS - t0))" >"$results/$name"; echo "[tools] $name: $r" ) &
done
wait

rc=0
printf '\n%-14s %-10s %-8s %s\n' TOOL VERSION TIME RESULT
for name in "${want[@]}"; do
  r=FAILED s='?'
  [ -f "$results/$name" ] && read -r r s <"$results/$name"
  [ "$r" = ok ] || { r=FAILED; rc=1; }
  printf '%-14s %-10s %-8s %s\n' "$name" "$(version_of "$name")" "${s}s" "$r$([ "$r" = ok ] || echo " (see $CACHE/logs/$name.log)")"
done
cat <<EOF
Not built here (see tools/README.md): Loki, Promtail, Tempo, Grafana — AGPL-licensed; this
workplace's Go module proxy refuses Tempo and Grafana and marks Loki not-to-use. Their configs
are checked through the pinned images where a Docker engine exists (scripts/check-configs.sh).
EOF
exit $rc
