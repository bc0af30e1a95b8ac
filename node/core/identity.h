// A node's actor identity: a fresh one for every process start (an incarnation).
//
// Dots are (actor, counter) and a replica computes the next counter from the state it
// holds. A data directory restored from a backup, rolled back with a VM snapshot, copied
// to another device, or that lost unsynced writes in a power failure holds less than
// the rest of the cluster saw of its actor: minting under that actor again would reuse
// dots others already hold, and they would ignore the new writes. A process therefore
// never mints under an actor read from disk: every start takes a new random actor
// (docs/storage.md, "Actor identity").
#pragma once

#include "crdt/dot.h"
#include "node/core/env.h"

namespace shoal::core {

// Mints a fresh non-zero actor from `rng` and records it (with the count of starts) in
// `store`, durably, for operators. `bug_reuse_stored` puts back the old behaviour (the
// stored actor is reused across starts) for the simulator's injected-bug test only.
// Errors: the store's (the node cannot start).
Result<crdt::Actor> new_incarnation(Store& store, Rng& rng, bool bug_reuse_stored = false);

// Derives a fresh actor to mint under from now on (handoff drops, lost state detected).
crdt::Actor next_actor(Rng& rng, crdt::Actor current);

// Records `actor` as the one in use (not fsynced: the caller's turn commits it).
void record_actor(Store& store, crdt::Actor actor);

}  // namespace shoal::core
