#!/usr/bin/env bash
# Real partitions: one network namespace per node, joined by veth pairs to a bridge in a
# hub namespace (the test's own: the host's network is never touched). Partitions are
# iptables DROP rules on the receiving side; packet loss comes from tc netem when the
# kernel has it (else from iptables' statistic match); kill -9, restart, SIGSTOP and
# SIGCONT act on the processes. `shoal check` runs from the hub namespace with this script
# as its nemesis (--nemesis-cmd), so the same workload and checkers judge the run. Every
# port speaks TLS (mutual between peers) and clients sign in (docs/security.md).
#
#   netns_test.sh BIN_DIR                 the test (needs root; exit 77 = skipped)
#   netns_test.sh nemesis STATE FAULT...  called by shoal check: block NODE PEERS, heal,
#                                         kill|start|pause|resume NODE
set -uo pipefail

nodes=5
net=10.77.0  # node i is $net.i; the hub is $net.254

if [ "${1:-}" = "nemesis" ]; then
  # shellcheck disable=SC1090
  source "$2"  # tag, dir, bin
  shift 2
  ns() { echo "shoal-$tag-$1"; }
  ip_of() { echo "$net.${1#n}"; }
  case "$1" in
    block)
      for peer in ${3//,/ }; do
        ip netns exec "$(ns "$2")" iptables -A INPUT -s "$(ip_of "$peer")" -j DROP
      done ;;
    heal)
      for i in $(seq 1 $nodes); do
        ip netns exec "$(ns n$i)" iptables -S INPUT | grep -- '-s .* -j DROP' | sed 's/^-A/-D/' |
          while read -r rule; do ip netns exec "$(ns n$i)" iptables $rule; done
      done ;;
    kill)
      # kill -9 returns before the process is gone; a start right after it would find the
      # data dir's LOCK still held and exit, so wait (bounded) until it is dead or a zombie.
      pid="$(cat "$dir/$2.pid")"
      kill -9 "$pid"
      for _ in $(seq 1 100); do
        state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)"
        [ -z "$state" ] || [ "$state" = Z ] && break
        sleep 0.05
      done ;;
    pause) kill -STOP "$(cat "$dir/$2.pid")" ;;
    resume) kill -CONT "$(cat "$dir/$2.pid")" ;;
    start) "$dir/start.sh" "$2" ;;
    *) echo "unknown fault $*" >&2; exit 2 ;;
  esac
  exit 0
fi

bin="$1"
helpers_only=1
source "$(dirname "$0")/../cluster/lib.sh"  # fail, wait_until, eventually
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, iptables); run as root to include it"
command -v iptables >/dev/null || skip "iptables missing (apt install iptables)"
command -v ip >/dev/null || skip "ip missing (apt install iproute2)"
tag="t$$"
ip netns add "shoal-$tag-probe" 2>/dev/null || skip "cannot create network namespaces here"
ip netns del "shoal-$tag-probe"

