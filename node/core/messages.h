// Peer messages between node cores. The wire codec lives with the shell; the simulator
// passes these structs directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "crdt/status.h"
#include "node/core/object.h"
#include "node/core/update.h"
#include "ring/ring.h"

namespace shoal::core {

struct Message {
  enum class Kind : uint8_t {
    kRead = 1,   // coordinator -> replica: send me your state for (bucket, key)
    kReadReply,  // object: the state, absent when not found
    kMint,       // coordinator -> replica: apply `update` with your actor
    kMintReply,  // object: the delta to spread
    kMerge,      // coordinator -> replica: join `object` (a delta, or a read repair)
    kMergeAck,
  };
  Kind kind = Kind::kRead;
  uint64_t req_id = 0;  // the coordinator's request id, echoed in replies
  std::string bucket;
  std::string key;
  Status status;                 // replies
  ObjectPtr object;              // kReadReply (state), kMintReply (delta), kMerge; null: none
  ObjectPtr state;               // kMintReply: the minting replica's new state
  std::optional<Update> update;  // kMint
  bool durable = false;          // kMint, kMerge: fsync before acknowledging
};

}  // namespace shoal::core
