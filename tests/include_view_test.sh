#!/usr/bin/env bash
# Each library compiles with an include path that holds only its layer and those below it
# (CMakeLists.txt, shoal_view). Shows the compiler itself refuses an upward include: with
# the core's path, node/core/quorum.h compiles and node/uv/server.h is not found; with
# crdt's path, crdt/assert.h compiles and ring/ring.h is not found.
# Usage: include_view_test.sh <c++ compiler> <layers dir of the build tree>
set -uo pipefail
cxx="$1" layers="$2"
failures=0
# From an empty directory: a quoted include is looked up beside the including file first,
# which for standard input is the working directory.
cd "$(mktemp -d /tmp/shoal-views-XXXXXX)" || exit 1
trap 'rmdir "$PWD"' EXIT
compiles() {  # view header
  echo "#include \"$2\"" | "$cxx" -std=c++20 -fsyntax-only -I"$layers/$1" -x c++ - 2>&1
}
for case in "core node/core/quorum.h node/uv/server.h" "crdt crdt/assert.h ring/ring.h"; do
  read -r view below above <<<"$case"
  if ! out="$(compiles "$view" "$below")"; then
    echo "FAIL: $view cannot include its own $below: $out"
    failures=$((failures + 1))
  fi
  if out="$(compiles "$view" "$above")"; then
    echo "FAIL: $view can include $above (a higher layer)"
    failures=$((failures + 1))
  elif ! grep -Eq "$above'?: No such file|'$above' file not found" <<<"$out"; then  # GCC, Clang
    echo "FAIL: $view including $above failed for another reason: $out"
    failures=$((failures + 1))
  else
    echo "ok: $view includes $below; $above is not found"
  fi
done
exit $((failures > 0))
