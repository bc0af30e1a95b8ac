#!/usr/bin/env bash
# compose/: docker-compose accepts the file (no Docker engine runs here), Prometheus
# accepts its scrape config, and the Dockerfile builds and provisions through the dev
# script so the image steps cannot drift from `tools/dev build`.
# Usage: compose_test.sh SOURCE_DIR
set -uo pipefail
src="$1"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

command -v docker-compose >/dev/null || { echo "docker-compose missing (apt install docker-compose)"; exit 1; }
out="$(docker-compose -f "$src/compose/docker-compose.yml" config 2>&1)" || fail "docker-compose config: $out"
for n in n1 n2 n3 n4 n5; do
  grep -q "exec shoald --id $n " <<<"$out" || fail "no service runs shoald --id $n"
done
grep -q "prometheus" <<<"$out" || fail "no prometheus service"
if command -v promtool >/dev/null; then
  promtool check config "$src/compose/prometheus.yml" >/dev/null || fail "promtool rejects prometheus.yml"
fi
grep -q "RUN apt-get update && tools/dev build" "$src/compose/Dockerfile" || fail "the build stage does not run tools/dev build"
grep -q "tools/dev runtime-deps" "$src/compose/Dockerfile" || fail "the runtime stage does not run tools/dev runtime-deps"
grep -q "^runtime_packages=" "$src/tools/dev" || fail "tools/dev has no runtime_packages"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "compose checks passed"
