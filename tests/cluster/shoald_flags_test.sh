#!/usr/bin/env bash
# shoald's flags: every flag `shoald --help` prints is documented in docs/operations.md,
# and bad usage is refused at start with exit 2 and a line naming the problem.
# Usage: shoald_flags_test.sh BIN_DIR SOURCE_ROOT
set -uo pipefail
shoald="$1/shoald"
doc="$2/docs/operations.md"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp="$(mktemp -d /tmp/shoald-flags-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

help="$("$shoald" --help)" || fail "shoald --help exited $?"
mapfile -t flags < <(grep -oE -- '(^|[ ,])--[a-z][a-z-]+' <<<"$help" | sed 's/^[ ,]//' | sort -u)
[ "${#flags[@]}" -ge 20 ] || fail "only ${#flags[@]} flags found in --help: $help"
for f in "${flags[@]}"; do
  grep -qF -- "\`$f\`" "$doc" || fail "$f is in shoald --help but not in docs/operations.md"
done

# refused: exit 2, with a message containing the pattern
refused() {
  local pattern="$1" out rc
  shift
  out="$(timeout 10 "$shoald" "$@" 2>&1)"
  rc=$?
  [ "$rc" -eq 2 ] || { fail "shoald $* exited $rc, wanted 2: $out"; return; }
  grep -qE -- "$pattern" <<<"$out" || fail "shoald $*: output lacks /$pattern/: $out"
}
# started NAME ARGS...: runs shoald ARGS in the background (30 s at most), logging to
# $tmp/NAME.log, and waits up to 10 s for it to serve; its pid in $pid.
started() {
  local log="$tmp/$1.log"
  shift
  timeout 30 "$shoald" "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    grep -qs "serving clients" "$log" && break
    sleep 0.1
  done
}
stopped() {
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
d=(--id n1 --data-dir "$tmp/data")
refused "--id is required" --data-dir "$tmp/data"
refused "not in \{trace" "${d[@]}" --log-level verbose
refused "no-such-flag" "${d[@]}" --no-such-flag
refused "not in range 10 to 60000" "${d[@]}" --heartbeat-interval-ms 5
refused "op-window" "${d[@]}" --op-window-ms 1000
refused "members.*seeds|seeds.*members" "${d[@]}" --members n1@127.0.0.1:7101 --seeds 127.0.0.1:7102
refused "address|host:port" "${d[@]}" --client nonsense
refused "secret" "${d[@]}" --secret-file "$tmp/missing-secret"
# Secure defaults: a listener other machines can reach needs --insecure (docs/security.md).
refused "refusing to listen on 0.0.0.0:[0-9]+ \(client\) without TLS.*--insecure" \
  "${d[@]}" --client 0.0.0.0:$((20000 + RANDOM % 10000))
refused "refusing to listen on .*\(resp\)" "${d[@]}" --resp 0.0.0.0:$((20000 + RANDOM % 10000))
refused "without TLS \(--tls-cert.*\): anyone who reaches them could read the traffic" "${d[@]}" \
  --client 0.0.0.0:$((20000 + RANDOM % 10000)) --users-file /dev/null
# TLS: all three files, files that load, a version it knows.
refused "TLS needs --tls-cert, --tls-key and --tls-ca together" "${d[@]}" --tls-cert "$tmp/x.crt"
refused "TLS: cannot use the certificate $tmp/missing.crt" "${d[@]}" --tls-cert "$tmp/missing.crt" \
  --tls-key "$tmp/missing.key" --tls-ca "$tmp/missing.crt"
refused "TLS version \"1.1\": 1.2 or 1.3" "${d[@]}" --tls-cert a --tls-key b --tls-ca c \
  --tls-min-version 1.1
refused "metrics-open needs --users-file" "${d[@]}" --metrics-open
# An exposed peer listener needs a secret, --insecure or not.
refused "peer listener 0.0.0.0:[0-9]+ is reachable .*secret" "${d[@]}" --insecure \
  --peer 0.0.0.0:$((20000 + RANDOM % 10000))

# With --insecure it starts, and says so in its first lines.
port=$((30000 + RANDOM % 2000))
started insecure "${d[@]}" --client "0.0.0.0:$port" --peer "127.0.0.1:$((port + 1))" --insecure
grep -q "serving clients on 0.0.0.0:$port" "$tmp/insecure.log" ||
  fail "shoald --insecure on 0.0.0.0 did not start: $(cat "$tmp/insecure.log")"
grep -q "warning --insecure: listening on 0.0.0.0:$port (client) without TLS" "$tmp/insecure.log" ||
  fail "shoald --insecure did not warn: $(cat "$tmp/insecure.log")"
stopped

# With TLS and a users file it starts on 0.0.0.0 without --insecure (and without a secret:
# peers prove themselves by certificate).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/n1.key" \
  -out "$tmp/n1.crt" -days 2 -subj /CN=n1 -addext subjectAltName=DNS:n1 2>/dev/null
: >"$tmp/users"
port=$((20000 + RANDOM % 10000))
started secure --id n1 --data-dir "$tmp/secure" --client 0.0.0.0:$port --peer 0.0.0.0:$((port + 1)) \
  --tls-cert "$tmp/n1.crt" --tls-key "$tmp/n1.key" --tls-ca "$tmp/n1.crt" --users-file "$tmp/users"
grep -q "serving clients on 0.0.0.0:$port, peers on 0.0.0.0:$((port + 1)) over TLS" \
  "$tmp/secure.log" || fail "shoald with TLS and users on 0.0.0.0 did not start: $(cat "$tmp/secure.log")"
grep -q "insecure" "$tmp/secure.log" && fail "shoald with TLS and users warns of --insecure"
stopped

# IPv6: "[::1]:port" is loopback (no --insecure), and every API answers on it (skipped on a
# machine without ::1).
refused "an IPv6 host goes in brackets" "${d[@]}" --client ::1:7001
if ip -6 addr show lo 2>/dev/null | grep -q '::1/128'; then
  port=$((20000 + RANDOM % 10000))
  started v6 --id n1 --data-dir "$tmp/v6" --client "[::1]:$port" --peer "[::1]:$((port + 1))" \
    --resp "[::1]:$((port + 2))" --http "[::1]:$((port + 3))"
  grep -q "serving clients on \[::1\]:$port" "$tmp/v6.log" ||
    fail "shoald on [::1] did not start: $(cat "$tmp/v6.log")"
  timeout 10 curl -sgf -X PUT --data-binary yes "http://[::1]:$((port + 3))/buckets/redis/keys/v6" \
    >/dev/null || fail "curl PUT over [::1] failed"
  if command -v redis-cli >/dev/null; then
    got="$(timeout 10 redis-cli -h ::1 -p $((port + 2)) GET v6)"
    [ "$got" = yes ] || fail "redis-cli GET over [::1]: $got"
  fi
  got="$(timeout 10 "$1/shoal" -H "[::1]:$port" get redis v6 2>&1)"
  grep -q yes <<<"$got" || fail "shoal -H [::1]:$port get redis v6: $got"
  stopped
else
  echo "skipped: no ::1 on this machine"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures shoald flag check(s) failed"
  exit 1
fi
echo "ok: ${#flags[@]} flags documented; bad usage refused with exit 2"