dir="$(mktemp -d /tmp/shoal-netns-XXXXXX)"
hub="shoal-$tag-hub"
cleanup() {
  for i in $(seq 1 $nodes); do
    [ -f "$dir/n$i.pid" ] && kill -CONT "$(cat "$dir/n$i.pid")" 2>/dev/null &&
      kill -9 "$(cat "$dir/n$i.pid")" 2>/dev/null
    ip netns del "shoal-$tag-n$i" 2>/dev/null
  done
  ip netns del "$hub" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# The network: a bridge in the hub, a veth from it into each node's namespace.
ip netns add "$hub"
ip -n "$hub" link add br0 type bridge
ip -n "$hub" addr add "$net.254/24" dev br0
ip -n "$hub" link set br0 up
ip -n "$hub" link set lo up
loss_note="tc netem: 5ms±2ms delay and 1% loss on every node"
for i in $(seq 1 $nodes); do
  n="shoal-$tag-n$i"
  ip netns add "$n"
  ip -n "$hub" link add "h$i" type veth peer name eth0 netns "$n"
  ip -n "$hub" link set "h$i" master br0 up
  ip -n "$n" addr add "$net.$i/24" dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$n" link set lo up
  if ! ip netns exec "$n" tc qdisc add dev eth0 root netem delay 5ms 2ms loss 1% 2>/dev/null; then
    loss_note="tc netem is not in this kernel (no sch_netem): 1% loss via iptables statistic, no added delay"
    ip netns exec "$n" iptables -A INPUT -m statistic --mode random --probability 0.01 -j DROP
  fi
done
echo "$loss_note"

# TLS on every port, mutual between peers, and users: each node's certificate names its
# id and its address, so the nodes listen on routable addresses without --insecure, and
# every shoal command (the checks' clients too) signs in over TLS.
pki="$dir/pki"
certs=()
for i in $(seq 1 $nodes); do certs+=("n$i=$net.$i"); done
"$(dirname "$0")/../../tools/make-certs.sh" "$pki" "${certs[@]}"
printf 'pw-netns\n' | "$bin/shoal" user add admin --grant admin --file "$dir/users" >/dev/null
export SHOAL_TLS_CA="$pki/ca.crt" SHOAL_USER=admin SHOAL_PASSWORD=pw-netns

members=""
for i in $(seq 1 $nodes); do members+="${members:+,}n$i@$net.$i:7101"; done
cat >"$dir/start.sh" <<EOF
#!/usr/bin/env bash
i=\${1#n}
ip netns exec shoal-$tag-n\$i "$bin/shoald" --id n\$i --data-dir "$dir/n\$i" \\
  --client $net.\$i:7001 --peer $net.\$i:7101 --members $members --secret netns-test \\
  --tls-cert "$pki/n\$i.crt" --tls-key "$pki/n\$i.key" --tls-ca "$pki/ca.crt" \\
  --users-file "$dir/users" --vnodes 64 --heartbeat-interval-ms 100 --gossip-interval-ms 200 --ae-interval-ms 10 \\
  >>"$dir/n\$i.log" 2>&1 &
echo \$! >"$dir/n\$i.pid"
EOF
chmod +x "$dir/start.sh"
printf 'tag=%s\ndir=%s\nbin=%s\n' "$tag" "$dir" "$bin" >"$dir/state"
for i in $(seq 1 $nodes); do "$dir/start.sh" "n$i"; done

nodes_arg=""
for i in $(seq 1 $nodes); do nodes_arg+="${nodes_arg:+,}n$i=$net.$i:7001"; done
ping_n1() { ip netns exec "$hub" "$bin/shoal" -H "$net.1:7001" ping 2>&1; }
eventually "reaches 4 peer" -- ping_n1
ping_n1 || fail "the cluster did not form"

# A partition made by iptables really cuts the nodes apart: {n1,n2} | {n3,n4,n5}.
for a in n1 n2; do "$0" nemesis "$dir/state" block $a n3,n4,n5; done
for b in n3 n4 n5; do "$0" nemesis "$dir/state" block $b n1,n2; done
# n1 sees only n2 once the rules are in, and all four again after heal
eventually "reaches 1 peer\(s\) n2$" -- ping_n1
"$0" nemesis "$dir/state" heal
eventually "reaches 4 peer" -- ping_n1

run_check() {
  local name="$1"
  shift
  local log rc
  log="$(ip netns exec "$hub" "$bin/shoal" check --nodes "$nodes_arg" --vnodes 64 \
    --nemesis-cmd "$0 nemesis $dir/state" --out "$dir/check-$name" --time-limit 10 \
    --nemesis-interval-ms 2000 --clients 4 --quiet-limit 90 "$@" 2>&1)"
  rc=$?
  echo "$log" | tail -14
  [ "$rc" = 0 ] || fail "shoal check ($name) exited $rc"
  grep -q "verdict *VALID" <<<"$log" || fail "shoal check ($name): not VALID"
  grep -q "<svg" "$dir/check-$name/timeline.html" 2>/dev/null || fail "shoal check ($name): no timeline"
}
run_check quorum --r 2 --w 2
run_check sloppy --r 1 --w 1
run_check local -c local --faults isolate

if [ "$failures" -gt 0 ]; then
  for i in $(seq 1 $nodes); do
    echo "--- last lines of n$i.log"
    tail -n 8 "$dir/n$i.log"
  done
  echo "$failures check(s) failed"
  exit 1
fi
echo "all netns chaos checks passed"
