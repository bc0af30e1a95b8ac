#!/usr/bin/env bash
# The HTTP API with curl against a local 3-node cluster: every route, options as query
# parameters, the context header, siblings as 300, errors as JSON with their status
# (unknown routes and methods, malformed JSON, bad options, oversized bodies), /ping,
# /status, and /metrics checked by promtool and moving with traffic.
# Usage: http_test.sh BIN_DIR
set -uo pipefail

bin="$1"
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing"; exit 1; }

# expect STATUS PATTERN -- curl args...: the HTTP status and a pattern in headers+body.
expect() {
  local want="$1" pattern="$2"
  shift 3
  local out code
  out="$(curl -s -i --max-time 10 "$@" 2>&1)"
  code="$(head -1 <<<"$out" | awk '{print $2}')"
  if [ "$code" != "$want" ]; then fail "curl $* -> $code (wanted $want): $out"; return; fi
  if ! grep -qE -- "$pattern" <<<"$out"; then fail "curl $*: lacks /$pattern/: $out"; fi
}
header() { curl -s -i --max-time 10 "$@" | tr -d '\r' | sed -n 's/^X-Shoal-Context: //p'; }

start_cluster
h1="http://127.0.0.1:$((base + 300))" h2="http://127.0.0.1:$((base + 301))"

