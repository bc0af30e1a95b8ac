#!/usr/bin/env bash
# TLS on every port of a 3-node cluster, mutual between peers (issue #16; docs/security.md,
# "TLS"). A CA and certificates made with the openssl CLI; the nodes also require users.
#   - every client path over TLS: the shoal CLI (native), redis-cli --tls, python3-redis
#     with ssl, curl --cacert; writes through one node read back through another (the peer
#     links replicate over mutual TLS); a client certificate naming a user signs it in;
#   - a plaintext client on each TLS port is told so in its own protocol and the node
#     keeps serving; a client that does not trust the node's CA is refused; a TLS client
#     over the connection cap is told why (RESP, HTTP 429, native) after its handshake;
#   - a peer with a certificate of another CA, an expired certificate, or a valid
#     certificate naming another node id is refused (and logged), and never joins;
#   - SIGHUP with a new certificate: open connections keep working, new ones see it.
#   tls_test.sh BIN_DIR
set -uo pipefail
bin="$1"
source "$(dirname "$0")/lib.sh"
py=/usr/bin/python3  # Debian's, with python3-redis
for tool in openssl redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "$tool missing"; exit 1; }
done
"$py" -c 'import redis' 2>/dev/null || { echo "python3-redis missing (apt install python3-redis)"; exit 1; }

# ---- the PKI: the cluster's CA, another CA, node certificates, an expired one ----
pki="$dir/pki"
mkdir -p "$pki"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # NAME
  key "$pki/$1.key"
  openssl req -x509 -new -key "$pki/$1.key" -out "$pki/$1.crt" -days 30 -subj "/CN=$1" 2>/dev/null
}
cert() {  # FILE CA ID [extra x509 flags]: a certificate for node ID signed by CA
  key "$pki/$1.key"
  openssl req -new -key "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$3" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.crt" -CAkey "$pki/$2.key" -CAcreateserial \
    -out "$pki/$1.crt" -days 30 \
    -extfile <(printf 'subjectAltName=URI:shoal:node:%s,DNS:%s,DNS:localhost,IP:127.0.0.1' "$3" \
      "$3") 2>/dev/null
}
user_cert() {  # FILE CA USER: a client certificate naming USER (URI shoal:user:USER)
  key "$pki/$1.key"
  openssl req -new -key "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$3" 2>/dev/null
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.crt" -CAkey "$pki/$2.key" -CAcreateserial \
    -out "$pki/$1.crt" -days 30 -extfile <(printf 'subjectAltName=URI:shoal:user:%s' "$3") 2>/dev/null
}
ca ca
ca other-ca
for n in n1 n2 n3; do cert "$n" ca "$n"; done
cert rogue other-ca n4
user_cert app-client ca app
user_cert ghost-client ca ghost
user_cert stranger-client other-ca app
# expired: signed by the cluster CA, valid for January 2020 only (openssl ca takes dates)
key "$pki/expired.key"
openssl req -new -key "$pki/expired.key" -out "$pki/expired.csr" -subj /CN=n4 2>/dev/null
touch "$pki/index.txt"
cat >"$pki/ca.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $pki/index.txt
new_certs_dir = $pki
serial = $pki/serial
default_md = sha256
policy = p
[p]
commonName = supplied
EOF
echo 01 >"$pki/serial"
openssl ca -batch -config "$pki/ca.cnf" -cert "$pki/ca.crt" -keyfile "$pki/ca.key" \
  -in "$pki/expired.csr" -out "$pki/expired.crt" -startdate 20200101000000Z \
  -enddate 20200201000000Z -extfile <(printf 'subjectAltName=URI:shoal:node:n4') >/dev/null 2>&1 ||
  fail "openssl ca could not make the expired certificate"
[ -s "$pki/n1.crt" ] && [ -s "$pki/rogue.crt" ] && [ -s "$pki/expired.crt" ] || fail "no PKI made"

# ---- users, and the cluster: TLS and users on every node ----
users="$dir/users"
printf 'pw-root\n' | "$shoal" user add root --grant admin --file "$users" >/dev/null
printf 'pw-app\n' | "$shoal" user add app --grant 'read:*' --grant 'write:*' --file "$users" >/dev/null
export SHOAL_TLS_CA="$pki/ca.crt" SHOAL_USER=root SHOAL_PASSWORD=pw-root
start_cluster --node-arg=--tls-cert="$pki/{id}.crt" --node-arg=--tls-key="$pki/{id}.key" \
  --node-arg=--tls-ca="$pki/ca.crt" --node-arg=--users-file="$users" \
  --node-arg=--http-header-timeout-ms=2000
unset SHOAL_USER SHOAL_PASSWORD
n1=127.0.0.1:$base n2=127.0.0.1:$((base + 1))
resp1=$((base + 200)) resp2=$((base + 201)) http1=$((base + 300)) http3=$((base + 302))
grep -q "over TLS" "$dir/n1/shoald.log" || fail "n1 does not say it serves over TLS"

