// A node's actor identity: minted once per data directory, persisted, never reused.
#pragma once

#include "crdt/dot.h"
#include "node/core/env.h"

namespace shoal::core {

// Loads the actor stored in `store`, or mints a fresh non-zero one from `rng` and stores
// it durably. A wiped data directory therefore gets a new actor: dots of the old
// identity are never minted again.
Result<crdt::Actor> load_or_create_actor(Store& store, Rng& rng);

}  // namespace shoal::core