expect 200 '"node":"n1"' -- "$h1/ping"
# registers: put, get, siblings (300), resolve with the context, delete
expect 204 "X-Shoal-Context: " -- -X PUT --data-binary 'alice@example.com' "$h1/buckets/users/keys/alice"
expect 200 "^alice@example.com$" -- "$h2/buckets/users/keys/alice"
curl -s -X PUT --data-binary 'v1' "$h1/buckets/c/keys/cart" >/dev/null
curl -s -X PUT --data-binary 'v2' "$h2/buckets/c/keys/cart" >/dev/null
expect 300 '"siblings":\[("v1","v2"|"v2","v1")\]' -- "$h1/buckets/c/keys/cart?consistency=all"
ctx="$(header "$h1/buckets/c/keys/cart?consistency=all")"
expect 204 "" -- -X PUT -H "X-Shoal-Context: $ctx" --data-binary 'v1+v2' "$h1/buckets/c/keys/cart?w=all"
expect 200 "^v1\+v2$" -- "$h2/buckets/c/keys/cart?r=all"
ctx="$(header "$h1/buckets/c/keys/cart")"
expect 204 "" -- -X DELETE -H "X-Shoal-Context: $ctx" "$h1/buckets/c/keys/cart?w=all"
expect 404 '"code":"not_found"' -- "$h2/buckets/c/keys/cart?r=all"
expect 204 "" -- -X PUT --data-binary 'fast' "$h1/buckets/cfg/keys/mode?type=lww&durable=true"
expect 200 "^fast$" -- "$h2/buckets/cfg/keys/mode"
# counters and sets
expect 200 '"value":5' -- -X POST -d '{"delta": 5}' "$h1/buckets/stats/counters/visits"
expect 200 '"value":3' -- -X POST -d '{"delta": -2}' "$h2/buckets/stats/counters/visits"
expect 200 '"type":"counter","value":3' -- "$h1/buckets/stats/counters/visits?consistency=all"
expect 200 '"present":\["blue","green","red"\]' -- -X POST -d '{"add": ["red","green","blue"]}' "$h1/buckets/t/sets/p1?w=all"
sctx="$(header "$h2/buckets/t/sets/p1")"
expect 200 '"present":\[\]' -- -X POST -H "X-Shoal-Context: $sctx" -d '{"remove": ["green"]}' "$h2/buckets/t/sets/p1?w=all"
expect 200 '"members":\["blue","red"\]' -- "$h1/buckets/t/sets/p1?r=all"
expect 200 '"members":\["red"\]' -- "$h1/buckets/t/sets/p1?member=red"
expect 200 '"members":\[\]' -- "$h1/buckets/t/sets/p1?member=green"
# a remove without a context counts what a read would have found (as SREM)
expect 200 '"added":1' -- -X POST -d '{"add": ["gone"]}' "$h1/buckets/t/sets/p2"
expect 200 '"removed":1' -- -X POST -d '{"remove": ["gone","never"]}' "$h2/buckets/t/sets/p2"
expect 200 '"members":\[\]' -- "$h1/buckets/t/sets/p2?r=all"
# operation ids: Idempotency-Key on updates, refused when empty, too long, or on a GET
expect 200 '"value":5' -- -X POST -H 'Idempotency-Key: add-7f3a' -d '{"delta": 5}' "$h1/buckets/stats/counters/once"
expect 204 "" -- -X PUT -H 'Idempotency-Key: put-1' --data-binary 'v' "$h2/buckets/b/keys/once"
expect 400 'header Idempotency-Key: 65 bytes' -- -X POST -H "Idempotency-Key: $(printf 'k%.0s' {1..65})" -d '{"delta": 5}' "$h1/buckets/stats/counters/once"
expect 400 'applies to updates' -- -H 'Idempotency-Key: get-1' "$h1/buckets/stats/counters/once"
expect 200 '"value":5' -- "$h1/buckets/stats/counters/once?consistency=all"
expect 400 'member= is for GET on sets' -- "$h1/buckets/t/keys/p1?member=red"
# bad input
expect 404 '"code":"not_found".*no route' -- "$h1/nope"
expect 404 'no route' -- "$h1/buckets/b/tables/k"
expect 405 "Allow: GET, POST" -- -X PUT -d 1 "$h1/buckets/b/counters/k"
expect 405 "Allow: GET, PUT, DELETE" -- -X PATCH "$h1/buckets/b/keys/k"
expect 400 'malformed JSON' -- -X POST -d '{"delta": ' "$h1/buckets/b/counters/k"
expect 400 'field \\"delta\\": expected a signed 64-bit integer' -- -X POST -d '{"delta": "x"}' "$h1/buckets/b/counters/k"
expect 400 'field \\"delta\\": missing' -- -X POST -d '{}' "$h1/buckets/b/counters/k"
expect 400 'field \\"dleta\\": unknown field' -- -X POST -d '{"dleta": 5}' "$h1/buckets/b/counters/k"
expect 400 'PUT needs the value' -- -X PUT "$h1/buckets/b/keys/k"
expect 404 'not_found' -- "$h1/buckets/b/keys/k"  # nothing was stored by the refused PUT
expect 400 'add.*or.*remove' -- -X POST -d '{}' "$h1/buckets/b/sets/k"
expect 400 'r=9 exceeds n=3' -- "$h1/buckets/b/keys/k?r=9"
expect 400 'unknown query parameter' -- "$h1/buckets/b/keys/k?colour=red"
expect 400 'timeout_ms' -- "$h1/buckets/b/keys/k?timeout_ms=0"
expect 400 'X-Shoal-Context is not base64' -- -X PUT -H 'X-Shoal-Context: !!' -d v "$h1/buckets/b/keys/k"
expect 409 '"code":"type_mismatch"' -- -X POST -d '{"delta": 1}' "$h1/buckets/t/counters/p1"
head -c 3000000 /dev/zero > "$dir/big"
expect 413 '"code":"too_large"' -- -X PUT --data-binary @"$dir/big" "$h1/buckets/b/keys/big"
head -c 1100000 /dev/zero > "$dir/value"
expect 413 '"code":"too_large"' -- -X PUT --data-binary @"$dir/value" "$h1/buckets/b/keys/big"
printf 'GARBAGE / HTTP/1.1\r\n\r\n' > "$dir/raw"
out="$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$((base + 300)); cat '$dir/raw' >&3; cat <&3")"
grep -q "400 Bad Request" <<<"$out" || fail "a malformed request line: $out"
expect 200 '"node":"n1"' -- "$h1/ping"  # still serving

# /status and /metrics
expect 200 '"members":\[.*"id":"n3".*"ring":\{"size":3' -- "$h1/status"
curl -s "$h1/metrics" > "$dir/m1"
if command -v promtool >/dev/null; then
  promtool check metrics < "$dir/m1" || fail "promtool rejects /metrics"
else
  fail "promtool missing (apt install prometheus)"
fi
before="$(sed -n 's/^shoal_requests_total{op="counter_add",consistency="quorum",code="ok"} //p' "$dir/m1")"
for i in 1 2 3 4 5; do curl -s -X POST -d '{"delta": 1}' "$h1/buckets/stats/counters/m" >/dev/null; done
after="$(curl -s "$h1/metrics" | sed -n 's/^shoal_requests_total{op="counter_add",consistency="quorum",code="ok"} //p')"
[ "$after" = "$((before + 5))" ] || fail "counter_add requests moved from $before to $after, not +5"
grep -q '^shoal_peer_phi{peer="n2"}' "$dir/m1" || fail "no phi for n2"
grep -q '^shoal_request_duration_seconds_bucket{op="get",consistency="all",le="+Inf"}' "$dir/m1" ||
  fail "no latency histogram for get/all"

finish HTTP
