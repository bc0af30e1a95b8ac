#!/usr/bin/env bash
# The shoal CLI against a real local cluster: every data command, siblings and their
# resolution, consistency flags and errors with their exit codes, host lists with a dead
# node, operation ids (--op-id), and the cluster commands (up, status, kill, restart,
# join, ring, leave, remove, down).
# Usage: cli_test.sh BIN_DIR
set -uo pipefail

bin="$1"
source "$(dirname "$0")/lib.sh"

expect() { expect_exit "$@"; }

start_cluster --node-arg=--heartbeat-interval-ms=100 --node-arg=--gossip-interval-ms=100
n1="127.0.0.1:$base" n2="127.0.0.1:$((base + 1))" n3="127.0.0.1:$((base + 2))"
export SHOAL_HOST="$n1"

expect 0 "n1 +up" -- "$shoal" cluster status --dir "$dir"
expect 0 "reaches 2 peer" -- "$shoal" ping

# registers
expect 0 "^ok" -- "$shoal" put users alice alice@example.com
expect 0 "^alice@example.com" -- "$shoal" get users alice
expect 0 '"values":\["alice@example.com"\],"context":"' -- "$shoal" --json get users alice
expect 1 "not_found" -- "$shoal" get users nobody
expect 1 '"status":"not_found"' -- "$shoal" --json get users nobody
# global flags also work after the command (they fall through to the top level)
expect 0 '"values":\["alice@example.com"\],"context":"' -- "$shoal" get users alice --json

