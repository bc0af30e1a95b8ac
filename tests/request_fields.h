// A native-protocol request map built field by field, so a test can leave a field out,
// give one twice or add a stray one (tests of strict decoding: docs/protocol.md).
#pragma once

#include <cstdint>
#include <functional>
#include <msgpack.hpp>
#include <string>
#include <vector>

namespace shoal::test::fields {

using Pk = msgpack::packer<msgpack::sbuffer>;

struct F {
  std::string key;
  std::function<void(Pk&)> pack;
};

inline F str(std::string key, std::string v) {
  return {std::move(key), [v](Pk& pk) { pk.pack(v); }};
}
inline F bin(std::string key, std::string v) {
  return {std::move(key), [v](Pk& pk) {
            pk.pack_bin(static_cast<uint32_t>(v.size()));
            pk.pack_bin_body(v.data(), static_cast<uint32_t>(v.size()));
          }};
}
inline F num(std::string key, int64_t v) {
  return {std::move(key), [v](Pk& pk) { pk.pack(v); }};
}

// The msgpack map of `fields`, in the order given.
inline std::string map_of(const std::vector<F>& fields) {
  msgpack::sbuffer buf;
  Pk pk(buf);
  pk.pack_map(static_cast<uint32_t>(fields.size()));
  for (const F& f : fields) {
    pk.pack(f.key);
    f.pack(pk);
  }
  return std::string(buf.data(), buf.size());
}

}  // namespace shoal::test::fields
