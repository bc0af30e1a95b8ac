#!/usr/bin/env bash
# tools/dev bench-tls: what TLS costs, measured side by side in one run on the same RESP
# load (issue #16; docs/benchmarks.md, "TLS").
#
# Targets, each plaintext and TLS: redis-server (Debian; its own TLS, the reference), a
# 1-node and a 3-node Shoal cluster (N=3, QUORUM through n1's RESP port; TLS on every port
# and between peers). For each round, pipeline depth and command every target runs the
# same redis-benchmark command back to back (--tls --cacert for the TLS ones), so a slow
# moment of the machine hits all of them alike. Server CPU is utime+stime of every server
# process over the command (from /proc), divided by the requests. Prints the medians and,
# per target, TLS throughput as a ratio to plaintext, and writes them as JSON.
#
# Usage: tools/bench-tls.sh BIN_DIR [OUT_JSON]
#   SHOAL_BENCH_REQUESTS (100000), SHOAL_BENCH_ROUNDS (3), SHOAL_BENCH_PIPELINES ("1 16"),
#   SHOAL_BENCH_TESTS ("set get"), SHOAL_BENCH_PORT (7801)
set -euo pipefail

bin="$1"
out="${2:-bench-tls.json}"
n="${SHOAL_BENCH_REQUESTS:-100000}"
rounds="${SHOAL_BENCH_ROUNDS:-3}"
pipelines="${SHOAL_BENCH_PIPELINES:-1 16}"
tests="${SHOAL_BENCH_TESTS:-set get}"
port="${SHOAL_BENCH_PORT:-7801}"
targets=(redis redis-tls shoal1 shoal1-tls shoal3 shoal3-tls)

declare -A port_of pids_of
work="$(mktemp -d /tmp/shoal-bench-tls-XXXXXX)"
pids_redis=()

cleanup() {
  for p in "${pids_redis[@]}"; do kill "$p" 2>/dev/null || true; done
  for t in shoal1 shoal1-tls shoal3 shoal3-tls; do
    [ -d "$work/$t" ] && "$bin/shoal" cluster down --dir "$work/$t" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# A CA and a certificate per node (and for redis-server).
pki="$work/pki"
"$(dirname "$0")/make-certs.sh" "$pki" n1 n2 n3 redis
tls_args=(--node-arg=--tls-cert="$pki/{id}.crt" --node-arg=--tls-key="$pki/{id}.key"
  --node-arg=--tls-ca="$pki/ca.crt")

start_shoal() {  # target, nodes, base port, [tls]
  local up
  up="$(SHOAL_TLS_CA="${4:+$pki/ca.crt}" "$bin/shoal" cluster up -n "$2" --dir "$work/$1" \
    --base-port "$3" ${4:+"${tls_args[@]}"})"
  pids_of[$1]="$(sed -nE 's/.* pid ([0-9]+) .*/\1/p' <<<"$up" | tr '\n' ' ')"
  port_of[$1]=$(($3 + 200))
}

source "$(dirname "$0")/bench-lib.sh"

redis-server --port $((port + 98)) --save '' --appendonly no >/dev/null &
pids_redis+=($!)
pids_of[redis]=$!
port_of[redis]=$((port + 98))
redis-server --port 0 --tls-port $((port + 99)) --tls-cert-file "$pki/redis.crt" \
  --tls-key-file "$pki/redis.key" --tls-ca-cert-file "$pki/ca.crt" --tls-auth-clients no \
  --save '' --appendonly no >/dev/null &
pids_redis+=($!)
pids_of[redis-tls]=$!
port_of[redis-tls]=$((port + 99))
start_shoal shoal1 1 "$port"
start_shoal shoal1-tls 1 $((port + 10)) tls
start_shoal shoal3 3 $((port + 20))
start_shoal shoal3-tls 3 $((port + 30)) tls
sleep 1

# One line per measurement: target test pipeline round rps cpu_us_per_op
results="$work/results"
: >"$results"
for round in $(seq 1 "$rounds"); do
  for p in $pipelines; do
    for t in $tests; do
      for target in "${targets[@]}"; do
        tls=()
        [[ "$target" == *-tls ]] && tls=(--tls --cacert "$pki/ca.crt")
        read -r rps _ cpu_us <<<"$(measure "${pids_of[$target]}" "${port_of[$target]}" "$t" "$p" "$n" \
          "${tls[@]}")"
        echo "$target $t $p $round $rps $cpu_us" >>"$results"
        printf '%s round %s P%s %-4s %-10s %10s/s cpu %6s us/op\n' "$(date +%T)" "$round" "$p" \
          "$t" "$target" "$rps" "$cpu_us"
      done
    done
  done
done

# Medians per (target, test, pipeline); for each TLS target its ratio to its plaintext twin.
awk -v out="$out" -v n="$n" -v rounds="$rounds" "$awk_median"'
  { key = $1 SUBSEP $2 SUBSEP $3; rps[key] = rps[key] " " $5; cpu[key] = cpu[key] " " $6
    if (!($3 in seenp)) { seenp[$3] = 1; ps[++np] = $3 }
    if (!($2 in seent)) { seent[$2] = 1; ts[++nt] = $2 } }
  END {
    split("redis shoal1 shoal3", tg, " ")
    printf "%-3s %-4s %-7s %10s %10s %9s %10s %10s\n", "P", "test", "target", "plain/s", "tls/s", "tls/plain", "cpu plain", "cpu tls"
    printf "{\"requests\": %d, \"rounds\": %d, \"results\": [", n, rounds > out
    sep = ""
    for (i = 1; i <= np; i++) for (j = 1; j <= nt; j++) for (k = 1; k <= 3; k++) {
      a = tg[k] SUBSEP ts[j] SUBSEP ps[i]; b = tg[k] "-tls" SUBSEP ts[j] SUBSEP ps[i]
      r0 = median(rps[a]); r1 = median(rps[b]); c0 = median(cpu[a]); c1 = median(cpu[b])
      printf "%-3s %-4s %-7s %10.0f %10.0f %9.2f %10.1f %10.1f\n", ps[i], ts[j], tg[k], r0, r1, r1 / r0, c0, c1
      printf "%s\n  {\"target\": \"%s\", \"test\": \"%s\", \"pipeline\": %d, \"plain_ops_per_s\": %.0f, \"tls_ops_per_s\": %.0f, \"tls_ratio\": %.3f, \"plain_cpu_us_per_op\": %.1f, \"tls_cpu_us_per_op\": %.1f}", sep, tg[k], ts[j], ps[i], r0, r1, r1 / r0, c0, c1 > out
      sep = ","
    }
    printf "\n]}\n" > out
  }' "$results"
echo "JSON: $out"
