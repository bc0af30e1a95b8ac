#!/usr/bin/env bash
# The RESP front-end with the real redis-cli and redis-benchmark against a local 3-node
# cluster: commands, errors, add-wins sets and converging counters across nodes,
# per-connection consistency, pipelining. Usage: resp_test.sh BIN_DIR
set -uo pipefail

bin="$1"
source "$(dirname "$0")/lib.sh"
command -v redis-cli >/dev/null || { echo "redis-cli missing (apt install redis-tools)"; exit 1; }

# expect PATTERN -- command...: a pattern in stdout+stderr (redis-cli exits 0 on errors).
expect() {
  local pattern="$1"
  shift 2
  local out
  out="$("$@" 2>&1)"
  if ! grep -qE -- "$pattern" <<<"$out"; then fail "$*: output lacks /$pattern/: $out"; fi
}

start_cluster
r1=(redis-cli -p $((base + 200))) r2=(redis-cli -p $((base + 201))) r3=(redis-cli -p $((base + 202)))

expect "^PONG$" -- "${r1[@]}" ping
expect "^hello$" -- "${r1[@]}" echo hello
expect "shoal_node:n1" -- "${r1[@]}" info
expect "^OK$" -- "${r1[@]}" set greeting hello
expect "^hello$" -- "${r2[@]}" get greeting
expect "^OK$" -- "${r3[@]}" set greeting bonjour
expect "^bonjour$" -- "${r1[@]}" get greeting
expect "^$" -- "${r1[@]}" get nothing-here
expect "^1$" -- "${r1[@]}" exists greeting
expect "^1$" -- "${r2[@]}" del greeting nothing-here
expect "^0$" -- "${r1[@]}" exists greeting

# counters converge: increments through every node
expect "^1$" -- "${r1[@]}" incr visits
expect "^" -- "${r2[@]}" incrby visits 10
expect "^" -- "${r3[@]}" decr visits
expect "^10$" -- "${r1[@]}" get visits
expect "^5$" -- "${r2[@]}" decrby visits 5

# add-wins sets across nodes
expect "^3$" -- "${r1[@]}" sadd tags red green blue
expect "^1$" -- "${r2[@]}" sadd tags red yellow
expect "^1$" -- "${r3[@]}" srem tags green
expect "^3$" -- "${r1[@]}" scard tags
expect "^1$" -- "${r2[@]}" sismember tags yellow
expect "^0$" -- "${r2[@]}" sismember tags green
expect "blue" -- "${r3[@]}" smembers tags

# errors
expect "^WRONGTYPE" -- "${r1[@]}" incr tags
expect "^WRONGTYPE" -- "${r1[@]}" sadd visits x
expect "^WRONGTYPE" -- "${r1[@]}" get tags
expect "ERR unknown command 'HSET'" -- "${r1[@]}" HSET h f v
expect "ERR wrong number of arguments for 'get'" -- "${r1[@]}" get
expect "ERR SET options" -- "${r1[@]}" set k v EX 10
expect "ERR value is not an integer" -- "${r1[@]}" incrby visits ten
expect "ERR DEL of a counter" -- "${r1[@]}" del visits
expect "r=4 exceeds n=3" -- "${r1[@]}" shoal.consistency r 4

# operation ids: SHOAL.ONCE runs one update with an id; reads and bad ids are refused
expect "^5$" -- "${r1[@]}" SHOAL.ONCE add-7f3a INCRBY once 5
expect "^OK$" -- "${r2[@]}" SHOAL.ONCE set-7f3a SET once-s v
expect "ERR SHOAL.ONCE runs an update" -- "${r1[@]}" SHOAL.ONCE get-1 GET once
expect "ERR invalid_argument: SHOAL.ONCE op_id of 65 bytes" -- "${r1[@]}" SHOAL.ONCE "$(printf 'x%.0s' {1..65})" INCR once
expect "ERR wrong number of arguments for 'incrby'" -- "${r1[@]}" SHOAL.ONCE add-1 INCRBY once
expect "^5$" -- "${r3[@]}" get once

# per-connection consistency: with n3 down ALL is unavailable, LOCAL still writes
expect "n3: kill" -- "$shoal" cluster kill n3 --dir "$dir"
eventually "^UNAVAILABLE" -- bash -c "printf 'SHOAL.CONSISTENCY ALL\nGET tags\n' | ${r1[*]}"
expect 'OK\^1\^OK' -- bash -c "printf 'SHOAL.CONSISTENCY LOCAL\nINCR offline\nSELECT 2\n' | ${r1[*]} | tr '\n' '^'"
expect "^OK$" -- "${r1[@]}" set after-kill 1

# pipelining: redis-benchmark runs to the end (with and without -P); SADD grows one set
# (myset) to thousands of members, which must not slow it down (docs/resp.md, big sets)
# (redis-benchmark stops at the first error reply, so a run that reached SADD had none)
out="$(timeout 120 redis-benchmark -p $((base + 200)) -t set,get,incr,sadd -n 5000 -c 10 -r 100000 -q 2>&1)"
grep -q "SADD: .* requests per second" <<<"$out" || fail "redis-benchmark: $out"
after_runs="after the first run n1 and n2 hold $("${r1[@]}" scard myset) and $("${r2[@]}" scard myset)"
# redis-benchmark seeds random() with time(NULL) ^ getpid(): two runs a few seconds and a few
# pids apart can draw the same members (seen under load: the second run's SADDs all found
# their member present and answered 0), so the second run draws from another range.
out="$(timeout 120 redis-benchmark -p $((base + 201)) -t set,get,incr,sadd -n 5000 -c 10 -r 99991 -P 16 -q 2>&1)"
grep -q "SADD: .* requests per second" <<<"$out" || fail "redis-benchmark -P 16: $out"
after_runs="$after_runs, after the second $("${r1[@]}" scard myset) and $("${r2[@]}" scard myset)"
# n3 comes back; a full ALL read repairs its copy of the big set, then every replica
# holds the same members
expect "n3: start" -- "$shoal" cluster start n3 --dir "$dir"
scard_as() { printf 'SHOAL.CONSISTENCY %s\nSCARD myset\n' "$2" | redis-cli -p "$1" | tail -1; }
eventually "^[0-9]+$" -- scard_as $((base + 200)) ALL
local_scard() { scard_as "$1" LOCAL; }
# prints the LOCAL SCARD on n1 n2 n3; true once they are equal and above 5000
replicas_agree() {
  local cards c1 c2 c3
  cards="$(local_scard $((base + 200))) $(local_scard $((base + 201))) $(local_scard $((base + 202)))"
  echo "$cards"
  read -r c1 c2 c3 <<<"$cards"
  [ "$c1" -gt 5000 ] && [ "$c1" = "$c2" ] && [ "$c2" = "$c3" ]
}
wait_until 40 "myset's replicas (LOCAL SCARD on n1 n2 n3) to agree on over 5000 members ($after_runs)" \
  -- replicas_agree
echo "myset: $(replicas_agree) members on n1 n2 n3"

finish RESP
