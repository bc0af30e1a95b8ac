#!/bin/bash
# Long fuzzing counted in CPU, not wall time (issue #16 asks an hour of each target).
#
#   tools/fuzz-lane.sh CPU_SECONDS TARGET [TARGET ...]
#
# Runs each target (build/fuzz/bin/fuzz_<target>, built by `tools/dev fuzz`) on its corpus
# in $FUZZ_DIR/<target>/corpus (first filled from tests/fuzz/corpus/<target>) until the
# runs on that corpus used CPU_SECONDS of CPU in all, then the next target. Every run is a
# line of tests/fuzz/ledger ($FUZZ_LEDGER; committed, the record of the long runs): target,
# CPU seconds, executions, exit code, run, wall seconds, libFuzzer's last coverage. A later
# lane goes on from the ledger and the corpus, so an hour can be made of several runs (a
# machine shared with builds gives a fuzzer little CPU; the ledger counts what it got). Two
# lanes use both cores of a 2-core machine; run them in an autogroup of nice 19
# (`echo 19 > /proc/LANE_PID/autogroup`) so other work keeps its share.
#
# SIGTERM ends the lane: the running fuzzer gets SIGINT (its stats printed), its run is
# written down. Never SIGSTOP a fuzzer: its -timeout clock runs on wall time, and on
# SIGCONT it reports the input it was on as a timeout.
# A run that ends on a crash or a real timeout keeps its artifact in $FUZZ_DIR/<target>/
# (crash-*, timeout-*, oom-*) and the lane goes to the next target.
set -u
limit=$1
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${FUZZ_BIN:-$root/build/fuzz/bin}"
dir="${FUZZ_DIR:-$root/build/fuzz/long}"
hz=$(getconf CLK_TCK)
ledger="${FUZZ_LEDGER:-$root/tests/fuzz/ledger}"
stop=0
pid=
mkdir -p "$dir"
touch "$ledger"
trap 'stop=1; [ -n "$pid" ] && kill -INT "$pid"' TERM
for t in "$@"; do
  d="$dir/$t"
  mkdir -p "$d/corpus"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$d/corpus/" 2>/dev/null || true
  while [ "$stop" = 0 ]; do
    total=$(awk -v t="$t" '$1 == t { s += $2 } END { print s + 0 }' "$ledger")
    [ "$total" -ge "$limit" ] && break
    run=$(($(grep -c "^$t " "$ledger") + 1))
    log="$d/log.run$run"
    start=$(date +%s)
    "$bin/fuzz_$t" -timeout=10 -print_final_stats=1 -artifact_prefix="$d/" "$d/corpus" \
      >"$log" 2>&1 &
    pid=$!
    cpu=0
    while kill -0 "$pid" 2>/dev/null; do
      sleep 5
      ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || break
      [ -n "$ticks" ] && cpu=$((ticks / hz))
      [ $((total + cpu)) -ge "$limit" ] && kill -INT "$pid"
    done
    wait "$pid"
    rc=$?
    pid=
    execs=$(grep -a number_of_executed_units "$log" | awk '{ print $2 }')
    [ -z "$execs" ] && execs=$(grep -a '^#[0-9]' "$log" | tail -n 1 | awk '{ print substr($1, 2) }')
    cov=$(grep -a '^#' "$log" | tail -n 1 | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*')
    echo "$t $cpu ${execs:-0} $rc run$run wall=$(($(date +%s) - start)) $cov" >>"$ledger"
    if grep -qa "SUMMARY: \|ERROR: libFuzzer" "$log"; then break; fi
  done
  [ "$stop" = 1 ] && break
done
