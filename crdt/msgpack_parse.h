// parse_msgpack: one msgpack object from a byte string into msgpack-c's object tree, the
// tree every decoder here reads (codec::unpack is its one caller).
//
// msgpack-c's own unpacker is a general state machine with a heap stack per call and a
// copy of every string; a peer frame's decode was 10-16% of a replica's CPU, most of it
// in that machinery (docs/benchmarks.md, "Thirteenth session"). This parser is a short
// recursion over the wire format, and it yields the same tree for every input msgpack-c
// accepts within the same limits (tests/unit/msgpack_parse_test.cc checks the two
// against each other; tests/fuzz/msgpack_fuzz.cc keeps checking).
//
// Owns nothing: arrays and maps are allocated in `zone`; strings, binaries and
// extensions point into `bytes`. The tree is valid while both are.
#pragma once

#include <cstddef>
#include <msgpack.hpp>
#include <string_view>

#include "crdt/status.h"

namespace shoal::crdt::codec {

// Parses the one object that spans all of `bytes` into *out, allocating at most 24 bytes
// of tree per input byte (every element declared takes at least one byte).
// Errors (all corruption): "truncated msgpack" (bytes end inside the object, or are
// empty; "truncated msgpack: a container declares more elements than ..." when a count
// says so before the bytes run out),
// "trailing bytes after msgpack object", "malformed msgpack: ..." (the byte 0xc1, which
// no type starts with; a container more than max_depth deep, the outermost at depth 1).
// REQUIRES: max_depth >= 1. May throw std::bad_alloc from the zone.
Status parse_msgpack(std::string_view bytes, size_t max_depth, msgpack::zone& zone,
                     msgpack::object* out);

}  // namespace shoal::crdt::codec
