#!/usr/bin/env bash
# The house rules the build enforces (docs/architecture rules in README "Layout"):
#  1. Layers include only themselves and the layers below them:
#       crdt < ring < node/core < node/store, node/api < node/uv < node/main.cpp;
#       tools use crdt, ring, node/core, node/api and tools.
#  2. The core is pure: crdt/, ring/ and node/core/ never include libuv, LevelDB, threads,
#     clocks, randomness or files, and never use std::hash (its values differ between
#     standard libraries, so placement and digests would too), std::chrono or std::rand.
# Usage: layering_test.sh <source root>        check the tree; exit 1 naming each breach
#        layering_test.sh <source root> --self-test
#                                              add one breach of each rule to a copy of the
#                                              tree and show the check fails on each
set -uo pipefail
root="$1"

# dir -> the project directories its files may include.
declare -A allowed=(
  [crdt]="crdt"
  [ring]="ring crdt"
  [node/core]="node/core ring crdt"
  [node/store]="node/store node/core crdt"
  [node/api]="node/api node/core ring crdt"
  [node/uv]="node/uv node/api node/store node/core ring crdt"
  [node]="node/uv node/api node/store node/core ring crdt"
  [tools]="tools node/api node/core ring crdt"
)
pure=(crdt ring node/core)
forbidden_headers='uv\.h|leveldb/|thread|mutex|shared_mutex|condition_variable|future|atomic|chrono|random|ctime|time\.h|filesystem|fstream|sys/|unistd\.h'
forbidden_words='std::hash|std::chrono|std::rand\b|std::random_device|\bsrand\('

check() {  # tree root; prints each breach, returns 1 if any
  local tree="$1" bad=0 dir f inc ok a
  for dir in "${!allowed[@]}"; do
    for f in "$tree/$dir"/*.h "$tree/$dir"/*.cc "$tree/$dir"/*.cpp; do
      [ -f "$f" ] || continue
      while IFS= read -r inc; do
        ok=0
        for a in ${allowed[$dir]}; do
          # node/core may include node/core/x.h but not node/uv/x.h: match the whole dir.
          case "$inc" in "$a"/*) [[ "${inc#"$a"/}" != */* ]] && ok=1 ;; esac
        done
        [ "$inc" = "${inc%/*}" ] && ok=1  # "sim.h"-style includes of a sibling
        if [ $ok -eq 0 ]; then
          echo "layering: ${f#"$tree"/} includes \"$inc\" (${dir} may include: ${allowed[$dir]})"
          bad=1
        fi
      done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
    done
  done
  for dir in "${pure[@]}"; do
    for f in "$tree/$dir"/*.h "$tree/$dir"/*.cc; do
      [ -f "$f" ] || continue
      if grep -En "^#include <($forbidden_headers)" "$f" >/dev/null; then
        grep -En "^#include <($forbidden_headers)" "$f" |
          sed "s|^|purity: ${f#"$tree"/}:|; s|\$| (the core never touches I/O, threads, clocks or global randomness)|"
        bad=1
      fi
      if grep -Pn "$forbidden_words" "$f" | grep -v '^[0-9]*: *//' >/dev/null; then
        grep -Pn "$forbidden_words" "$f" | grep -v '^[0-9]*: *//' |
          sed "s|^|purity: ${f#"$tree"/}:|"
        bad=1
      fi
    done
  done
  return $bad
}

if [ "${2:-}" != "--self-test" ]; then
  if check "$root"; then
    echo "ok: layers include only what is below them; crdt/, ring/, node/core/ are pure"
    exit 0
  fi
  exit 1
fi

# Self-test: each breach, added to a copy, must be reported.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
breach() {  # file, line to add, what the report must say
  rm -rf "$tmp/tree" && mkdir -p "$tmp/tree/node"
  cp -r "$root/crdt" "$root/ring" "$root/tools" "$tmp/tree/"
  cp -r "$root/node/core" "$root/node/store" "$root/node/api" "$root/node/uv" "$tmp/tree/node/"
  cp "$root"/node/*.cpp "$tmp/tree/node/"
  check "$tmp/tree" >/dev/null || { echo "FAIL: the copy breaks a rule before the breach"; exit 1; }
  printf '%s\n' "$2" >>"$tmp/tree/$1"
  local out
  out="$(check "$tmp/tree")" && { echo "FAIL: '$2' in $1 passed the check"; exit 1; }
  grep -qF "$3" <<<"$out" || { echo "FAIL: '$2' in $1 reported as: $out"; exit 1; }
  echo "caught: $1 + '$2' -> $out"
}
breach crdt/dot.cc '#include <thread>' 'purity: crdt/dot.cc:'
breach node/core/node.cc '#include <leveldb/db.h>' 'purity: node/core/node.cc:'
breach ring/ring.cc '#include <chrono>' 'purity: ring/ring.cc:'
breach node/core/keys.cc 'size_t h = std::hash<std::string>{}(k);' 'purity: node/core/keys.cc:'
breach ring/ring.cc '#include "node/core/node.h"' 'layering: ring/ring.cc includes "node/core/node.h"'
breach crdt/orset.cc '#include "ring/ring.h"' 'layering: crdt/orset.cc includes "ring/ring.h"'
breach node/core/node.cc '#include "node/uv/server.h"' 'layering: node/core/node.cc includes "node/uv/server.h"'
echo "ok: every breach was caught"
