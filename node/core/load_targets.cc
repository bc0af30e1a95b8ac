// Node: which part of a stored object a write or a read loads (node.h): the whole object,
// or for a big set its head with only the members (and operation records) named, so an
// add to a million-member set reads a few rows, not the set.
#include <algorithm>

#include "node/core/node.h"

namespace shoal::core {

// A minted set delta touches only the elements its update named: a big set's replica
// reads just those rows (and the records the delta carries) to join it.
Result<ObjectStore::Part> Node::merge_target(const std::string& bucket, const std::string& key,
                                             const Object& delta,
                                             const std::vector<std::string>& elements) {
  const auto* set = delta.as<crdt::ORSet>();
  if (!set || elements.empty()) {
    Result<std::shared_ptr<Object>> whole = objects_.writable(bucket, key);
    if (!whole) return whole.status();
    return ObjectStore::Part{std::move(whole).value()};
  }
  // Sorted and distinct, in one vector (a std::set would allocate a node per name).
  std::vector<std::string> names;
  names.reserve(elements.size() + set->entries().size());
  if (!config_.cluster.fault_points.bug_partial_by_entries) names = elements;
  for (const auto& [elem, dots] : set->entries()) names.push_back(elem);
  if (names.empty()) names.push_back(elements.front() + "?");  // the bug: reads none of them
  for (const auto& [observed, named] : set->deferred()) {
    names.insert(names.end(), named.begin(), named.end());
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<uint64_t> ops;
  for (const auto& [op, record] : delta.ops().records()) ops.push_back(op);
  return objects_.part(bucket, key, names, ops, /*for_write=*/true);
}

Result<ObjectStore::Part> Node::update_target(const Update& u, const std::string& bucket,
                                              const std::string& key) {
  const bool set_op = u.kind == Update::Kind::kSetAdd || u.kind == Update::Kind::kSetRemove;
  if (u.counting) {  // a big set is loaded in part, only to refuse it (type_mismatch)
    std::vector<uint64_t> ops;
    if (!u.op_id.empty()) ops.push_back(op_key(u.op_id));
    Result<ObjectStore::Part> part = objects_.part(bucket, key, {std::string()}, ops, true);
    return part;
  }
  if (!set_op || u.elements.empty()) {
    Result<std::shared_ptr<Object>> whole = objects_.writable(bucket, key);
    if (!whole) return whole.status();
    return ObjectStore::Part{std::move(whole).value()};
  }
  std::vector<uint64_t> ops;
  if (!u.op_id.empty()) ops.push_back(op_key(u.op_id));
  return objects_.part(bucket, key, u.elements, ops, /*for_write=*/true);
}

Result<ObjectPtr> Node::load_members(const std::string& bucket, const std::string& key,
                                     const std::vector<std::string>& elements) {
  if (elements.empty()) return objects_.load_bounded(bucket, key, config_.max_set_read_members);
  Result<ObjectStore::Part> got = objects_.part(bucket, key, elements, {}, /*for_write=*/false);
  if (!got) return got.status();
  return ObjectPtr(std::move(got->object));
}

}  // namespace shoal::core
