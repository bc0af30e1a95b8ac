#!/usr/bin/env bash
# make-certs.sh DIR ID[=IP,...]...: a CA (DIR/ca.crt, ca.key; made once, kept if present)
# and for each ID a certificate and key (DIR/ID.crt, ID.key) signed by it, naming the
# node id (URI:shoal:node:ID, what peers check) and where clients dial it: DNS:ID,
# DNS:localhost, IP:127.0.0.1 and the IPs given. P-256 keys, valid 30 days: for tests, benchmarks and trying TLS out
# (docs/security.md has the commands for a real CA).
set -euo pipefail
dir="$1"
shift
mkdir -p "$dir"
if [ ! -s "$dir/ca.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" \
    -out "$dir/ca.crt" -days 30 -subj "/CN=shoal test CA" 2>/dev/null
fi
for spec in "$@"; do
  id="${spec%%=*}"
  san="URI:shoal:node:$id,DNS:$id,DNS:localhost,IP:127.0.0.1"
  if [ "$spec" != "$id" ]; then
    ips="${spec#*=}"
    for ip in ${ips//,/ }; do san+=",IP:$ip"; done
  fi
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$id.key" \
    -out "$dir/$id.csr" -subj "/CN=$id" 2>/dev/null
  openssl x509 -req -in "$dir/$id.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/$id.crt" -days 30 -extfile <(printf 'subjectAltName=%s' "$san") 2>/dev/null
  rm -f "$dir/$id.csr"
done
chmod 600 "$dir"/*.key
