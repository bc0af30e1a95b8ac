#include "node/core/hints.h"

#include "crdt/assert.h"
#include "crdt/coding.h"

namespace shoal::core {

namespace {

using coding::be64;
uint64_t read_be64(std::string_view s) { return coding::get_be64(s); }

}  // namespace

Hints::Row Hints::read_row(std::string_view stored_key, std::string_view value) {
  auto hk = parse_hint_key(stored_key);
  Row row{hk ? parse_data_key(hk->data_key) : std::nullopt,
          value.size() >= 8 ? Object::decode(value.substr(8))
                            : Result<Object>(Status::corruption("short hint")),
          value.size() >= 8 ? std::optional<uint64_t>(read_be64(value)) : std::nullopt};
  return row;
}

Hints::Hints(Store& store, Turn& turn, ObjectStore& objects, uint64_t max_per_target)
    : store_(store), turn_(turn), objects_(objects), max_per_target_(max_per_target) {}

void Hints::count() {
  const std::string from(1, kHintPrefix), to(1, kHintPrefix + 1);
  std::map<ring::NodeId, uint64_t> counts;
  Status s = store_.scan(from, to, [&](std::string_view k, std::string_view) {
    if (auto h = parse_hint_key(k)) ++counts[h->target];
    return true;
  });
  if (!s.is_ok()) {
    objects_.scan_failed(s);
    return;
  }
  counts_ = std::move(counts);
  counts_known_ = true;
}

uint64_t Hints::held() const {
  uint64_t n = 0;
  for (const auto& [t, c] : counts_) n += c;
  return n;
}

Result<ObjectPtr> Hints::load(const ring::NodeId& target, const std::string& bucket,
                              const std::string& key) {
  auto raw = store_.get(hint_key(target, data_key(ring::key_hash(bucket, key), bucket, key)));
  if (!raw) return raw.status();
  if (!raw->has_value() || (*raw)->size() < 8) return ObjectPtr();
  Result<Object> o = Object::decode(std::string_view(**raw).substr(8));
  if (!o) return Status::corruption("stored hint for " + bucket + "/" + key);
  return ObjectPtr(std::make_shared<const Object>(std::move(o).value()));
}

Status Hints::store(const ring::NodeId& target, const std::string& bucket, const std::string& key,
                    const Object& delta, bool durable, uint64_t wall_ms) {
  const std::string k = hint_key(target, data_key(ring::key_hash(bucket, key), bucket, key));
  auto raw = store_.get(k);
  if (!raw) return raw.status();
  Object next = delta;
  uint64_t first_ms = wall_ms;
  if (raw->has_value() && (*raw)->size() >= 8) {
    first_ms = read_be64(**raw);
    Result<Object> old = Object::decode(std::string_view(**raw).substr(8));
    if (!old) return Status::corruption("stored hint for " + bucket + "/" + key);
    next = std::move(old).value();
    SHOAL_RETURN_IF_ERROR(next.join(delta));
  } else {
    uint64_t& count = counts_[target];
    if (count >= max_per_target_) {
      return Status::overloaded("this fallback holds the most hints allowed for " + target + " (" +
                                std::to_string(count) + ")");
    }
    ++count;
    SHOAL_ASSERT(count <= max_per_target_, "a fallback's hints per target stay bounded");
  }
  store_.put(k, be64(first_ms) + next.encode());
  turn_.need_sync(durable);
  return Status::ok();
}

Status Hints::scan(const ring::NodeId& target, const Store::ScanFn& fn) {
  Status s = store_.scan(hint_prefix(target), hint_prefix_end(target), fn);
  if (!s.is_ok()) objects_.scan_failed(s);
  return s;
}

void Hints::drop(const std::string& stored_key, const ring::NodeId& target) {
  store_.erase(stored_key);
  if (counts_[target] > 0) --counts_[target];
}

void Hints::delivered(const std::string& stored_key, const std::string& sent_bytes,
                      const ring::NodeId& target) {
  auto current = store_.get(stored_key);
  if (!current || !current->has_value() || **current != sent_bytes) return;
  if (counts_[target] > 0) --counts_[target];
  ++replayed_;
  store_.erase(stored_key);
  turn_.need_sync();
}

}  // namespace shoal::core
