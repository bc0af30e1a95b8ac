#!/usr/bin/env bash
# `shoal chaos` and `shoal check` against a local 5-node cluster: a partition keeps
# writes flowing on both sides and heals into one converged state; bad rules are refused;
# a restart clears a node's rules; `shoal check` passes for R=W=2, R=W=1 (sloppy) and
# LOCAL writes under isolation, and writes its history and timeline.
# Usage: chaos_test.sh BIN_DIR
set -uo pipefail

bin="$1"
nodes=5
source "$(dirname "$0")/lib.sh"

expect() { expect_exit "$@"; }

start_cluster --node-arg=--heartbeat-interval-ms=100 --node-arg=--gossip-interval-ms=200 \
  --node-arg=--ae-interval-ms=10
at() { echo "127.0.0.1:$((base + ${1#n} - 1))"; }
c=(--dir "$dir")

# a partition: both sides keep taking writes, then heal converges them
expect 0 "n1 +block-in n3,n4,n5" -- "$shoal" chaos partition "n1,n2|n3,n4,n5" "${c[@]}"
expect 0 "n4 +block-in n1,n2" -- "$shoal" chaos status "${c[@]}"
eventually "n3 +up +DOWN" -- "$shoal" cluster status --node n1 "${c[@]}"
for i in 1 2 3; do
  expect 0 "" -- "$shoal" -H "$(at n1)" counter add demo visits 1 -c one
  expect 0 "" -- "$shoal" -H "$(at n4)" counter add demo visits 10 -c one
done
expect 0 "^ok$" -- "$shoal" -H "$(at n2)" set add demo tags left -c one
expect 0 "^ok$" -- "$shoal" -H "$(at n5)" set add demo tags right -c one
expect 0 "no rules" -- "$shoal" chaos heal "${c[@]}"
eventually "^33$" -- "$shoal" -H "$(at n3)" counter get demo visits -c all
eventually '"members":\["left","right"\]' -- "$shoal" --json -H "$(at n1)" set get demo tags -c all
# An update answers with the state on the replica that applied it (counters are not
# read-repaired), so wait until every replica holds the merged 33 before the next add.
expect 0 "in sync" -- "$shoal" cluster settle --timeout-s 60 "${c[@]}"

# delay (requests still answered, just later), isolate, one-way, loss, duplication, clients
expect 0 "n2 +delay 200 50" -- "$shoal" chaos delay n2 200ms --jitter 50ms "${c[@]}"
expect 0 "^34$" -- "$shoal" -H "$(at n2)" counter add demo visits 1 -c all
expect 0 "n3 +block-in n1,n2,n4,n5" -- "$shoal" chaos isolate n3 "${c[@]}"
expect 0 "n2 +block-in n1;delay 200 50" -- "$shoal" chaos one-way n1 n2 "${c[@]}"
expect 0 "drop 10 to n3" -- "$shoal" chaos drop n2 10% --to n3 "${c[@]}"
expect 0 "dup 5" -- "$shoal" chaos dup n4 5% "${c[@]}"
expect 0 "clients refuse" -- "$shoal" chaos clients n5 refuse "${c[@]}"
expect 1 "unavailable: this node refuses clients" -- "$shoal" -H "$(at n5)" get demo tags
expect 0 "n5 +no rules" -- "$shoal" chaos heal "${c[@]}"
expect 0 "" -- "$shoal" -H "$(at n5)" get demo tags

# bad input is refused before anything changes
expect 2 'unknown node "n9"' -- "$shoal" chaos partition "n1,n9|n2" "${c[@]}"
expect 2 "give two or more groups" -- "$shoal" chaos partition "n1,n2" "${c[@]}"
expect 2 "n1 named twice" -- "$shoal" chaos partition "n1|n1,n2" "${c[@]}"
expect 2 'unknown node "n7"' -- "$shoal" chaos isolate n7 "${c[@]}"
expect 2 "percent must be a whole number from 0 to 100" -- "$shoal" chaos drop n2 200% "${c[@]}"
expect 2 "delay must be a whole number" -- "$shoal" chaos delay n2 soon "${c[@]}"
expect 0 "n2 +no rules" -- "$shoal" chaos status "${c[@]}"

# a restart clears a node's rules; pause and resume
expect 0 "delay 100 0" -- "$shoal" chaos delay n3 100ms "${c[@]}"
expect 0 "n3: restart" -- "$shoal" cluster restart n3 "${c[@]}"
expect 0 "n3 +no rules" -- "$shoal" chaos status "${c[@]}"
expect 0 "n4: pause" -- "$shoal" cluster pause n4 "${c[@]}"
expect 0 "n4 +not answering" -- "$shoal" cluster status "${c[@]}"
expect 0 "n4: resume" -- "$shoal" cluster resume n4 "${c[@]}"
eventually "n4 +up " -- "$shoal" cluster status "${c[@]}"

# shoal check: the three configurations of docs/testing.md
check() {
  local out="$dir/check-$1"
  shift
  local log
  log="$("$shoal" check "${c[@]}" --out "$out" --time-limit 6 --nemesis-interval-ms 1500 \
    --clients 4 --quiet-limit 60 "$@" 2>&1)"
  local rc=$?
  echo "$log" | tail -12
  [ "$rc" = 0 ] || fail "shoal check $* exited $rc"
  grep -q "verdict *VALID" <<<"$log" || fail "shoal check $*: no VALID verdict"
  grep -Eq "lost acked writes +0$" <<<"$log" || fail "shoal check $*: lost acknowledged adds"
  [ -s "$out/history.jsonl" ] || fail "shoal check $*: no history"
  grep -q "<svg" "$out/timeline.html" || fail "shoal check $*: no timeline"
}
check quorum --r 2 --w 2
check sloppy --r 1 --w 1
check local -c local --faults isolate
expect 2 'unknown fault "meteor"' -- "$shoal" check "${c[@]}" --faults meteor

finish chaos
