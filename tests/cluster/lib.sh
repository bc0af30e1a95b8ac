# Shared by the shell tests in tests/cluster: a temporary local cluster ($nodes nodes,
# default 3) on random free ports (removed on exit), failure counting, and waits that poll
# instead of sleeping. Source it after setting `bin` (with helpers_only=1 set it defines
# only fail, expect_exit, wait_until and eventually: tests/chaos/netns_test.sh).
#   start_cluster [extra `shoal cluster up` flags]   sets $dir and $base
# With SHOAL_TEST_SECURE=1 the cluster runs with TLS on every port (a CA and a certificate
# per node made here) and a users file, and every shoal command of the test signs in as
# an admin over TLS ($SHOAL_TLS_CA, $SHOAL_USER, $SHOAL_PASSWORD): the same test, secured.
#   fail MESSAGE;  finish NAME                        prints the verdict and exits
#   wait_until SECONDS WHAT -- command...             polls until the command exits 0
#   eventually [SECONDS] PATTERN -- command...        polls until its output matches
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_exit CODE PATTERN -- command...: exit code and a pattern in stdout+stderr.
expect_exit() {
  local code="$1" pattern="$2"
  shift 3
  local out rc
  out="$("$@" 2>&1)"
  rc=$?
  if [ "$rc" != "$code" ]; then fail "$* exited $rc (wanted $code): $out"; return; fi
  if ! grep -qE -- "$pattern" <<<"$out"; then fail "$*: output lacks /$pattern/: $out"; fi
}

# wait_until SECONDS WHAT -- command...: runs the command every 0.2 s until it exits 0, for
# at most SECONDS (whole seconds, wall clock; it runs at least once). On timeout it fails
# naming WHAT, with the command's last output and exit code, and returns 1.
wait_until() {
  local seconds="$1" what="$2"
  shift 3
  poll_ "$seconds" "$what ($*)" "" "$@"
}

# eventually [SECONDS] PATTERN -- command...: the same, until the command's stdout+stderr
# matches the extended regex PATTERN; for at most SECONDS, 30 unless given.
eventually() {
  local seconds=30
  if [ "$2" != "--" ]; then seconds="$1"; shift; fi
  local pattern="$1"
  shift 2
  poll_ "$seconds" "$* to print /$pattern/" "$pattern" "$@"
}

# poll_ SECONDS WHAT PATTERN command...: the loop behind both (an empty PATTERN: exit 0).
poll_() {
  local seconds="$1" what="$2" pattern="$3" out rc deadline
  shift 3
  deadline=$((${EPOCHREALTIME//[.,]/} + seconds * 1000000))  # in microseconds
  while true; do
    out="$("$@" 2>&1)"
    rc=$?
    if [ -n "$pattern" ]; then
      grep -qE -- "$pattern" <<<"$out" && return 0
    elif [ "$rc" = 0 ]; then
      return 0
    fi
    [ "${EPOCHREALTIME//[.,]/}" -lt "$deadline" ] || break
    sleep 0.2
  done
  fail "timed out after $seconds s waiting for $what; last output (exit $rc): $out"
  return 1
}

if [ -n "${helpers_only:-}" ]; then return 0; fi

shoal="$bin/shoal"
dir="$(mktemp -d /tmp/shoal-test-XXXXXX)"
trap '"$shoal" cluster down --dir "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT

# SHOAL_TEST_SECURE: the PKI (nodes n1..n16) and users, and the flags every node gets.
secure_args=()
if [ -n "${SHOAL_TEST_SECURE:-}" ]; then
  pki="$dir/pki"
  "$(dirname "${BASH_SOURCE[0]}")/../../tools/make-certs.sh" "$pki" $(printf 'n%s ' $(seq 1 16))
  printf 'pw-admin\n' | "$shoal" user add admin --grant admin --file "$dir/users" >/dev/null
  export SHOAL_TLS_CA="$pki/ca.crt" SHOAL_USER=admin SHOAL_PASSWORD=pw-admin
  secure_args=(--node-arg=--tls-cert="$pki/{id}.crt" --node-arg=--tls-key="$pki/{id}.key"
    --node-arg=--tls-ca="$pki/ca.crt" --node-arg=--users-file="$dir/users")
fi

start_cluster() {
  for attempt in 1 2 3; do
    # below the ephemeral port range (32768+), where outgoing connections take ports
    base=$((10000 + RANDOM % 22000))
    if "$shoal" cluster up -n "${nodes:-3}" --dir "$dir" --base-port "$base" --vnodes 64 \
      "${secure_args[@]}" "$@" >"$dir/up.txt" 2>&1; then
      return 0
    fi
    "$shoal" cluster down --dir "$dir" >/dev/null 2>&1
  done
  cat "$dir/up.txt"
  for log in "$dir"/n*/shoald.log; do tail -n 5 "$log"; done  # why a node did not start
  exit 1
}

finish() {
  if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    for log in "$dir"/n*/shoald.log; do  # the nodes' side of it
      [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 15 "$log"; }
    done
    exit 1
  fi
  echo "all $1 checks passed"
}
