#include "node/core/identity.h"

#include "crdt/coding.h"
#include "node/core/keys.h"

namespace shoal::core {

namespace {

using coding::be64;

Result<std::optional<uint64_t>> read_u64(Store& store, const std::string& key) {
  Result<std::optional<std::string>> got = store.get(key);
  if (!got) return got.status();
  if (!got->has_value()) return std::optional<uint64_t>();
  const std::string& v = **got;
  if (v.size() != 8) return Status::corruption("stored " + key.substr(1) + " is not 8 bytes");
  return std::optional<uint64_t>(coding::get_be64(v));
}

}  // namespace

crdt::Actor next_actor(Rng& rng, crdt::Actor current) {
  crdt::Actor a = 0;
  while (a == 0 || a == current) a = rng.next();
  return a;
}

void record_actor(Store& store, crdt::Actor actor) { store.put(meta_key("actor"), be64(actor)); }

Result<crdt::Actor> new_incarnation(Store& store, Rng& rng, bool bug_reuse_stored) {
  Result<std::optional<uint64_t>> stored = read_u64(store, meta_key("actor"));
  if (!stored) return stored.status();
  Result<std::optional<uint64_t>> starts = read_u64(store, meta_key("starts"));
  if (!starts) return starts.status();
  crdt::Actor actor = 0;
  if (bug_reuse_stored && stored->has_value() && **stored != 0) {
    actor = **stored;
  } else {
    actor = next_actor(rng, stored->value_or(0));
  }
  record_actor(store, actor);
  store.put(meta_key("starts"), be64(starts->value_or(0) + 1));
  SHOAL_RETURN_IF_ERROR(store.flush(/*sync=*/true));
  return actor;
}

}  // namespace shoal::core
