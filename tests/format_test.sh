#!/usr/bin/env bash
# Every C++ source is formatted by .clang-format (Google base, 100 columns): fixing a
# failure is `tools/dev format`. And no Catch2 test name holds a ';': CTest's test
# discovery splits names there, and the halves then match no test and fail.
# Usage: format_test.sh <source root>
set -uo pipefail
cd "$1" || exit 1
command -v clang-format >/dev/null || { echo "clang-format missing (apt install clang-format)"; exit 1; }
mapfile -t files < <(find crdt ring node tools tests -name '*.h' -o -name '*.cc' -o -name '*.cpp' | sort)
if ! clang-format --dry-run -Werror "${files[@]}"; then
  echo "FAIL: the files above are not formatted; run tools/dev format"
  exit 1
fi
# A name may be split over several string literals and lines: join them first.
if perl -0ne 'while (/TEST_CASE\(\s*((?:"[^"]*"\s*)+)/g) { my $n = $1; print "$ARGV: $n\n" if $n =~ /;/ }' \
    tests/*/*.cc | grep .; then
  echo "FAIL: the test names above hold ';' (CTest splits them there); use a comma"
  exit 1
fi
echo "ok: ${#files[@]} files formatted"
