#!/usr/bin/env bash
# The dashboard in headless Chromium against a local 3-node cluster: the page loads,
# shows three nodes, and a killed node shows as down within the failure detector's
# time. Keeps a screenshot (ARTIFACT_DIR, default BIN_DIR/../artifacts/dashboard.png).
# Usage: dashboard_test.sh BIN_DIR
set -uo pipefail

bin="$1"
source "$(dirname "$0")/lib.sh"
artifacts="${ARTIFACT_DIR:-$bin/../artifacts}"
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "chromium missing (apt install chromium)"; exit 1; }

# Heartbeats every 100 ms: a silent node is convicted after about 1.9 s.
start_cluster --node-arg=--heartbeat-interval-ms=100
url="http://127.0.0.1:$((base + 300))/"
chrome() {
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$dir/chrome" --virtual-time-budget=4000 "$@" 2>/dev/null
}
rows() { chrome --dump-dom "$url" | grep -o 'data-node="n[0-9]*" data-seen="[a-z]*"'; }

out="$(rows)"
[ "$(grep -c 'data-node=' <<<"$out")" = 3 ] || fail "the page does not show three nodes: $out"
grep -q 'data-node="n1" data-seen="self"' <<<"$out" || fail "n1 is not self: $out"
grep -q 'data-node="n3" data-seen="up"' <<<"$out" || fail "n3 is not up: $out"
for i in $(seq 1 30); do curl -s -X POST -d '{"delta":1}' "${url}buckets/b/counters/c" >/dev/null; done

"$shoal" cluster stop n3 --dir "$dir" >/dev/null  # SIGTERM: peers notice the silence
eventually 60 'data-node="n3" data-seen="down"' -- rows
mkdir -p "$artifacts"
chrome --hide-scrollbars --window-size=1280,800 --screenshot="$artifacts/dashboard.png" "$url" >/dev/null
[ -s "$artifacts/dashboard.png" ] || fail "no screenshot"

finish dashboard
