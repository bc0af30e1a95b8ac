// Internal to node/api: request options as they travel in a client request's "opt"
// map (docs/protocol.md): {"consistency": preset, "n", "r", "w", "pr", "pw", "durable",
// "sloppy", "timeout_ms"}. A preset applies first, wherever it stands in the map, then
// the explicit fields override it.
#pragma once

#include "crdt/status.h"
#include "node/api/msgpack_fields.h"
#include "node/core/options.h"

namespace shoal::api::wire {

// Packs every field (and "consistency": "local" when o.local), so the receiver needs no
// defaults of its own.
void pack_options(Packer& pk, const core::RequestOptions& o);
// Reads the "opt" map into *out. An unknown option, a bad preset or quorum, or a number
// out of range is invalid_argument naming the field ('field "opt.r": ...').
Status decode_options(const MsgObject& o, core::RequestOptions* out);

}  // namespace shoal::api::wire