# ---- every client path over TLS ----
as_app() { SHOAL_PASSWORD=pw-app "$shoal" -u app "$@"; }
expect_exit 0 "^ok$" -- as_app -H "$n1" put b native-k v1
expect_exit 0 "^v1$" -- as_app -H "$n2" get b native-k
tlscli=(redis-cli --tls --cacert "$pki/ca.crt" --user app --pass pw-app --no-auth-warning)
expect_exit 0 "^OK$" -- "${tlscli[@]}" -p "$resp1" set resp-k v2
eventually 10 "^v2$" -- "${tlscli[@]}" -p "$resp2" get resp-k
expect_exit 0 "^v3 7$" -- "$py" - "$resp1" "$resp2" "$pki/ca.crt" <<'PY'
import sys, redis
port1, port2, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
kw = dict(host="localhost", ssl=True, ssl_ca_certs=ca, username="app", password="pw-app")
a, b = redis.Redis(port=port1, **kw), redis.Redis(port=port2, **kw)
a.set("py-k", "v3")
a.incrby("py-n", 7)
print(b.get("py-k").decode(), b.get("py-n").decode())
PY
expect_exit 0 "^$" -- curl -sf --cacert "$pki/ca.crt" -u app:pw-app -X PUT --data v4 \
  "https://localhost:$http1/buckets/b/keys/http-k"
eventually 10 "^v4$" -- curl -sf --cacert "$pki/ca.crt" -u app:pw-app \
  "https://127.0.0.1:$http3/buckets/b/keys/http-k"
expect_exit 0 '"status":"ok"' -- curl -s --cacert "$pki/ca.crt" "https://localhost:$http1/ping"

# ---- client certificates as credentials: one naming user app signs in without a password ----
cc=(--cert "$pki/app-client.crt" --key "$pki/app-client.key")
expect_exit 0 "^v2$" -- curl -sf --cacert "$pki/ca.crt" "${cc[@]}" \
  "https://localhost:$http1/buckets/redis/keys/resp-k"
expect_exit 0 "^v2$" -- redis-cli --tls --cacert "$pki/ca.crt" "${cc[@]}" -p "$resp1" get resp-k
expect_exit 0 "^v1$" -- "$shoal" -H "$n1" --tls-cert "$pki/app-client.crt" \
  --tls-key "$pki/app-client.key" get b native-k
# a certificate naming no user of the file signs nobody in; one of another CA is refused
expect_exit 0 "NOAUTH" -- redis-cli --tls --cacert "$pki/ca.crt" --cert "$pki/ghost-client.crt" \
  --key "$pki/ghost-client.key" -p "$resp1" get resp-k
code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" \
  --cert "$pki/stranger-client.crt" --key "$pki/stranger-client.key" \
  "https://localhost:$http1/buckets/redis/keys/resp-k")"
[ "$code" = 000 ] || fail "a client certificate of another CA got HTTP $code, not a refused handshake"

# ---- plaintext clients on TLS ports: told so; the node keeps serving ----
expect_exit 0 "ERR this port speaks TLS" -- redis-cli -p "$resp1" ping
expect_exit 0 "this port speaks TLS" -- curl -s "http://127.0.0.1:$http1/ping"
expect_exit 1 "this port speaks TLS" -- env -u SHOAL_TLS_CA "$shoal" -H "$n1" ping
expect_exit 1 "certificate verify failed" -- env SHOAL_TLS_CA="$pki/other-ca.crt" "$shoal" \
  -H "$n1" ping
expect_exit 0 "^v1$" -- as_app -H "$n1" get b native-k

# ---- a TLS client over the connection cap is told why once its handshake is done ----
# (before, it was closed at accept, before TLS could carry a word: redis-cli said nothing)
"$bin/shoald" --id n5 --data-dir "$dir/capped" --client 127.0.0.1:$((base + 70)) \
  --peer 127.0.0.1:$((base + 170)) --resp 127.0.0.1:$((base + 270)) \
  --http 127.0.0.1:$((base + 370)) --tls-cert "$pki/n1.crt" --tls-key "$pki/n1.key" \
  --tls-ca "$pki/ca.crt" --max-clients 1 >"$dir/capped.log" 2>&1 &
capped_pid=$!
eventually 10 "^PONG$" -- redis-cli --tls --cacert "$pki/ca.crt" -p $((base + 270)) ping
hold_slot() {  # a TLS client that holds n5's one slot: true once its PING was answered
  exec 6< <( (printf 'PING\r\n'; sleep 20) | openssl s_client -connect \
    127.0.0.1:$((base + 270)) -CAfile "$pki/ca.crt" -quiet 2>/dev/null)
  holder_pid=$!
  local line=
  IFS= read -r -t 10 line <&6
  [ "${line%$'\r'}" = "+PONG" ]
}
for _ in 1 2 3 4 5; do  # the probe above may still hold the slot for a moment
  hold_slot && break
  kill "$holder_pid" 2>/dev/null
  exec 6<&-
  sleep 0.5
