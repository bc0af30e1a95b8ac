#include "node/core/update.h"

#include <algorithm>

namespace shoal::core {

namespace {

DataType type_of(const Update& u) {
  switch (u.kind) {
    case Update::Kind::kCounterAdd:
      return DataType::kCounter;
    case Update::Kind::kSetAdd:
    case Update::Kind::kSetRemove:
      return DataType::kSet;
    default:
      return u.type;
  }
}

Status too_large(const char* what, size_t size) {
  return Status::too_large(std::string(what) + " of " + std::to_string(size) +
                           " bytes exceeds the limit of " + std::to_string(kMaxValueBytes));
}

constexpr const char* kResolve =
    "read it and write with the context the read returned, which resolves them";

Result<Object> apply_register(crdt::DvvSet& state, crdt::Actor actor, const Update& u) {
  const crdt::DotContext seen =
      u.context.value_or(u.kind == Update::Kind::kDelete ? state.context() : crdt::DotContext{});
  size_t kept = 0, kept_bytes = 0;  // the siblings the write does not supersede
  for (const auto& [dot, sibling] : state.siblings()) {
    if (seen.contains(dot)) continue;
    ++kept;
    kept_bytes += sibling.value.size();
  }
  if (kept + 1 > kMaxSiblings) {
    return Status::too_large("the key has " + std::to_string(kept) +
                             " siblings this write does not supersede; the limit is " +
                             std::to_string(kMaxSiblings) + ": " + kResolve);
  }
  if (u.kind == Update::Kind::kPut && kept_bytes + u.value.size() > kMaxSiblingBytes) {
    return Status::too_large("the key's " + std::to_string(kept) +
                             " siblings this write does not supersede hold " +
                             std::to_string(kept_bytes) + " bytes; with this value " +
                             std::to_string(kept_bytes + u.value.size()) + ", over the limit of " +
                             std::to_string(kMaxSiblingBytes) + ": " + kResolve);
  }
  return Object(u.kind == Update::Kind::kDelete ? state.remove(actor, seen)
                                                : state.put(actor, seen, u.value));
}

Object apply_lww(crdt::LWWRegister& state, crdt::Actor actor, const Update& u) {
  return Object(u.kind == Update::Kind::kDelete ? state.remove(actor, u.timestamp_ms)
                                                : state.set(actor, u.timestamp_ms, u.value));
}

Object apply_set(crdt::ORSet& state, crdt::Actor actor, const Update& u,
                 crdt::ORSet::Touched* touched) {
  crdt::ORSet delta;
  for (size_t i = 0; i < u.elements.size(); ++i) {
    const std::string& e = u.elements[i];
    crdt::ORSet one = u.kind == Update::Kind::kSetAdd ? state.add(actor, e, touched)
                      : u.context                     ? state.remove(e, *u.context, touched)
                                                      : state.remove(e, touched);
    // The first member's delta is the delta so far: no join into an empty set.
    if (i == 0) {
      delta = std::move(one);
    } else {
      delta.join(one);
    }
  }
  return Object(std::move(delta));
}

}  // namespace

Status validate(const Update& u) {
  if (u.op_id.size() > kMaxOpIdBytes) {
    return Status::invalid_argument("operation id of " + std::to_string(u.op_id.size()) +
                                    " bytes: at most " + std::to_string(kMaxOpIdBytes));
  }
  if (u.counting && (u.kind != Update::Kind::kDelete || u.type != DataType::kLww)) {
    return Status::invalid_argument("only a delete of an lww key counts what it removed");
  }
  // A probe keeps nothing where the key is absent, so no record a retry would find.
  if (u.counting && !u.op_id.empty()) {
    return Status::invalid_argument("a counting delete takes no operation id");
  }
  switch (u.kind) {
    case Update::Kind::kPut:
      if (u.value.size() > kMaxValueBytes) return too_large("value", u.value.size());
      [[fallthrough]];
    case Update::Kind::kDelete:
      if (u.type != DataType::kRegister && u.type != DataType::kLww) {
        return Status::invalid_argument("put and delete take a register or lww key");
      }
      if (u.type == DataType::kLww && u.context) {
        return Status::invalid_argument("lww writes take no causal context");
      }
      return Status::ok();
    case Update::Kind::kCounterAdd:
      return Status::ok();
    case Update::Kind::kSetAdd:
    case Update::Kind::kSetRemove:
      if (u.elements.empty()) return Status::invalid_argument("no set elements given");
      if (u.elements.size() > kMaxSetElementsPerOp) {
        return Status::too_large("at most " + std::to_string(kMaxSetElementsPerOp) +
                                 " elements per operation");
      }
      for (const std::string& e : u.elements) {
        if (e.size() > kMaxValueBytes) return too_large("set element", e.size());
      }
      if (u.kind == Update::Kind::kSetAdd && u.context) {
        return Status::invalid_argument("set_add takes no causal context");
      }
      return Status::ok();
  }
  return Status::invalid_argument("unknown update kind");
}

DataType update_type(const Update& u) { return type_of(u); }

Result<Object> apply_in_place(Object* state, crdt::Actor actor, const Update& u,
                              crdt::ORSet::Touched* touched) {
  SHOAL_RETURN_IF_ERROR(validate(u));
  const DataType type = type_of(u);
  SHOAL_RETURN_IF_ERROR(check_type(state->type(), type));
  switch (type) {
    case DataType::kRegister:
      return apply_register(*state->as<crdt::DvvSet>(), actor, u);
    case DataType::kLww:
      return apply_lww(*state->as<crdt::LWWRegister>(), actor, u);
    case DataType::kSet:
      return apply_set(*state->as<crdt::ORSet>(), actor, u, touched);
    case DataType::kCounter: {
      Result<crdt::PNCounter> delta = state->as<crdt::PNCounter>()->add(actor, u.delta);
      if (!delta) return delta.status();
      return Object(std::move(delta).value());
    }
  }
  return Status::internal("unknown data type");
}

namespace {

// Every dot a set delta names: the dots of its entries (an add) or of its context (a
// remove), at most kMaxDots.
std::vector<crdt::Dot> dots_of(const crdt::ORSet& delta) {
  constexpr size_t kMaxDots = 1024;
  std::vector<crdt::Dot> out;
  for (const auto& [elem, dots] : delta.entries()) out.insert(out.end(), dots.begin(), dots.end());
  if (!out.empty()) return out;
  for (const auto& [actor, counter] : delta.context().vv().entries()) {
    for (uint64_t c = 1; c <= counter && out.size() < kMaxDots; ++c) out.push_back({actor, c});
  }
  for (const crdt::Dot& d : delta.context().cloud()) {
    if (out.size() < kMaxDots) out.push_back(d);
  }
  return out;
}

// What a replica records of its mint of an identified update (op_log.h).
Mint mint_of(const Object& state, const Object& delta, crdt::Actor actor, const Update& u,
             uint64_t fingerprint) {
  Mint m;
  m.id = crdt::Dot{actor, 0};
  m.fingerprint = fingerprint;
  if (const auto* c = state.as<crdt::PNCounter>()) {
    m.id.counter = c->increments().get(actor) + c->decrements().get(actor);
    m.delta = u.delta;
  } else if (const auto* reg = delta.as<crdt::DvvSet>()) {
    for (const auto& [dot, sib] : reg->siblings()) m.dots.push_back(dot);
  } else if (const auto* set = delta.as<crdt::ORSet>()) {
    m.dots = dots_of(*set);
    std::sort(m.dots.begin(), m.dots.end());
  }
  // A mint is named by the first dot it minted. A remove mints none: the dots it took
  // out are the same on every replica that ran it, so it is named by its minter's actor
  // (a replica mints one operation once), else two replicas' mints of one remove would
  // share a name and differ in their dots.
  if (!m.dots.empty() && u.kind != Update::Kind::kSetRemove) m.id = m.dots.front();
  return m;
}

// The re-send of an operation this replica applied before (apply_once).
Object repeat_of(const Object& state, uint64_t op, const OpRecord& r, const Update& u,
                 uint64_t fingerprint) {
  Object delta;
  if (const auto* set = state.as<crdt::ORSet>()) {
    std::vector<crdt::Dot> dots;
    for (const auto& [id, m] : r.mints) {
      if (m.fingerprint == fingerprint) dots.insert(dots.end(), m.dots.begin(), m.dots.end());
    }
    crdt::ORSet out = set->delta_of(dots);
    // A remove with a context names only the dots it took out where it was minted; the
    // observed dots that replica did not hold then were a deferred remove (crdt/orset.h),
    // which the record does not keep. Re-send the remove itself as a deferred entry, so a
    // replica that missed the first attempt's delta takes out what the client observed
    // (its join drops the entry once its context covers it).
    if (u.kind == Update::Kind::kSetRemove && u.context) {
      for (const std::string& e : u.elements) out.join(crdt::ORSet{}.remove(e, *u.context));
    }
    delta = Object(std::move(out));
  } else {
    // Small types: the whole state is a valid delta. It goes with the whole log: a
    // counter's totals include every mint this replica holds, and a replica that took
    // them in without their records could mint one of them again on a retry.
    return state;
  }
  OpLog record;
  (void)record.insert(op, r);
  delta.ops().join(record, nullptr);
  return delta;
}

}  // namespace

Result<Object> apply_once(Object* state, crdt::Actor actor, const Update& u, uint64_t now_ms,
                          Once* once) {
  const bool identified = !u.op_id.empty();
  const uint64_t op = identified ? op_key(u.op_id) : 0;
  const uint64_t fingerprint = identified ? update_fingerprint(u) : 0;
  if (identified && state->type() == type_of(u)) {
    if (const OpRecord* r = state->ops().find(op)) {
      once->duplicate = true;
      if (!r->matching(fingerprint)) {
        return Status::invalid_argument("operation id '" + u.op_id +
                                        "' was already used for another update of this key");
      }
      return repeat_of(*state, op, *r, u, fingerprint);
    }
  }
  if (const auto* c = state->as<crdt::PNCounter>()) {
    once->base = c->increments().get(actor) + c->decrements().get(actor);
  }
  Result<Object> delta = apply_in_place(state, actor, u, &once->touched);
  if (!delta || !identified) return delta;
  Mint m = mint_of(*state, *delta, actor, u, fingerprint);
  delta->ops().add(op, now_ms, m);
  state->ops().add(op, now_ms, std::move(m));
  once->ops.push_back(op);
  return delta;
}

Result<Applied> apply_update(std::optional<Object> current, crdt::Actor actor, const Update& u) {
  Object state = current ? std::move(*current) : Object(type_of(u));
  Result<Object> delta = apply_in_place(&state, actor, u, nullptr);
  if (!delta) return delta.status();
  return Applied{std::move(state), std::move(delta).value()};
}

}  // namespace shoal::core
