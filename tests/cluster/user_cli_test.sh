#!/usr/bin/env bash
# `shoal user add|rm|list` on a users file (tools/user_cli.h): the password comes from
# stdin and only its scrypt hash is stored, the file is 0600, grants and names are
# checked, and a file that does not parse is refused naming its line.
#   user_cli_test.sh BIN_DIR
set -uo pipefail
shoal="$1/shoal"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp="$(mktemp -d /tmp/shoal-users-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
f="$tmp/users"

expect() {  # CODE PATTERN STDIN -- command...
  local code="$1" pattern="$2" input="$3" out rc
  shift 4
  out="$(printf '%s\n' "$input" | "$@" 2>&1)"
  rc=$?
  [ "$rc" = "$code" ] || { fail "$* exited $rc (wanted $code): $out"; return; }
  grep -qE -- "$pattern" <<<"$out" || fail "$*: output lacks /$pattern/: $out"
}

expect 0 "user alice saved" "pw-of-alice" -- "$shoal" user add alice --grant 'read:*' \
  --grant 'write:app-*' --file "$f"
expect 0 "user root saved" "pw-of-root" -- "$shoal" user add root --grant admin --file "$f"
[ "$(stat -c %a "$f")" = 600 ] || fail "the users file is $(stat -c %a "$f"), not 600"
grep -q "pw-of" "$f" && fail "a password is in the users file"
grep -q '^alice:scrypt\$15\$8\$1\$' "$f" || fail "no scrypt hash for alice: $(cat "$f")"
expect 0 "^alice	read:\*,write:app-\*$" "" -- "$shoal" user list --file "$f"
expect 0 '"name":"root"' "" -- "$shoal" user list --file "$f" --json
# Replacing a user changes its hash (a fresh salt) and its grants.
before="$(grep '^alice:' "$f")"
expect 0 "saved" "new-pw" -- "$shoal" user add alice --grant 'read:logs' --file "$f"
[ "$(grep '^alice:' "$f")" != "$before" ] || fail "replacing alice changed nothing"
expect 0 "^alice	read:logs$" "" -- "$shoal" user list --file "$f"

# Bad input: exit 2 (or 1 for a user not there), the file unchanged.
kept="$(cat "$f")"
expect 2 'bad grant "root"' "pw" -- "$shoal" user add bob --grant root --file "$f"
expect 2 "bad user name" "pw" -- "$shoal" user add "bad name" --file "$f"
expect 2 "empty password" "" -- "$shoal" user add bob --file "$f"
expect 1 "no user carol" "" -- "$shoal" user rm carol --file "$f"
[ "$(cat "$f")" = "$kept" ] || fail "a refused command changed the users file"
printf 'root:%s:admin\nbroken line\n' "$(grep '^root:' "$f" | cut -d: -f2)" >"$tmp/bad"
expect 2 "users file line 2: expected NAME:HASH:ROLES" "" -- "$shoal" user list --file "$tmp/bad"
expect 2 "cannot read users file" "" -- "$shoal" user list --file "$tmp/missing"
expect 0 "user alice removed" "" -- "$shoal" user rm alice --file "$f"
expect 0 "^root	admin$" "" -- "$shoal" user list --file "$f"

if [ "$failures" -gt 0 ]; then
  echo "$failures shoal user check(s) failed"
  exit 1
fi
echo "ok: shoal user add, rm and list"
