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

Applied apply_register(crdt::DvvSet state, crdt::Actor actor, const Update& u) {
  const crdt::DotContext seen =
      u.context.value_or(u.kind == Update::Kind::kDelete ? state.context() : crdt::DotContext{});
  crdt::DvvSet delta =
      u.kind == Update::Kind::kDelete ? state.remove(actor, seen) : state.put(actor, seen, u.value);
  return Applied{Object(std::move(state)), Object(std::move(delta))};
}

Applied apply_lww(crdt::LWWRegister state, crdt::Actor actor, const Update& u) {
  crdt::LWWRegister delta = u.kind == Update::Kind::kDelete
                                ? state.remove(actor, u.timestamp_ms)
                                : state.set(actor, u.timestamp_ms, u.value);
  return Applied{Object(std::move(state)), Object(std::move(delta))};
}

Applied apply_set(crdt::ORSet state, crdt::Actor actor, const Update& u) {
  crdt::ORSet delta;
  for (const std::string& e : u.elements) {
    if (u.kind == Update::Kind::kSetAdd) {
      delta.join(state.add(actor, e));
    } else {
      delta.join(u.context ? state.remove(e, *u.context) : state.remove(e));
    }
  }
  return Applied{Object(std::move(state)), Object(std::move(delta))};
}

}  // namespace

Status validate(const Update& u) {
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

Result<Applied> apply_update(std::optional<Object> current, crdt::Actor actor, const Update& u) {
  SHOAL_RETURN_IF_ERROR(validate(u));
  const DataType type = type_of(u);
  Object state = current ? std::move(*current) : Object(type);
  SHOAL_RETURN_IF_ERROR(check_type(state.type(), type));
  switch (type) {
    case DataType::kRegister:
      return apply_register(std::move(*state.as<crdt::DvvSet>()), actor, u);
    case DataType::kLww:
      return apply_lww(std::move(*state.as<crdt::LWWRegister>()), actor, u);
    case DataType::kSet:
      return apply_set(std::move(*state.as<crdt::ORSet>()), actor, u);
    case DataType::kCounter: {
      crdt::PNCounter counter = std::move(*state.as<crdt::PNCounter>());
      Result<crdt::PNCounter> delta = counter.add(actor, u.delta);
      if (!delta) return delta.status();
      return Applied{Object(std::move(counter)), Object(std::move(delta).value())};
    }
  }
  return Status::internal("unknown data type");
}

}  // namespace shoal::core
