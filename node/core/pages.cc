// Node: a client's page read of a set (SSCAN, set_get with count): its checks, and how
// the replicas' pages join into one (node.h).
#include "node/core/node.h"

namespace shoal::core {

Status Node::check_page(const ClientRequest& r) {
  if (r.op != ClientRequest::Op::kGet || !r.elements.empty()) {
    return Status::invalid_argument("a page read reads a set's members, not named ones");
  }
  if (r.page->count < 1 || r.page->count > kMaxPageMembers) {
    return Status::invalid_argument("a page holds 1.." + std::to_string(kMaxPageMembers) +
                                    " members, not " + std::to_string(r.page->count));
  }
  return Status::ok();
}

// The replicas' pages cover different ranges: a full page (page->count members) ends at
// its last member, a shorter one at the set's end. Each is cut at the first end before
// joining (a page joined with one that covers more would take the other's members as
// removed), and that end is where the next page starts; none: the set has no more.
std::optional<std::string> Node::merge_page(Pending& p) {
  std::optional<std::string> end;
  for (const auto& [node, o] : p.replies) {
    const auto* set = o ? o->as<crdt::ORSet>() : nullptr;
    if (!set || set->size() < p.page->count) continue;
    const std::string& last = set->entries().rbegin()->first;
    if (!end || last < *end) end = last;
  }
  ObjectPtr merged;
  for (const auto& [node, o] : p.replies) {
    if (!o) continue;
    ObjectPtr cut = o;
    if (const auto* set = o->as<crdt::ORSet>(); set && end) {
      std::vector<std::string> upto;
      for (const auto& [elem, dots] : set->entries()) {
        if (elem > *end) break;
        upto.push_back(elem);
      }
      cut = std::make_shared<const Object>(set->project(upto));
    }
    if (!merged) {
      merged = cut;
      continue;
    }
    Object joined = *merged;
    if (!joined.join(*cut).is_ok()) {
      p.first_error = Status::type_mismatch("replicas disagree on the key's type");
      continue;
    }
    merged = std::make_shared<const Object>(std::move(joined));
  }
  p.merged = merged;
  return end;
}

}  // namespace shoal::core
