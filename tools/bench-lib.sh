# Shared by tools/bench-peers.sh and tools/bench-tls.sh (sourced): server CPU from /proc and
# one redis-benchmark command measured.

tick="$(getconf CLK_TCK)"

cpu_ticks() {  # pids...: utime+stime summed
  local total=0 p f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat"
    # Fields 14 and 15 (utime, stime), counted after the ")" that ends the command name.
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}

# measure PIDS PORT TEST PIPELINE REQUESTS [redis-benchmark flags...]: prints
# "ops_per_s p99_ms cpu_us_per_op" of one redis-benchmark run (-c 50 -r 100000), the CPU
# summed over the server processes PIDS (a space-separated list).
measure() {
  local pids=($1) port="$2" test="$3" pipeline="$4" requests="$5" before after csv cpu_us
  shift 5
  before="$(cpu_ticks "${pids[@]}")"
  csv="$(timeout 600 redis-benchmark -p "$port" "$@" -t "$test" -n "$requests" -c 50 \
    -r 100000 -P "$pipeline" --csv 2>/dev/null | tail -n 1)"
  after="$(cpu_ticks "${pids[@]}")"
  IFS=, read -r -a f <<<"${csv//\"/}"
  cpu_us=$(awk -v d=$((after - before)) -v hz="$tick" -v n="$requests" \
    'BEGIN { printf "%.1f", d / hz * 1e6 / n }')
  echo "${f[1]:-0} ${f[6]:-0} $cpu_us"
}

# An awk function: the median of a space-separated list.
awk_median='
  function median(list,   a, k, i, j, t) {
    k = split(list, a, " ")
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }'
