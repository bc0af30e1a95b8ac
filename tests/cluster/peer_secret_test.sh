#!/usr/bin/env bash
# The cluster secret never crosses the network (#16): nodes prove they know it by an HMAC
# over fresh nonces (node/uv/peer_auth.h). A packet capture (tcpdump on lo) of a cluster
# forming and replicating holds the peer handshakes but not the secret; a node with the
# wrong secret is refused by the cluster and refuses to send it anything in turn.
#   peer_secret_test.sh BIN_DIR      (needs root and tcpdump: exit 77 = skipped)
set -uo pipefail
bin="$1"
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (a packet capture on lo)"
command -v tcpdump >/dev/null || skip "tcpdump missing (apt install tcpdump)"
source "$(dirname "$0")/lib.sh"

capture_pid=""
stop_capture() {
  [ -n "$capture_pid" ] || return 0
  kill -INT "$capture_pid" 2>/dev/null
  wait "$capture_pid" 2>/dev/null
  capture_pid=""
}
trap 'stop_capture; [ -n "${rogue_pid:-}" ] && { kill -9 "$rogue_pid"; wait "$rogue_pid"; } 2>/dev/null;
      "$shoal" cluster down --dir "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT

# The capture covers the ports `shoal cluster up` will use; the base is picked first.
base=$((10000 + RANDOM % 22000))
tcpdump -i lo --immediate-mode -U -w "$dir/peers.pcap" "tcp and portrange $base-$((base + 400))" \
  >"$dir/tcpdump.log" 2>&1 &
capture_pid=$!
# Immediate mode: without it the kernel hands packets over in blocks, and a capture
# stopped before a block filled can hold nothing. Probe (a refused connection is packets
# too) until the capture has some.
probe() {
  (echo >"/dev/tcp/127.0.0.1/$base") 2>/dev/null
  [ "$(stat -c %s "$dir/peers.pcap" 2>/dev/null || echo 0)" -gt 24 ]
}
wait_until 10 "tcpdump capturing" -- probe || exit 1
"$shoal" cluster up -n 3 --dir "$dir" --base-port "$base" --vnodes 64 >"$dir/up.txt" 2>&1 ||
  { cat "$dir/up.txt"; exit 1; }
secret="$(awk '$1 == "secret" {print $2}' "$dir/cluster.state")"
[ -n "$secret" ] || fail "no secret in cluster.state"
read -r _ _ client1 peer1 _ < <(grep '^node n1 ' "$dir/cluster.state")
eventually "reaches 2 peer" -- "$shoal" -H "127.0.0.1:$client1" ping
"$shoal" -H "127.0.0.1:$client1" put peers k v >/dev/null || fail "put through n1"
"$shoal" -H "127.0.0.1:$client1" get peers k -c ALL | grep -qx v || fail "read at all replicas"

# A node with the wrong secret dials n1: n1's proof fails the rogue's check, so the rogue
# sends nothing more and n1 never welcomes it. (A dialler that sends a wrong proof anyway
# is refused: tests/cluster/peer_handshake_test.cc.)
rogue_client=$((base + 390))
rogue_peer=$((base + 391))
"$bin/shoald" --id rogue --data-dir "$dir/rogue" --client "127.0.0.1:$rogue_client" \
  --peer "127.0.0.1:$rogue_peer" --secret "not-$secret" \
  --members "n1@127.0.0.1:$peer1,rogue@127.0.0.1:$rogue_peer" >"$dir/rogue.log" 2>&1 &
rogue_pid=$!
eventually "could not prove it knows the cluster secret" -- cat "$dir/rogue.log"
"$shoal" -H "127.0.0.1:$client1" ping | grep -q "rogue" && fail "n1 counts the rogue as a peer"
grep -q "peer rogue connected" "$dir/n1/shoald.log" && fail "n1 welcomed the rogue"
stop_capture

# The capture saw the handshakes (and data), and never the secret.
[ -s "$dir/peers.pcap" ] || fail "empty capture"
grep -qa "challenge" "$dir/peers.pcap" || fail "the capture holds no peer handshake"
grep -qa "peers" "$dir/peers.pcap" || fail "the capture holds no replicated write"
if grep -qaF "$secret" "$dir/peers.pcap"; then
  fail "the cluster secret is in the packet capture"
fi
finish "peer secret"
