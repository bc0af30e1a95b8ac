#!/usr/bin/env bash
# tools/dev profile-peers: where a 3-node cluster's CPU goes under one redis-benchmark load
# (the load of tools/bench-peers.sh), as a flame graph and a summary per node.
#
# Starts a fresh 3-node cluster (N=3, QUORUM through n1's RESP port), warms it with the same
# command, then runs `perf record --call-graph dwarf` on each node's process for the
# measured command, and writes to OUT_DIR, per node X (n1 coordinates, n2 and n3 are its
# replicas): flame-TEST-pP-nX.svg (tools/flamegraph.py) and flame-TEST-pP-nX.txt (the
# functions with the most samples, self and inclusive), plus the run's ops/s and server CPU
# per operation. Needs perf (Debian: linux-perf) and the right to profile those processes
# (root, or kernel.perf_event_paranoid <= 1).
#
# Usage: tools/profile-peers.sh BIN_DIR OUT_DIR
#   SHOAL_PROFILE_TEST (set), SHOAL_PROFILE_PIPELINE (16), SHOAL_PROFILE_REQUESTS (300000),
#   SHOAL_PROFILE_WARM (100000 requests first, unmeasured), SHOAL_PROFILE_HZ (300),
#   SHOAL_PROFILE_PORT (7941)
set -euo pipefail

bin="$1"
out="$2"
test="${SHOAL_PROFILE_TEST:-set}"
p="${SHOAL_PROFILE_PIPELINE:-16}"
n="${SHOAL_PROFILE_REQUESTS:-300000}"
warm="${SHOAL_PROFILE_WARM:-100000}"
hz="${SHOAL_PROFILE_HZ:-300}"
port="${SHOAL_PROFILE_PORT:-7941}"
here="$(cd "$(dirname "$0")" && pwd)"

work="$(mktemp -d /tmp/shoal-profile-XXXXXX)"
perf_pids=()
cleanup() {
  for q in "${perf_pids[@]}"; do kill -INT "$q" 2>/dev/null || true; done
  "$bin/shoal" cluster down --dir "$work/c" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

source "$here/bench-lib.sh"
mkdir -p "$out"
up="$("$bin/shoal" cluster up -n 3 --dir "$work/c" --base-port "$port")"
mapfile -t pids < <(sed -nE 's/.* pid ([0-9]+) .*/\1/p' <<<"$up")
[ "${#pids[@]}" -eq 3 ] || { echo "profile-peers: no pids from cluster up" >&2; exit 1; }
resp=$((port + 200))
sleep 1
if [ "$warm" -gt 0 ]; then
  timeout 600 redis-benchmark -p "$resp" -t "$test" -n "$warm" -c 50 -r 100000 -P "$p" -q \
    >/dev/null 2>&1
fi

for i in 0 1 2; do
  perf record -q -F "$hz" --call-graph dwarf,16384 -o "$work/n$((i + 1)).data" -p "${pids[$i]}" \
    >/dev/null 2>&1 &
  perf_pids+=($!)
done
sleep 1  # perf attaches
read -r rps p99 cpu <<<"$(measure "${pids[*]}" "$resp" "$test" "$p" "$n")"
for q in "${perf_pids[@]}"; do kill -INT "$q" 2>/dev/null || true; done
for q in "${perf_pids[@]}"; do wait "$q" 2>/dev/null || true; done
perf_pids=()

echo "$test -P $p, $n requests on 3 nodes: $rps ops/s, p99 $p99 ms, $cpu us server CPU per op" |
  tee "$out/flame-$test-p$p.txt"
for i in 1 2 3; do
  name="flame-$test-p$p-n$i"
  perf script -i "$work/n$i.data" 2>/dev/null >"$work/n$i.txt"
  python3 "$here/flamegraph.py" "$work/n$i.txt" "$out/$name.svg" \
    --title "n$i during redis-benchmark -t $test -P $p (3 nodes, N=3, QUORUM via n1)" \
    >"$out/$name.txt"
  echo "n$i: $out/$name.svg, $out/$name.txt ($(head -n 1 "$out/$name.txt"))"
done
