// Internal to node/core: what a replica's object becomes in an answer (replica.cc).
#pragma once

#include "node/core/object.h"

namespace shoal::core {

// What a client is answered with: the object without its operation log (repair
// metadata).
ObjectPtr for_client(ObjectPtr o);
// What a replica's read reply carries: no operation log (a counter's can be large, so
// counters are never read-repaired), except a register's records of the siblings it
// holds, so a read repair never hands a replica a sibling without the record that makes
// a retry of its write count once. `bug_no_records`: the simulator's injected bug.
ObjectPtr for_reading(ObjectPtr o, bool bug_no_records);

}  // namespace shoal::core
