#!/usr/bin/env bash
# Catch2 2.13's console reporter wraps a test name's header and indents its next lines
# after the name's first ": ". An indent past the console width (CATCH_CONFIG_CONSOLE_WIDTH,
# tests/CMakeLists.txt) makes the reporter read out of bounds: ASan then stops a failing
# test before it says why. Every test name's first ": " must sit well inside the width.
# Usage: catch_names_test.sh <max column> <test binary>...
set -uo pipefail
readonly max_column="$1"
shift
breaches=0
for binary in "$@"; do
  # Catch2 2.x exits with the number of names listed: the output is what counts.
  names="$("$binary" --list-test-names-only)"
  count=$(printf '%s\n' "$names" | grep -c .)
  if [ "$count" -lt 1 ]; then
    echo "$binary: lists no tests"
    exit 1
  fi
  while IFS= read -r name; do
    prefix="${name%%": "*}"
    if [ "$prefix" != "$name" ] && [ $((${#prefix} + 2)) -ge "$max_column" ]; then
      echo "$(basename "$binary"): \"$name\": its first \": \" ends at column $((${#prefix} + 2))"
      breaches=$((breaches + 1))
    fi
  done <<<"$names"
  echo "$(basename "$binary"): $count names checked"
done
[ "$breaches" -eq 0 ] || { echo "$breaches test names indent past column $max_column"; exit 1; }