done
# within the 10 s after which an idle holder would give up its slot to a newcomer
expect_exit 0 "too many client connections" -- redis-cli --tls --cacert "$pki/ca.crt" \
  -p $((base + 270)) ping
expect_exit 0 "^429$" -- curl -s -o /dev/null -w '%{http_code}' --cacert "$pki/ca.crt" \
  "https://localhost:$((base + 370))/ping"
expect_exit 1 "too many client connections" -- "$shoal" -H 127.0.0.1:$((base + 70)) ping
kill "$holder_pid" "$capped_pid" 2>/dev/null
wait "$capped_pid" 2>/dev/null
exec 6<&-

# ---- a TLS handshake that trickles in is closed after the header timeout (2 s here) ----
exec 5<>"/dev/tcp/127.0.0.1/$resp1"
printf '\x16\x03\x01' >&5  # the start of a ClientHello, and no more
start_s=$SECONDS
if IFS= read -r -t 8 _ <&5 || [ $((SECONDS - start_s)) -ge 8 ]; then
  fail "a stalled TLS handshake was not closed within 8 s"
fi
exec 5<&-
grep -q "TLS handshake arriving too slowly; closed" "$dir/n1/shoald.log" ||
  fail "n1 did not log closing the stalled TLS handshake"

# ---- peers that must be refused: another CA, expired, another node's certificate ----
rogue_node() {  # NAME CERT: a node n4 that tries to join through n1 with CERT
  local name="$1" crt="$2"
  "$bin/shoald" --id n4 --data-dir "$dir/$name" --client 127.0.0.1:$((base + 50)) \
    --peer 127.0.0.1:$((base + 150)) --seeds "127.0.0.1:$((base + 100))" \
    --tls-cert "$pki/$crt.crt" --tls-key "$pki/$crt.key" --tls-ca "$pki/ca.crt" \
    >"$dir/$name.log" 2>&1 &
  echo $!
}
for case in "other-ca rogue unknown ca|certificate verify failed|unable to get local issuer" \
  "expired expired certificate has expired|certificate expired" \
  "impostor n2 its certificate names node n2, not n4"; do
  name="${case%% *}" rest="${case#* }"
  crt="${rest%% *}" pattern="${rest#* }"
  : >"$dir/n1/mark.$name"
  pid="$(rogue_node "$name" "$crt")"
  eventually 15 "$pattern" -- cat "$dir/n1/shoald.log" "$dir/$name.log"
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  members="$(SHOAL_USER=root SHOAL_PASSWORD=pw-root "$shoal" -H "$n1" status 2>&1)"
  grep -q "^n4" <<<"$members" && fail "$name: n4 joined the cluster: $members"
done

# ---- SIGHUP with a renewed certificate: open connections live on, new ones see it ----
serial_of() {  # PORT: the serial of the certificate a new TLS connection is shown
  openssl s_client -connect "127.0.0.1:$1" -CAfile "$pki/ca.crt" </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null
}
before="$(serial_of "$resp1")"
[ -n "$before" ] || fail "openssl s_client saw no certificate on n1"
cat >"$dir/held.py" <<'PY'
import sys, redis
r = redis.Redis(host="localhost", port=int(sys.argv[1]), ssl=True, ssl_ca_certs=sys.argv[2],
                username="app", password="pw-app", single_connection_client=True)
print("first", r.ping(), flush=True)
sys.stdin.readline()
print("second", r.ping(), r.get("resp-k").decode(), flush=True)
PY
coproc HELD { "$py" -u "$dir/held.py" "$resp1" "$pki/ca.crt"; }
read -r -t 10 line <&"${HELD[0]}"
[ "$line" = "first True" ] || fail "the held TLS connection did not start: $line"
cert n1 ca n1  # renewed: a new key and serial
n1_pid="$(awk '$1 == "node" && $2 == "n1" {print $5}' "$dir/cluster.state")"
kill -HUP "$n1_pid"
eventually 10 "TLS certificate .* reloaded" -- cat "$dir/n1/shoald.log"
echo go >&"${HELD[1]}"
read -r -t 10 line <&"${HELD[0]}"
[ "$line" = "second True v2" ] || fail "the TLS connection open across SIGHUP broke: $line"
after="$(serial_of "$resp1")"
[ -n "$after" ] && [ "$after" != "$before" ] || fail "after SIGHUP n1 still shows $before ($after)"
expect_exit 0 "^v1$" -- as_app -H "$n2" get b native-k
# a SIGHUP with a broken certificate keeps the one in force
echo broken >"$pki/n1.crt"
kill -HUP "$n1_pid"
eventually 10 "TLS files not reloaded" -- cat "$dir/n1/shoald.log"
[ "$(serial_of "$resp1")" = "$after" ] || fail "a broken certificate on SIGHUP changed n1's"

finish "tls"
