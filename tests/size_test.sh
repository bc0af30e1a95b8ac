#!/usr/bin/env bash
# Size limits (docs/architecture.md, "House rules"): no source file outside tests/ over
# 500 lines, and no function over 70 lines. A function is measured from the first line of
# its signature (an unindented line) to its closing brace (a line that is exactly "}"), so
# this sees free functions and out-of-line members; code in class bodies is indented and
# short by the headers' style.
# Usage: size_test.sh <source root> [--self-test]
set -uo pipefail
readonly kMaxFileLines=500 kMaxFunctionLines=70

# Prints every breach under the directory it is run in; exits 1 if there is one.
check_tree() {
  local breaches=0 files
  mapfile -t files < <(find crdt ring node tools -name '*.h' -o -name '*.cc' | sort)
  for f in "${files[@]}"; do
    local lines
    lines=$(wc -l <"$f")
    if [ "$lines" -gt "$kMaxFileLines" ]; then
      echo "$f: $lines lines (at most $kMaxFileLines outside tests/)"
      breaches=$((breaches + 1))
    fi
  done
  local long
  long="$(awk -v max="$kMaxFunctionLines" '
    FNR == 1 { start = 0 }
    /^[A-Za-z_~]/ && !/^(namespace|using|template|typedef|extern|static_assert|struct|class|enum)[ <({]/ {
      start = FNR
    }
    /^}$/ {
      if (start && FNR - start + 1 > max) {
        printf "%s:%d: a function of %d lines (at most %d)\n", FILENAME, start, FNR - start + 1, max
      }
      start = 0
    }' "${files[@]}")"
  if [ -n "$long" ]; then
    echo "$long"
    breaches=$((breaches + $(wc -l <<<"$long")))
  fi
  [ "$breaches" = 0 ]
}

root="$1"
if [ "${2:-}" != "--self-test" ]; then
  cd "$root" || exit 1
  check_tree || { echo "FAIL: split the files or functions above by job"; exit 1; }
  echo "ok: no file over $kMaxFileLines lines, no function over $kMaxFunctionLines"
  exit 0
fi

# --self-test: a copy of the tree with one long file and one long function added.
scratch="$(mktemp -d /tmp/shoal-size-XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
cp -r "$root"/{crdt,ring,node,tools} "$scratch"/
cd "$scratch" || exit 1
check_tree >/dev/null || { echo "FAIL: the unchanged tree already breaches"; exit 1; }
{ echo "int long_function(int x) {"; for i in $(seq 1 70); do echo "  x += $i;"; done
  echo "  return x;"; echo "}"; } >>node/core/keys.cc
for i in $(seq 1 501); do echo "// line $i"; done >tools/long_file.h
out="$(check_tree)" && { echo "FAIL: breaches not reported"; exit 1; }
status=0
grep -q "node/core/keys.cc:.*a function of 73 lines" <<<"$out" ||
  { echo "FAIL: the long function was not reported: $out"; status=1; }
grep -q "tools/long_file.h: 501 lines" <<<"$out" ||
  { echo "FAIL: the long file was not reported: $out"; status=1; }
[ "$status" = 0 ] && echo "ok: both breaches reported:" && echo "$out"
exit "$status"
