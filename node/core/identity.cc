#include "node/core/identity.h"

#include "node/core/keys.h"

namespace shoal::core {

Result<crdt::Actor> load_or_create_actor(Store& store, Rng& rng) {
  const std::string key = meta_key("actor");
  Result<std::optional<std::string>> got = store.get(key);
  if (!got) return got.status();
  if (got->has_value()) {
    const std::string& v = **got;
    if (v.size() != 8) return Status::corruption("stored actor id is not 8 bytes");
    crdt::Actor a = 0;
    for (char c : v) a = (a << 8) | static_cast<uint8_t>(c);
    return a;
  }
  crdt::Actor a = 0;
  while (a == 0) a = rng.next();
  std::string v;
  for (int i = 7; i >= 0; --i) v.push_back(static_cast<char>(a >> (8 * i)));
  store.put(key, v);
  SHOAL_RETURN_IF_ERROR(store.flush(/*sync=*/true));
  return a;
}

}  // namespace shoal::core
