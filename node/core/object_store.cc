#include "node/core/object_store.h"

#include "crdt/assert.h"
#include "crdt/coding.h"
#include "ring/ring.h"

namespace shoal::core {

namespace {

size_t cached_bytes(const Object& o, size_t stored_bytes) {
  const auto* set = o.as<crdt::ORSet>();
  return (set ? set->approx_bytes() : 0) + o.ops().approx_bytes() + stored_bytes;
}

bool cacheable(const Object& o) {
  const auto* set = o.as<crdt::ORSet>();
  return set == nullptr || set->size() <= ObjectStore::kMaxCachedSetMembers;
}

Status corrupt_object(const std::string& bucket, const std::string& key, const Status& s) {
  return Status::corruption("stored object for " + bucket + "/" + key + ": " + s.message());
}

// What a caller may change in place: `o` itself while only the cache and the caller hold
// it, else a copy (others keep what they saw).
std::shared_ptr<Object> exclusive(std::shared_ptr<Object> o) {
  if (o && o.use_count() > 2) return std::make_shared<Object>(*o);
  return o;
}

Status rows_under(Store& store, const std::string& prefix, std::vector<std::string>* rows) {
  return store.scan(prefix, prefix_end(prefix), [&](std::string_view k, std::string_view) {
    rows->emplace_back(k);
    return true;
  });
}

}  // namespace

ObjectStore::ObjectStore(Store& store, Turn& turn, Clock& clock, size_t cache_bytes,
                         size_t whole_set_max_members, uint32_t span_members, ChangeFn on_change,
                         size_t key_filter_bytes)
    : store_(store),
      turn_(turn),
      clock_(clock),
      cache_(cache_bytes),
      key_filter_(key_filter_bytes),
      whole_set_max_members_(whole_set_max_members),
      span_members_(span_members),
      on_change_(std::move(on_change)) {
  SHOAL_ASSERT(on_change_ != nullptr);
  SHOAL_ASSERT(span_members_ >= 1);
  SHOAL_ASSERT(whole_set_max_members_ >= 1);
}

void ObjectStore::build_key_filter(size_t max_rows) {
  walked_this_turn_ = walked_this_turn_ || !key_filter_.built();
  Status s = key_filter_.build_step(store_, max_rows);
  if (!s.is_ok()) scan_failed(s);
}

Result<ObjectPtr> ObjectStore::load(const std::string& bucket, const std::string& key) {
  Result<std::shared_ptr<Object>> got = load_shared(bucket, key);
  if (!got) return got.status();
  return ObjectPtr(std::move(got).value());
}

Result<ObjectPtr> ObjectStore::load_bounded(const std::string& bucket, const std::string& key,
                                            size_t max_members) {
  SHOAL_ASSERT(max_members >= 1);
  bool too_big = false;
  Result<std::shared_ptr<Object>> got = load_shared(bucket, key, max_members, &too_big);
  if (!got) return got.status();
  const auto* set = *got ? (*got)->as<crdt::ORSet>() : nullptr;
  if (too_big || (set && set->size() > max_members)) {
    return Status::too_large("set " + bucket + "/" + key + " has more than " +
                             std::to_string(max_members) +
                             " members: read it by pages (SSCAN, ?cursor=, set_get with count)");
  }
  return ObjectPtr(std::move(got).value());
}

Result<std::optional<ObjectStore::StoredHead>> ObjectStore::read_head(uint64_t hash,
                                                                      const std::string& bucket,
                                                                      const std::string& key) {
  if (!key_filter_.may_hold(hash)) return std::optional<StoredHead>();
  auto raw = store_.get(DataKeyBuffer(hash, bucket, key));
  if (!raw) return raw.status();
  if (!raw->has_value()) return std::optional<StoredHead>();
  StoredHead head;
  head.bytes = (*raw)->size();
  Result<Object> o = Object::decode_stored(**raw, &head.split, &head.op_rows);
  if (!o) return corrupt_object(bucket, key, o.status());
  head.object = std::move(o).value();
  return std::optional<StoredHead>(std::move(head));
}

Result<std::shared_ptr<Object>> ObjectStore::load_shared(const std::string& bucket,
                                                         const std::string& key, size_t max_members,
                                                         bool* too_big) {
  const uint64_t hash = ring::key_hash(bucket, key);
  const DataKeyBuffer k(hash, bucket, key);
  if (ObjectPtr cached = cache_.find(k)) return std::const_pointer_cast<Object>(cached);
  Result<std::optional<StoredHead>> head = read_head(hash, bucket, key);
  if (!head) return head.status();
  if (!*head) return std::shared_ptr<Object>();
  Object& o = (*head)->object;
  if ((*head)->split) {
    Result<crdt::ORSet> set =
        load_elements(hash, bucket, key, std::move(*o.as<crdt::ORSet>()), max_members, too_big);
    if (too_big && *too_big) return std::shared_ptr<Object>();
    if (!set) return corrupt_object(bucket, key, set.status());
    o = Object(std::move(set).value());
  }
  if ((*head)->op_rows) {
    Status s = load_ops(hash, bucket, key, &o.ops());
    if (!s.is_ok()) return corrupt_object(bucket, key, s);
  }
  auto ptr = std::make_shared<Object>(std::move(o));
  if (!(*head)->split && ptr->type() == DataType::kSet) {
    // A whole-set row from before element rows.
    save(bucket, key, ptr, Rows{.all = true}, false);
  } else if (cacheable(*ptr)) {
    cache_.put(k, ptr, cached_bytes(*ptr, (*head)->bytes));
  }
  return ptr;
}

Status ObjectStore::scan_elements(const std::string& prefix, const std::string& from,
                                  size_t max_rows, Entries* out, bool* more,
                                  const std::string& end) {
  Status bad = Status::ok();
  Status s = store_.scan(
      from, end.empty() ? prefix_end(prefix) : end, [&](std::string_view k, std::string_view v) {
        if (max_rows != 0 && out->size() >= max_rows) {
          *more = true;
          return false;
        }
        Result<crdt::Dots> dots = crdt::ORSet::decode_dots(v);
        if (!dots) {
          bad = dots.status();
          return false;
        }
        out->emplace_hint(out->end(), k.substr(prefix.size()), std::move(dots).value());
        return true;
      });
  return s.is_ok() ? bad : s;
}

Result<crdt::ORSet> ObjectStore::load_elements(uint64_t hash, const std::string& bucket,
                                               const std::string& key, crdt::ORSet head,
                                               size_t max_members, bool* too_big) {
  const std::string prefix = element_prefix(hash, bucket, key);
  Entries entries;
  bool more = false;
  SHOAL_RETURN_IF_ERROR(scan_elements(prefix, prefix, max_members, &entries, &more));
  if (more) *too_big = true;
  return crdt::ORSet::assemble(std::move(head), std::move(entries));
}

Status ObjectStore::load_ops(uint64_t hash, const std::string& bucket, const std::string& key,
                             OpLog* out) {
  const std::string prefix = op_prefix(hash, bucket, key);
  Status bad = Status::ok();
  Status s = store_.scan(prefix, prefix_end(prefix), [&](std::string_view k, std::string_view v) {
    Result<OpRecord> r = OpLog::decode_record(v);
    if (k.size() != prefix.size() + 8 || !r) {
      bad = r ? Status::corruption("operation row key") : r.status();
      return false;
    }
    const uint64_t op = coding::get_be64(k.substr(prefix.size()));
    bad = out->insert(op, std::move(r).value());
    return bad.is_ok();
  });
  return s.is_ok() ? bad : s;
}

Result<std::shared_ptr<Object>> ObjectStore::writable(const std::string& bucket,
                                                      const std::string& key) {
  Result<std::shared_ptr<Object>> got = load_shared(bucket, key);
  if (!got || !*got) return got;
  return exclusive(std::move(got).value());
}

Result<ObjectStore::Part> ObjectStore::part(const std::string& bucket, const std::string& key,
                                            const std::vector<std::string>& elements,
                                            const std::vector<uint64_t>& ops, bool for_write) {
  SHOAL_ASSERT(!elements.empty());
  const std::string k = data_key(ring::key_hash(bucket, key), bucket, key);
  if (big_sets_.find(k) == nullptr || cache_.contains(k)) {
    bool too_big = false;
    Result<std::shared_ptr<Object>> got =
        load_shared(bucket, key, whole_set_max_members_, &too_big);
    if (!got) return got.status();
    if (!too_big) {
      std::shared_ptr<Object> obj = std::move(got).value();
      return Part{for_write ? exclusive(std::move(obj)) : std::move(obj)};
    }
    big_sets_.insert(k, true);
  }
  return load_part(bucket, key, elements, ops, for_write);
}

Result<ObjectStore::Part> ObjectStore::load_part(const std::string& bucket, const std::string& key,
                                                 const std::vector<std::string>& elements,
                                                 const std::vector<uint64_t>& ops, bool for_write) {
  const uint64_t hash = ring::key_hash(bucket, key);
  Result<std::optional<StoredHead>> head = read_head(hash, bucket, key);
  if (!head) return head.status();
  if (!*head) return Part{};
  if (!(*head)->split) {  // no longer a set in rows (erased and written again): load it whole
    Result<std::shared_ptr<Object>> got = load_shared(bucket, key);
    if (!got) return got.status();
    std::shared_ptr<Object> obj = std::move(got).value();
    return Part{for_write ? exclusive(std::move(obj)) : std::move(obj)};
  }
  crdt::ORSet set = std::move(*(*head)->object.as<crdt::ORSet>());
  std::set<std::string> names(elements.begin(), elements.end());
  for (const auto& [observed, named] : set.deferred()) names.insert(named.begin(), named.end());
  const std::string prefix = element_prefix(hash, bucket, key);
  Entries entries;
  for (const std::string& e : names) {
    const std::string k = prefix + e;
    if (!key_filter_.may_hold_row(k)) continue;  // a new member: no search of the store
    auto row = store_.get(k);
    if (!row) return row.status();
    if (!row->has_value()) continue;
    Result<crdt::Dots> dots = crdt::ORSet::decode_dots(**row);
    if (!dots) return corrupt_object(bucket, key, dots.status());
    entries.emplace(e, std::move(dots).value());
  }
  Result<crdt::ORSet> assembled = crdt::ORSet::assemble(std::move(set), std::move(entries));
  if (!assembled) return corrupt_object(bucket, key, assembled.status());
  auto obj = std::make_shared<Object>(std::move(assembled).value());
  const std::string op_pre = op_prefix(hash, bucket, key);
  for (size_t i = 0; (*head)->op_rows && i < ops.size(); ++i) {
    auto row = store_.get(op_row_key(op_pre, ops[i]));
    if (!row) return row.status();
    if (!row->has_value()) continue;
    Result<OpRecord> r = OpLog::decode_record(**row);
    if (!r) return corrupt_object(bucket, key, r.status());
    Status s = obj->ops().insert(ops[i], std::move(r).value());
    if (!s.is_ok()) return corrupt_object(bucket, key, s);
  }
  return Part{std::move(obj), true, (*head)->op_rows};
}

Result<ObjectPtr> ObjectStore::load_page(const std::string& bucket, const std::string& key,
                                         const SetPage& page) {
  const uint64_t hash = ring::key_hash(bucket, key);
  if (ObjectPtr cached = cache_.find(DataKeyBuffer(hash, bucket, key)))
    return page_of(cached, page);
  Result<std::optional<StoredHead>> head = read_head(hash, bucket, key);
  if (!head) return head.status();
  if (!*head) return ObjectPtr();
  if (!(*head)->split) {
    Result<ObjectPtr> whole = load(bucket, key);
    return whole ? page_of(*whole, page) : whole;
  }
  const std::string prefix = element_prefix(hash, bucket, key);
  // Past `after`: the smallest key above prefix + after is prefix + after + '\0'.
  const std::string from = page.after ? prefix + *page.after + std::string(1, '\0') : prefix;
  Entries entries;
  bool more = false;
  // Up to `until`: the first key past prefix + until is prefix + until + '\0'.
  const std::string end = page.until ? prefix + *page.until + std::string(1, '\0') : "";
  Status s = scan_elements(prefix, from, page.count, &entries, &more, end);
  if (!s.is_ok()) return s.code() == Code::kCorruption ? corrupt_object(bucket, key, s) : s;
  Result<crdt::ORSet> set =
      crdt::ORSet::assemble(std::move(*(*head)->object.as<crdt::ORSet>()), std::move(entries));
  if (!set) return corrupt_object(bucket, key, set.status());
  return ObjectPtr(std::make_shared<const Object>(std::move(set).value()));
}

Result<OpLog> ObjectStore::load_records(const std::string& bucket, const std::string& key) {
  const uint64_t hash = ring::key_hash(bucket, key);
  if (ObjectPtr cached = cache_.find(DataKeyBuffer(hash, bucket, key))) return cached->ops();
  Result<std::optional<StoredHead>> head = read_head(hash, bucket, key);
  if (!head) return head.status();
  if (!*head) return OpLog();
  if (!(*head)->op_rows) return std::move((*head)->object.ops());
  OpLog records;
  Status s = load_ops(hash, bucket, key, &records);
  if (!s.is_ok()) return s.code() == Code::kCorruption ? corrupt_object(bucket, key, s) : s;
  return records;
}

void ObjectStore::save_part(const std::string& bucket, const std::string& key, Part part, Rows rows,
                            bool durable) {
  SHOAL_ASSERT(part.object != nullptr);
  if (!part.partial) {
    save(bucket, key, std::move(part.object), rows, durable);
    return;
  }
  SHOAL_ASSERT(!rows.all && part.object->type() == DataType::kSet);
  const uint64_t hash = ring::key_hash(bucket, key);
  const DataKeyBuffer k(hash, bucket, key);
  key_filter_.add(hash);
  store_.put(k, part.object->encode_stored(part.records_in_rows));
  save_elements(hash, bucket, key, *part.object->as<crdt::ORSet>(), rows);
  save_ops(hash, bucket, key, *part.object, rows);
  cache_.erase(k);  // part() found it uncached; stay so (the cache holds whole objects)
  turn_.need_sync(durable);
  on_change_(hash);
}

void ObjectStore::save(const std::string& bucket, const std::string& key, std::shared_ptr<Object> o,
                       Rows rows, bool durable) {
  const uint64_t hash = ring::key_hash(bucket, key);
  const DataKeyBuffer k(hash, bucket, key);
  const std::string bytes = o->encode_stored();
  store_.put(k, bytes);
  if (const auto* set = o->as<crdt::ORSet>()) save_elements(hash, bucket, key, *set, rows);
  save_ops(hash, bucket, key, *o, rows);
  bool was_cached = false;
  if (cacheable(*o)) {
    const size_t cost = cached_bytes(*o, bytes.size());
    was_cached = cache_.put(k, std::move(o), cost);
  } else {
    was_cached = cache_.erase(k);
  }
  // A cached key came from the store or an earlier save, so the filter holds it (or its
  // walk will reach it): adding it again would only cost the filter block's cache miss.
  if (!was_cached) key_filter_.add(hash);
  turn_.need_sync(durable);
  on_change_(hash);
}

namespace {
// Those of the first HeldBefore::kMax of `names` that `set` holds; `name_of` reads a name.
template <typename Names, typename NameOf>
ObjectStore::HeldBefore held_of(const crdt::ORSet& set, const Names& names, NameOf name_of) {
  ObjectStore::HeldBefore out;
  size_t looked = 0;
  for (const auto& n : names) {
    if (looked++ == ObjectStore::HeldBefore::kMax) break;
    const std::string& elem = name_of(n);
    if (set.contains(elem)) out.names[out.count++] = elem;
  }
  return out;
}
}  // namespace

ObjectStore::HeldBefore ObjectStore::held_before_of(const crdt::ORSet& set,
                                                    const std::vector<std::string>& elements) {
  return held_of(set, elements, [](const std::string& e) -> const std::string& { return e; });
}

ObjectStore::HeldBefore ObjectStore::held_before_of(const crdt::ORSet& set,
                                                    const crdt::ORSet& delta) {
  return held_of(set, delta.entries(),
                 [](const auto& entry) -> const std::string& { return entry.first; });
}

void ObjectStore::save_elements(uint64_t hash, const std::string& bucket, const std::string& key,
                                const crdt::ORSet& set, Rows rows) {
  const std::string prefix = element_prefix(hash, bucket, key);
  if (rows.all) clear_rows(prefix, rows);
  std::string row;  // one buffer for every row's key
  auto put_row = [&](const std::string& elem) {
    row.assign(prefix).append(elem);
    if (const crdt::Dots* held = set.find(elem)) {
      const std::string dots = crdt::ORSet::encode_dots(*held);
      // A row that was there is in the filter (or its build walk will reach it): adding it
      // again would cost the filter block's cache miss (5% of pathbench SADD's samples).
      const bool had_row = update_kept(prefix, elem, row, &dots, rows.before);
      if (!had_row && !(rows.held_before && rows.held_before->holds(elem))) {
        key_filter_.add_row(row);
      }
      store_.put(row, dots);
    } else {
      update_kept(prefix, elem, row, nullptr, rows.before);
      store_.erase(row);
    }
  };
  if (rows.all) {
    for (const auto& [elem, dots] : set.entries()) put_row(elem);
  } else if (rows.elements) {
    for (const std::string& elem : *rows.elements) put_row(elem);
  }
}

void ObjectStore::save_ops(uint64_t hash, const std::string& bucket, const std::string& key,
                           const Object& o, Rows rows) {
  if (!rows.all && (!rows.ops || rows.ops->empty())) return;         // most writes carry no op id
  if (rows.all && rows.absent && o.ops().records().empty()) return;  // no rows, none to clear
  const std::string prefix = op_prefix(hash, bucket, key);
  auto put_op = [&](uint64_t op) {
    const OpRecord* r = o.ops().find(op);
    if (r) {
      store_.put(op_row_key(prefix, op), OpLog::encode_record(*r));
    } else {
      store_.erase(op_row_key(prefix, op));
    }
  };
  if (rows.all) {
    clear_rows(prefix, rows);
    for (const auto& [op, r] : o.ops().records()) put_op(op);
  } else if (rows.ops) {
    for (uint64_t op : *rows.ops) put_op(op);
  }
}

// A whole rewrite first clears the old rows (a failed scan fails the turn: they could
// come back on the next load). A key with no head has none: no scan of every level.
void ObjectStore::clear_rows(const std::string& prefix, Rows rows) {
  element_digests_.erase(prefix);
  if (rows.absent) return;
  std::vector<std::string> old;
  if (Status s = rows_under(store_, prefix, &old); !s.is_ok()) {
    scan_failed(s);
    turn_.fail(s);
    return;
  }
  for (const std::string& r : old) store_.erase(r);
}

Status ObjectStore::erase_object(const DataKey& dk) {
  std::vector<std::string> rows;
  for (const std::string& p :
       {element_prefix(dk.hash, dk.bucket, dk.key), op_prefix(dk.hash, dk.bucket, dk.key)}) {
    if (Status s = rows_under(store_, p, &rows); !s.is_ok()) {
      scan_failed(s);
      return s;
    }
  }
  const std::string k = data_key(dk.hash, dk.bucket, dk.key);
  cache_.erase(k);
  element_digests_.erase(element_prefix(dk.hash, dk.bucket, dk.key));
  store_.erase(k);
  for (const std::string& r : rows) store_.erase(r);
  on_change_(dk.hash);
  return Status::ok();
}

void ObjectStore::erase_rows(const std::vector<std::string>& rows) {
  for (const std::string& row : rows) {
    bool sub = false;
    if (auto dk = parse_data_row(row, &sub, nullptr)) {
      cache_.erase(data_key(dk->hash, dk->bucket, dk->key));
      on_change_(dk->hash);
    }
    store_.erase(row);
  }
}

void ObjectStore::scan_failed(const Status& s) {
  SHOAL_ASSERT(!s.is_ok());
  ++scan_failures_;
}

}  // namespace shoal::core
