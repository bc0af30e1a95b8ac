#include "node/api/convert.h"

namespace shoal::api {

namespace {

Result<std::optional<crdt::DotContext>> parse_context(const std::optional<std::string>& bytes) {
  if (!bytes) return std::optional<crdt::DotContext>();
  Result<crdt::DotContext> c = crdt::DotContext::decode(*bytes);
  if (!c) {
    return Status::invalid_argument("field \"ctx\": not a context returned by Shoal (" +
                                    c.status().message() + ")");
  }
  return std::optional<crdt::DotContext>(std::move(c).value());
}

std::optional<core::DataType> expected_type(Op op) {
  switch (op) {
    case Op::kCounterGet:
      return core::DataType::kCounter;
    case Op::kSetGet:
      return core::DataType::kSet;
    default:
      return std::nullopt;
  }
}

void fill_from_object(const core::Object& o, Response* r) {
  r->type = o.type();
  switch (o.type()) {
    case core::DataType::kRegister: {
      const auto& dvv = *o.as<crdt::DvvSet>();
      r->values = dvv.values();
      r->context = dvv.context().encode();
      break;
    }
    case core::DataType::kLww: {
      std::optional<std::string> v = o.as<crdt::LWWRegister>()->read();
      if (v) r->values.push_back(std::move(*v));
      break;
    }
    case core::DataType::kCounter:
      r->counter = o.as<crdt::PNCounter>()->read();
      break;
    case core::DataType::kSet: {
      const auto& set = *o.as<crdt::ORSet>();
      for (const auto& [elem, dots] : set.entries()) r->elements.push_back(elem);
      r->context = set.context().encode();
      break;
    }
  }
}

// One body for both forms: `Req` is Request (the payload's strings are moved out) or
// const Request& (copied; nothing else of the request, such as a password, is).
template <typename Req>
Result<core::ClientRequest> build_core(Req&& r) {
  core::ClientRequest c;
  c.bucket = std::forward<Req>(r).bucket;
  c.key = std::forward<Req>(r).key;
  c.options = r.options;
  c.op = core::ClientRequest::Op::kUpdate;
  core::Update& u = c.update;
  if (!r.op_id.empty() && !is_update(r.op)) {
    return Status::invalid_argument("field \"op_id\": op_id applies to updates only");
  }
  // Every attempt of one operation carries its op id; it takes effect once.
  u.op_id = std::forward<Req>(r).op_id;
  switch (r.op) {
    case Op::kGet:
    case Op::kCounterGet:
    case Op::kSetGet:
      c.op = core::ClientRequest::Op::kGet;
      if (r.op == Op::kSetGet) c.elements = std::forward<Req>(r).elements;
      if (r.op == Op::kSetGet && r.count > 0) {
        c.page = core::SetPage{std::forward<Req>(r).after, r.count};
      }
      return c;
    case Op::kPut:
    case Op::kDelete: {
      u.kind = r.op == Op::kPut ? core::Update::Kind::kPut : core::Update::Kind::kDelete;
      u.type = r.type;
      u.value = std::forward<Req>(r).value;
      u.counting = r.counting;
      Result<std::optional<crdt::DotContext>> ctx = parse_context(r.context);
      if (!ctx) return ctx.status();
      u.context = std::move(ctx).value();
      return c;
    }
    case Op::kCounterAdd:
      u.kind = core::Update::Kind::kCounterAdd;
      u.type = core::DataType::kCounter;
      u.delta = r.delta;
      return c;
    case Op::kSetAdd:
    case Op::kSetRemove: {
      u.kind = r.op == Op::kSetAdd ? core::Update::Kind::kSetAdd : core::Update::Kind::kSetRemove;
      u.type = core::DataType::kSet;
      u.elements = std::forward<Req>(r).elements;
      Result<std::optional<crdt::DotContext>> ctx = parse_context(r.context);
      if (!ctx) return ctx.status();
      u.context = std::move(ctx).value();
      return c;
    }
    case Op::kPing:
    case Op::kClusterStatus:
    case Op::kLeave:
    case Op::kRemove:
    case Op::kChaos:
    case Op::kAuth:
      break;  // answered by the shell
  }
  return Status::internal("operation has no core request");
}

}  // namespace

Result<core::ClientRequest> to_core(Request&& request) { return build_core(std::move(request)); }

Result<core::ClientRequest> to_core(const Request& request) { return build_core(request); }

Asked Asked::of(const Request& request) {
  Asked a;
  a.id = request.id;
  a.op = request.op;
  a.status_only = request.status_only;
  if (request.op == Op::kGet) {
    a.bucket = request.bucket;
    a.key = request.key;
  }
  return a;
}

Response to_response(const Request& request, core::ClientResponse answer) {
  return to_response(Asked::of(request), std::move(answer));
}

Response to_response(const Asked& request, core::ClientResponse answer) {
  Response r;
  r.id = request.id;
  r.status = std::move(answer.status);
  r.duplicate = answer.duplicate;
  r.added = answer.added;
  r.removed = answer.removed;
  r.next = std::move(answer.next);
  if (!answer.object) return r;
  const core::Object& o = *answer.object;
  if (std::optional<core::DataType> want = expected_type(request.op)) {
    Status s = core::check_type(o.type(), *want);
    if (!s.is_ok()) {
      r.status = s;
      return r;
    }
  }
  if (request.status_only) return r;
  fill_from_object(o, &r);
  const bool is_register =
      o.type() == core::DataType::kRegister || o.type() == core::DataType::kLww;
  if (r.status.is_ok() && is_register && r.values.empty() && request.op == Op::kGet) {
    r.status = Status::not_found(request.bucket + "/" + request.key + " (deleted)");
  }
  return r;
}

}  // namespace shoal::api