# siblings from three coordinators, collapsed by a put with the merged context
"$shoal" -H "$n1" put carts c1 apple >/dev/null
"$shoal" -H "$n2" put carts c1 banana >/dev/null
"$shoal" -H "$n3" put carts c1 cherry >/dev/null
expect 0 "3 siblings" -- "$shoal" get carts c1 -c all
ctx="$("$shoal" --json get carts c1 -c all | sed -E 's/.*"context":"([^"]*)".*/\1/')"
expect 0 "^ok" -- "$shoal" put carts c1 "apple banana cherry" --ctx "$ctx"
expect 0 "^apple banana cherry$" -- "$shoal" -H "$n2" get carts c1 -c all
ctx="$("$shoal" --json get carts c1 -c all | sed -E 's/.*"context":"([^"]*)".*/\1/')"
expect 0 "^ok" -- "$shoal" del carts c1 --ctx "$ctx"
expect 1 "not_found" -- "$shoal" get carts c1 -c all
expect 2 "invalid_argument.*base64" -- "$shoal" put carts c1 x --ctx "%%%"

# lww
expect 0 "^ok" -- "$shoal" put cfg mode fast --type lww
expect 0 '"type":"lww","values":\["fast"\]' -- "$shoal" --json get cfg mode
expect 0 "^ok" -- "$shoal" -H "$n2" put cfg mode slow --type lww
expect 0 "^slow$" -- "$shoal" -H "$n3" get cfg mode -c all
expect 0 "^ok" -- "$shoal" del cfg mode --type lww
expect 1 "not_found" -- "$shoal" get cfg mode -c all

# counters
expect 0 "^5$" -- "$shoal" counter add stats visits 5
expect 0 "" -- "$shoal" -H "$n2" counter add stats visits -- -2
expect 0 "^3$" -- "$shoal" -H "$n3" counter get stats visits -c all
expect 0 '"type":"counter","value":3' -- "$shoal" --json counter get stats visits

# operation ids and host lists: a dead first node is skipped, the op id is kept or made
dead="127.0.0.1:$((base + 50))"  # nothing listens there
long_id="$(printf 'x%.0s' {1..65})"
expect 0 "^7$" -- "$shoal" -H "$dead,$n2" counter add stats ids 7
expect 0 '"op_id":"script-1"' -- "$shoal" --json -H "$dead,$n1" counter add stats ids 1 --op-id script-1
expect 0 '"op_id":"[0-9a-f]{32}"' -- "$shoal" --json put users erin e
expect 0 "^e$" -- env SHOAL_HOSTS="$dead,$n3" "$shoal" get users erin
expect 0 "^8$" -- "$shoal" counter get stats ids -c all
expect 2 'field "op_id": 65 bytes' -- "$shoal" counter add stats ids 1 --op-id "$long_id"
expect 2 "invalid_argument: --op-id" -- "$shoal" set add tags t2 x --op-id ""
expect 1 "unavailable: cannot connect" -- "$shoal" -H "$dead" get users alice
expect 0 "^8$" -- "$shoal" counter get stats ids -c all  # the refused adds changed nothing

# sets
expect 0 "^ok$" -- "$shoal" set add tags t1 red green blue
expect 0 "^ok$" -- "$shoal" -H "$n2" set rm tags t1 green
expect 0 '"members":\["blue","red"\]' -- "$shoal" --json set get tags t1 -c all
expect 0 '"members":\["red"\]' -- "$shoal" --json set get tags t1 red green -c all  # membership test
expect 0 "^blue$" -- "$shoal" get tags t1             # get reads any type
expect 0 '"type":"set"' -- "$shoal" --json get tags t1
expect 0 '"added":1' -- "$shoal" --json set add tags t9 gone
expect 0 '"removed":1' -- "$shoal" --json set rm tags t9 gone never
expect 0 '"type":"counter","value":3' -- "$shoal" --json get stats visits
expect 1 "type_mismatch" -- "$shoal" set get stats visits

# errors and consistency flags
expect 1 "type_mismatch" -- "$shoal" counter add users alice 1
expect 2 "invalid_argument: r=4 exceeds n=3" -- "$shoal" get users alice --r 4
expect 2 "invalid_argument" -- "$shoal" get users alice -c sometimes
expect 0 "alice@example.com" -- "$shoal" get users alice --r one --pr 1 --timeout-ms 2000
expect 0 "^ok" -- "$shoal" put users bob b --w all --durable

# a node down: W=2 works, ALL fails clearly, the node restarts with its data
expect 0 "n3: kill" -- "$shoal" cluster kill n3 --dir "$dir"
expect 0 "n3 +down" -- "$shoal" cluster status --dir "$dir"
expect 0 "^ok" -- "$shoal" put users carol c --w 2
expect 0 "^c$" -- "$shoal" -H "$n2" get users carol --r 2
expect 1 "unavailable: 2 of 3 replicas reachable" -- "$shoal" get users carol -c all
expect 1 "unavailable" -- "$shoal" -H "$n3" get users alice
expect 0 "n3: restart" -- "$shoal" cluster restart n3 --dir "$dir"
expect 0 "^alice@example.com" -- "$shoal" -H "$n3" get users alice -c local
expect 0 '"up":true.*"up":true.*"up":true' -- "$shoal" --json cluster status --dir "$dir"

# membership: a node joins, the ring has four, it leaves; a dead node is removed
expect 0 "n4 joins through n2" -- "$shoal" cluster join n2 --dir "$dir"
# n4 is joining until every up peer has handed it its arcs (docs/cluster.md)
eventually 60 "n4 +up +up" -- "$shoal" cluster status --dir "$dir"
expect 0 "ring as n1 sees it: 4 nodes" -- "$shoal" cluster ring --dir "$dir"
# the fingerprint in hex in --json too, the same as the text shows
fp="$("$shoal" cluster ring --dir "$dir" | sed -nE 's/.*fingerprint ([0-9a-f]{16}).*/\1/p')"
expect 0 "\"ring_fingerprint\":\"${fp:-none}\"" -- "$shoal" --json cluster ring --dir "$dir"
expect 0 "n4 +up +up" -- "$shoal" cluster status --dir "$dir"
expect 0 '"id":"n4","status":"up"' -- "$shoal" --json cluster status --dir "$dir" --node n2
expect 0 "^ok" -- "$shoal" -H "127.0.0.1:$((base + 3))" put users dave d
expect 0 "n4 left the cluster and stopped" -- "$shoal" cluster leave n4 --dir "$dir"
expect 0 "n4 +left +-" -- "$shoal" cluster status --dir "$dir"
expect 0 "^d$" -- "$shoal" get users dave -c all
expect 1 "only a down node can be removed" -- "$shoal" cluster remove n2 --dir "$dir"
expect 0 "n3: kill" -- "$shoal" cluster kill n3 --dir "$dir"
# remove asks n1, which refuses until its failure detector has convicted n3
eventually "n3 +up +DOWN" -- "$shoal" cluster status --node n1 --dir "$dir"
expect 0 "n3 removed" -- "$shoal" cluster remove n3 --dir "$dir"
expect 0 "n3 +removed" -- "$shoal" cluster status --dir "$dir"
expect 0 "ring as n1 sees it: 2 nodes" -- "$shoal" cluster ring --dir "$dir"
expect 0 "stopped 4 nodes" -- "$shoal" cluster down --dir "$dir"
expect 0 "n1 +down" -- "$shoal" cluster status --dir "$dir"

finish CLI
