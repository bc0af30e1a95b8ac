#include "node/core/requests.h"

#include <algorithm>

#include "crdt/assert.h"
#include "crdt/coding.h"

namespace shoal::core {

const ring::Target* Pending::target(const ring::NodeId& node) const {
  const size_t i = target_index(node);
  return i < targets.size() ? &targets[i] : nullptr;
}

size_t Pending::target_index(const ring::NodeId& node) const {
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].node == node) return i;
  }
  return targets.size();
}

void Pending::set_targets(std::vector<ring::Target> chosen) {
  SHOAL_ASSERT(answered_by.empty() && tally.ok + tally.failed == 0, "targets set once, first");
  targets = std::move(chosen);
  SHOAL_ASSERT(targets.size() <= AnsweredTargets::kMaxTargets);
  const auto primaries = static_cast<uint32_t>(std::count_if(
      targets.begin(), targets.end(), [](const ring::Target& t) { return !t.hint_for; }));
  goal.required = is_read() ? std::max(options.r, options.pr) : std::max(options.w, options.pw);
  goal.required_primaries = is_read() ? goal.required : options.pw;
  goal.targets = static_cast<uint32_t>(targets.size());
  goal.primary_targets = primaries;
}

Status Pending::failure() const {
  if (is_read() || !may_have_applied) return first_error;
  return Status::timeout("the write may have been applied (" + first_error.to_string() +
                         "): retry it with the same operation id");
}

void Pending::note_held(std::string_view flags, bool from_minter) {
  if (flags.size() != held.size()) return;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] == 1)
      held[i] = static_cast<char>(held[i] | (from_minter ? kHeldMinter : kHeldElsewhere));
    if (flags[i] == 2 && !from_minter) held[i] = static_cast<char>(held[i] | kRemovedElsewhere);
  }
}

uint32_t Pending::added() const {
  SHOAL_ASSERT(held.size() == delta_elements.size());
  std::set<std::string_view> fresh, seen;
  for (size_t i = 0; i < held.size(); ++i) {
    const char h = held[i];
    const bool was = (h & kHeldElsewhere) || ((h & kHeldMinter) && !(h & kRemovedElsewhere));
    (was ? seen : fresh).insert(delta_elements[i]);
  }
  // A member named twice counts once, and not at all when either mention was held (the
  // flags of one member agree unless a reply was cut short; held wins).
  uint32_t n = 0;
  for (std::string_view e : fresh) n += seen.count(e) == 0 ? 1u : 0u;
  return n;
}

void Pending::note_removal(std::string_view flags, const ring::NodeId& from) {
  const ring::Target* t = target(from);
  if (!t || t->hint_for) return;
  if (counting_delete() && flags.size() == 1 + 16) {  // the flag byte, then a stamp
    const Stamp s{coding::get_be64(flags.substr(1)), coding::get_be64(flags.substr(9)),
                  (flags[0] & kRemoveHeld) != 0};
    flags = flags.substr(0, 1);
    if (flags[0] & kRemoveReport && (!latest || s.beats(*latest))) latest = s;
  }
  if (flags.size() != removal.size()) return;
  for (char f : flags) {
    if (!(f & kRemoveReport)) return;
  }
  for (size_t i = 0; i < flags.size(); ++i) {
    removal[i] = static_cast<char>(removal[i] | (flags[i] & (kRemoveHeld | kRemoveLeft)));
  }
  reporters.insert(from);
}

std::optional<uint32_t> Pending::removed_if_conclusive() const {
  SHOAL_ASSERT(counting_remove());
  SHOAL_ASSERT(removal.size() == (delta_elements.empty() ? 1 : delta_elements.size()));
  // A retry the minter answered from its first attempt re-sent only what that attempt
  // took out, not a remove of all the minter has seen since: the reports do not tell.
  // (A counting delete takes no operation id: update.cc.)
  if (duplicate) return std::nullopt;
  if (reporters.size() < std::max<size_t>({options.r, options.pr, 1})) return std::nullopt;
  for (char f : removal) {
    if (f & kRemoveLeft) return std::nullopt;
  }
  if (counting_delete()) {
    // A probe that found a value: the replicas that lacked it wrote no tombstone.
    if (probe && (removal[0] & kRemoveHeld)) return std::nullopt;
    return found_value() ? 1u : 0u;
  }
  return static_cast<uint32_t>(removal_held().size());
}

