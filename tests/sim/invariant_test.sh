#!/usr/bin/env bash
# A broken invariant stops a simulated node and names the seed that replays it
# (crdt/assert.h). The deliberate bug count-duplicate-replies makes coordinators count a
# duplicated reply again; the coordinator's invariant "one reply per target" must stop
# the run at the first one, whatever the build (NDEBUG included). The same seed without
# the bug passes.
# Usage: invariant_test.sh <bin dir>
set -uo pipefail
sim="$1/shoal-sim"
seed=3
fail() {
  echo "FAIL: $*"
  exit 1
}

out="$("$sim" --seed "$seed" --inject-bug count-duplicate-replies 2>&1)"
rc=$?
printf '%s\n' "$out" | tail -n 4
[ "$rc" -eq 134 ] || fail "expected the run to abort (exit 134), got $rc"
printf '%s\n' "$out" | grep -q \
  "^invariant failed: p->answered_by.size() == p->tally.ok + p->tally.failed at node/core/requests.cc:" ||
  fail "no message naming the broken invariant and where it is"
printf '%s\n' "$out" | grep -Eq "^  in simulated node n[0-9]+ at [0-9]+ ms of seed $seed\$" ||
  fail "the message does not name the node and the seed"
printf '%s\n' "$out" | grep -q "replay: shoal-sim --seed $seed " || fail "no replay command"

"$sim" --seed "$seed" >/dev/null 2>&1 || fail "seed $seed fails without the bug too"
echo "ok: the broken invariant stopped seed $seed and named it; without the bug it passes"
