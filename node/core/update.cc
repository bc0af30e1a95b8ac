#include "node/core/update.h"

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

Object apply_register(crdt::DvvSet& state, crdt::Actor actor, const Update& u) {
  const crdt::DotContext seen =
      u.context.value_or(u.kind == Update::Kind::kDelete ? state.context() : crdt::DotContext{});
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
  for (const std::string& e : u.elements) {
    if (u.kind == Update::Kind::kSetAdd) {
      delta.join(state.add(actor, e, touched));
    } else {
      delta.join(u.context ? state.remove(e, *u.context, touched) : state.remove(e, touched));
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

Result<Applied> apply_update(std::optional<Object> current, crdt::Actor actor, const Update& u) {
  Object state = current ? std::move(*current) : Object(type_of(u));
  Result<Object> delta = apply_in_place(&state, actor, u, nullptr);
  if (!delta) return delta.status();
  return Applied{std::move(state), std::move(delta).value()};
}

}  // namespace shoal::core
