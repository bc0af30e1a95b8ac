#!/usr/bin/env bash
# tools/dev bench-peers: Shoal beside redis-server, in one run, on the same RESP load.
#
# Targets: redis-server (Debian, one copy in memory), a 1-node and a 3-node Shoal cluster
# (N=3, QUORUM through n1's RESP port). For each round, pipeline depth and command, every
# target runs the same redis-benchmark command back to back (A B C A B C ...), so a slow
# moment of the machine hits all of them alike. Server CPU is utime+stime of every server
# process over the command (from /proc), divided by the requests. Prints the medians with
# ratios to redis-server and writes them as JSON.
#
# Usage: tools/bench-peers.sh BIN_DIR [OUT_JSON]   (the plot goes beside it, .svg)
#   SHOAL_BENCH_REQUESTS (100000), SHOAL_BENCH_ROUNDS (3), SHOAL_BENCH_PIPELINES ("1 16"),
#   SHOAL_BENCH_TESTS ("set get incr sadd"), SHOAL_BENCH_PORT (7901)
set -euo pipefail

bin="$1"
out="${2:-bench-peers.json}"
n="${SHOAL_BENCH_REQUESTS:-100000}"
rounds="${SHOAL_BENCH_ROUNDS:-3}"
pipelines="${SHOAL_BENCH_PIPELINES:-1 16}"
tests="${SHOAL_BENCH_TESTS:-set get incr sadd}"
port="${SHOAL_BENCH_PORT:-7901}"
targets=(redis shoal1 shoal3)

declare -A port_of pids_of
work="$(mktemp -d /tmp/shoal-peers-XXXXXX)"
redis_pid=""

cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  for t in shoal1 shoal3; do
    [ -d "$work/$t" ] && "$bin/shoal" cluster down --dir "$work/$t" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

start_shoal() {  # target, nodes, base port
  local up
  up="$("$bin/shoal" cluster up -n "$2" --dir "$work/$1" --base-port "$3")"
  pids_of[$1]="$(sed -nE 's/.* pid ([0-9]+) .*/\1/p' <<<"$up" | tr '\n' ' ')"
  port_of[$1]=$(($3 + 200))
}

source "$(dirname "$0")/bench-lib.sh"

redis-server --port $((port + 99)) --save '' --appendonly no --daemonize no >/dev/null &
redis_pid=$!
pids_of[redis]="$redis_pid"
port_of[redis]=$((port + 99))
until redis-cli -p $((port + 99)) ping >/dev/null 2>&1; do sleep 0.1; done
start_shoal shoal1 1 "$port"
start_shoal shoal3 3 $((port + 10))
sleep 1

# One line per measurement: target test pipeline round rps p99_ms cpu_us_per_op
results="$work/results"
: >"$results"
for round in $(seq 1 "$rounds"); do
  for p in $pipelines; do
    for t in $tests; do
      for target in "${targets[@]}"; do
        read -r rps p99 cpu_us <<<"$(measure "${pids_of[$target]}" "${port_of[$target]}" "$t" "$p" "$n")"
        echo "$target $t $p $round $rps $p99 $cpu_us" >>"$results"
        printf '%s round %s P%s %-5s %-7s %10s/s p99 %6s ms cpu %6s us/op\n' "$(date +%T)" \
          "$round" "$p" "$t" "$target" "$rps" "$p99" "$cpu_us"
      done
    done
  done
done

# Medians per (target, test, pipeline), then the table with ratios to redis-server.
awk -v out="$out" -v n="$n" -v rounds="$rounds" "$awk_median"'
  { key = $1 SUBSEP $2 SUBSEP $3; rps[key] = rps[key] " " $5; p99[key] = p99[key] " " $6
    cpu[key] = cpu[key] " " $7; if (!($3 in seenp)) { seenp[$3] = 1; ps[++np] = $3 }
    if (!($2 in seent)) { seent[$2] = 1; ts[++nt] = $2 } }
  END {
    split("redis shoal1 shoal3", tg, " ")
    printf "%-3s %-5s %-7s %10s %7s %8s %8s %9s\n", "P", "test", "target", "ops/s", "ratio", "p99 ms", "p99 x", "cpu us/op"
    printf "{\"requests\": %d, \"rounds\": %d, \"results\": [", n, rounds > out
    sep = ""
    for (i = 1; i <= np; i++) for (j = 1; j <= nt; j++) {
      r0 = median(rps["redis" SUBSEP ts[j] SUBSEP ps[i]]); q0 = median(p99["redis" SUBSEP ts[j] SUBSEP ps[i]])
      for (k = 1; k <= 3; k++) {
        key = tg[k] SUBSEP ts[j] SUBSEP ps[i]
        r = median(rps[key]); q = median(p99[key]); c = median(cpu[key])
        printf "%-3s %-5s %-7s %10.0f %7.2f %8.3f %8.2f %9.1f\n", ps[i], ts[j], tg[k], r, r / r0, q, q / q0, c
        printf "%s\n  {\"target\": \"%s\", \"test\": \"%s\", \"pipeline\": %d, \"ops_per_s\": %.0f, \"ratio_to_redis\": %.3f, \"p99_ms\": %.3f, \"p99_ratio\": %.2f, \"cpu_us_per_op\": %.1f}", sep, tg[k], ts[j], ps[i], r, r / r0, q, q / q0, c > out
        sep = ","
      }
    }
    printf "\n]}\n" > out
  }' "$results"
# A bar per (pipeline, command, Shoal target): its throughput as a ratio to redis-server.
awk -v n="$n" '
  BEGIN { FS = "[\" :,{}]+" }
  /"target"/ {
    for (i = 1; i < NF; i++) v[$i] = $(i + 1)
    if (v["target"] == "redis") next
    ++rows; label[rows] = "P" v["pipeline"] " " toupper(v["test"]) " " v["target"]
    ratio[rows] = v["ratio_to_redis"] + 0
  }
  END {
    w = 640; bar = 18; top = 30; left = 150; scale = 400
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, top + rows * (bar + 4) + 30
    printf "<text x=\"10\" y=\"18\">ops/s as a ratio to redis-server (same run, %d requests per command)</text>\n", n
    printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", left + scale, top - 4, left + scale, top + rows * (bar + 4)
    for (r = 1; r <= rows; r++) {
      y = top + (r - 1) * (bar + 4); x = ratio[r] > 1.2 ? 1.2 : ratio[r]
      color = label[r] ~ /shoal3/ ? "#2b6cb0" : "#90cdf4"
      printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 6, y + 13, label[r]
      printf "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%d\" fill=\"%s\"/>\n", left, y, x * scale, bar, color
      printf "<text x=\"%.0f\" y=\"%d\">%.2f</text>\n", left + x * scale + 4, y + 13, ratio[r]
    }
    printf "<text x=\"%d\" y=\"%d\">1.0 = redis-server</text>\n</svg>\n", left + scale - 40, top + rows * (bar + 4) + 18
  }' "$out" >"${out%.json}.svg"
echo "JSON: $out  plot: ${out%.json}.svg"