bool Pending::awaiting_reports() const {
  SHOAL_ASSERT(counting_remove());
  if (all_answered() || duplicate) return false;
  const size_t needed = std::max<size_t>({options.r, options.pr, 1});
  // Only primaries report; when those yet to answer cannot make up the read quorum (one
  // answered without a report: a node from before them), waiting cannot settle the count.
  size_t unanswered = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    unanswered += !targets[i].hint_for && !answered_by.count(i);
  }
  if (reporters.size() >= needed || reporters.size() + unanswered < needed) return false;
  for (char f : removal) {
    if (f & kRemoveLeft) return false;
  }
  return !(counting_delete() && probe && (removal[0] & kRemoveHeld));
}

std::set<std::string> Pending::removal_held() const {
  std::set<std::string> held_by_some;
  if (counting_delete()) {
    if (removal[0] & kRemoveHeld) held_by_some.insert(std::string());
    return held_by_some;
  }
  for (size_t i = 0; i < removal.size(); ++i) {
    if (removal[i] & kRemoveHeld) held_by_some.insert(delta_elements[i]);
  }
  return held_by_some;
}

std::string delete_flags(const Object* before, const Object* after) {
  const auto lww = [](const Object* o) { return o ? o->as<crdt::LWWRegister>() : nullptr; };
  const crdt::LWWRegister* was = lww(before);
  const crdt::LWWRegister* now = lww(after);
  char f = Pending::kRemoveReport;
  if (was && was->read()) f = f | Pending::kRemoveHeld;
  if (now && now->read()) f = f | Pending::kRemoveLeft;
  std::string out(1, f);
  if (was) {
    coding::put_be64(&out, was->timestamp());
    coding::put_be64(&out, was->actor());
  }
  return out;
}

size_t held_write_bytes(const ClientRequest& request) {
  if (request.op != ClientRequest::Op::kUpdate) return 0;
  size_t bytes = request.update.value.size();
  for (const std::string& e : request.update.elements) bytes += e.size();
  return bytes;
}

Requests::Requests(size_t capacity, size_t max_write_bytes, bool count_duplicates)
    : capacity_(capacity), max_write_bytes_(max_write_bytes), count_duplicates_(count_duplicates) {
  SHOAL_ASSERT(capacity_ >= 1);
}

Pending& Requests::open(uint64_t id, size_t write_bytes) {
  SHOAL_ASSERT(!full(), "the Node refuses requests beyond capacity");
  auto [it, fresh] = open_.try_emplace(id);
  SHOAL_ASSERT(fresh, "request ids are never reused");
  it->second.write_bytes = write_bytes;
  write_bytes_ += write_bytes;
  return it->second;
}

Pending* Requests::find(uint64_t id) {
  auto it = open_.find(id);
  return it == open_.end() ? nullptr : &it->second;
}

void Requests::close(uint64_t id) {
  auto it = open_.find(id);
  SHOAL_ASSERT(it != open_.end(), "only an open request is closed");
  SHOAL_ASSERT(write_bytes_ >= it->second.write_bytes);
  write_bytes_ -= it->second.write_bytes;
  open_.erase(it);
}

Pending* Requests::record(uint64_t id, const ring::NodeId& from, bool ok, const Status& error) {
  Pending* p = find(id);
  if (p == nullptr) return nullptr;
  const size_t i = p->target_index(from);
  if (i == p->targets.size()) return nullptr;  // a stranger
  if (!p->answered_by.insert(i) && !count_duplicates_) return nullptr;
  p->tally.record(ok, /*primary=*/!p->targets[i].hint_for);
  SHOAL_ASSERT(p->answered_by.size() == p->tally.ok + p->tally.failed);
  if (!ok && p->first_error.is_ok()) p->first_error = error;
  return p;
}

std::vector<uint64_t> Requests::waiting_on(const ring::NodeId& node) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, p] : open_) {
    if (p.target(node) && !p.answered(node)) ids.push_back(id);
  }
  return ids;
}

}  // namespace shoal::core
