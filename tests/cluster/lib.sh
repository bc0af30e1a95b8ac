# Shared by the shell tests in tests/cluster: a temporary local cluster ($nodes nodes,
# default 3) on random free ports (removed on exit), and failure counting. Source it
# after setting `bin`.
#   start_cluster [extra `shoal cluster up` flags]   sets $dir and $base
#   fail MESSAGE;  finish NAME                        prints the verdict and exits
shoal="$bin/shoal"
failures=0
dir="$(mktemp -d /tmp/shoal-test-XXXXXX)"
trap '"$shoal" cluster down --dir "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT

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

start_cluster() {
  for attempt in 1 2 3; do
    # below the ephemeral port range (32768+), where outgoing connections take ports
    base=$((10000 + RANDOM % 22000))
    if "$shoal" cluster up -n "${nodes:-3}" --dir "$dir" --base-port "$base" --vnodes 64 "$@" \
      >"$dir/up.txt" 2>&1; then
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
