#include "node/core/object.h"

#include <xxhash.h>

#include "crdt/codec.h"

namespace shoal::core {

namespace codec = crdt::codec;

std::string_view type_name(DataType t) {
  switch (t) {
    case DataType::kRegister:
      return "register";
    case DataType::kCounter:
      return "counter";
    case DataType::kSet:
      return "set";
    case DataType::kLww:
      return "lww";
  }
  return "unknown";
}

Result<DataType> parse_type(std::string_view name) {
  for (DataType t : {DataType::kRegister, DataType::kCounter, DataType::kSet, DataType::kLww}) {
    if (type_name(t) == name) return t;
  }
  return Status::invalid_argument("unknown data type '" + std::string(name) +
                                  "': expected register, counter, set or lww");
}

Object::Object(DataType type) {
  switch (type) {
    case DataType::kRegister:
      value_ = crdt::DvvSet{};
      break;
    case DataType::kCounter:
      value_ = crdt::PNCounter{};
      break;
    case DataType::kSet:
      value_ = crdt::ORSet{};
      break;
    case DataType::kLww:
      value_ = crdt::LWWRegister{};
      break;
  }
}

Status check_type(DataType actual, DataType wanted) {
  if (actual == wanted) return Status::ok();
  return Status::type_mismatch("key holds a " + std::string(type_name(actual)) + ", not a " +
                               std::string(type_name(wanted)));
}

Status Object::join(const Object& other, crdt::ORSet::Touched* elements,
                    std::vector<uint64_t>* ops) {
  SHOAL_RETURN_IF_ERROR(check_type(other.type(), type()));
  if (auto* set = as<crdt::ORSet>()) {
    set->join(*other.as<crdt::ORSet>(), elements);
  } else {
    std::visit(
        [&](auto& mine) {
          using T = std::decay_t<decltype(mine)>;
          mine.join(std::get<T>(other.value_));
        },
        value_);
  }
  if (other.ops_.empty()) return Status::ok();
  std::vector<uint64_t> changed;
  ops_.join(other.ops_, &changed);
  for (uint64_t key : changed) cancel_duplicates(key);
  if (ops) ops->insert(ops->end(), changed.begin(), changed.end());
  return Status::ok();
}

crdt::Actor compensation_actor(uint64_t key, const crdt::Dot& loser) {
  const uint64_t words[3] = {key, loser.actor, loser.counter};
  const uint64_t h = XXH3_64bits(words, sizeof(words));
  return h == 0 ? 1 : h;
}

void Object::cancel_duplicates(uint64_t key) {
  for (const Mint* m : ops_.losers(key)) {
    if (auto* counter = as<crdt::PNCounter>()) {
      counter->join(crdt::PNCounter::single(compensation_actor(key, m->id), -m->delta));
    } else if (auto* reg = as<crdt::DvvSet>()) {
      for (const crdt::Dot& d : m->dots) reg->drop(d);
    }
    // Sets: a repeated add or remove leaves the same members (op_log.h). LWW: the
    // later of two identical writes wins, the value is the same.
  }
}

namespace {

uint64_t seen_in(const crdt::DotContext& ctx, crdt::Actor actor) {
  uint64_t n = ctx.vv().get(actor);
  auto it = ctx.cloud().lower_bound(crdt::Dot{actor + 1, 0});
  if (it != ctx.cloud().begin() && std::prev(it)->actor == actor) {
    n = std::max(n, std::prev(it)->counter);
  }
  return n;
}

}  // namespace

uint64_t Object::seen_of(crdt::Actor actor) const {
  if (const auto* c = as<crdt::PNCounter>()) {
    return std::max(c->increments().get(actor), c->decrements().get(actor));
  }
  if (const auto* r = as<crdt::DvvSet>()) return seen_in(r->context(), actor);
  if (const auto* set = as<crdt::ORSet>()) return seen_in(set->context(), actor);
  return 0;  // lww: no dots
}

std::string Object::encode() const {
  msgpack::sbuffer buf(256);
  codec::Packer pk(buf);
  pk.pack_array(ops_.empty() ? 3 : 4);
  pk.pack(1);
  pk.pack(static_cast<uint8_t>(type()));
  std::visit([&](const auto& v) { v.encode_to(pk); }, value_);
  if (!ops_.empty()) ops_.encode_to(pk);
  return std::string(buf.data(), buf.size());
}

namespace {

// Decodes in place: a set's value is five containers, which a decode then move would
// take apart and put together twice per message.
template <typename T>
Status decode_into(const codec::Object& o, Object* out) {
  return T::decode_from(o, &out->emplace<T>());
}

Status decode_value(DataType type, const codec::Object& o, Object* out) {
  switch (type) {
    case DataType::kRegister:
      return decode_into<crdt::DvvSet>(o, out);
    case DataType::kCounter:
      return decode_into<crdt::PNCounter>(o, out);
    case DataType::kSet:
      return decode_into<crdt::ORSet>(o, out);
    case DataType::kLww:
      return decode_into<crdt::LWWRegister>(o, out);
  }
  return codec::bad("unknown data type");
}

// stored: null when only format 1 is acceptable (messages, hints); otherwise it gets
// {split, op_rows}.
Status decode_object(const codec::Object& o, Object* out, std::pair<bool, bool>* stored) {
  codec::Array a;
  uint64_t version = 0, type = 0;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
  if (a.size != 3 && a.size != 4) return codec::bad("object needs [version, type, value]");
  SHOAL_RETURN_IF_ERROR(codec::u64(a[0], &version));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &type));
  if (type < 1 || type > 4) return codec::bad("unknown data type");
  const auto t = static_cast<DataType>(type);
  const bool is_set = t == DataType::kSet;
  const bool known = version == 1 || (stored && ((version == 2 && is_set) || version == 3));
  if (!known) return codec::bad("unknown object format version");
  if (version != 1 && a.size != 3) return codec::bad("stored head with an inline log");
  if (stored) *stored = {version == 2 || (version == 3 && is_set), version == 3};
  SHOAL_RETURN_IF_ERROR(decode_value(t, a[2], out));
  if (a.size == 4) SHOAL_RETURN_IF_ERROR(OpLog::decode_from(a[3], &out->ops()));
  return Status::ok();
}

}  // namespace

Result<Object> Object::decode(std::string_view bytes) {
  Object out;
  Status s = codec::unpack(bytes, codec::kMaxDepth + 3,
                           [&](const codec::Object& o) { return decode_object(o, &out, nullptr); });
  if (!s.is_ok()) return s;
  return out;
}

ObjectPtr page_of(const ObjectPtr& o, const SetPage& page) {
  const auto* set = o ? o->as<crdt::ORSet>() : nullptr;
  if (!set) return o;
  const auto& entries = set->entries();
  auto it = page.after ? entries.upper_bound(*page.after) : entries.begin();
  std::vector<std::string> names;
  for (; it != entries.end() && names.size() < page.count; ++it) {
    if (page.until && it->first > *page.until) break;
    names.push_back(it->first);
  }
  return std::make_shared<const Object>(set->project(names, /*every_deferred=*/true));
}

std::string Object::encode_stored(bool records_in_rows) const {
  const auto* set = as<crdt::ORSet>();
  const int version = ops_.empty() && !records_in_rows ? (set ? 2 : 1) : 3;
  msgpack::sbuffer buf(64);
  codec::Packer pk(buf);
  pk.pack_array(3);
  pk.pack(version);
  pk.pack(static_cast<uint8_t>(type()));
  if (set) {
    set->encode_head_to(pk);
  } else {
    std::visit([&](const auto& v) { v.encode_to(pk); }, value_);
  }
  return std::string(buf.data(), buf.size());
}

Result<Object> Object::decode_stored(std::string_view bytes, bool* split, bool* op_rows) {
  Object out;
  std::pair<bool, bool> form{false, false};
  Status s = codec::unpack(bytes, codec::kMaxDepth + 3,
                           [&](const codec::Object& o) { return decode_object(o, &out, &form); });
  if (!s.is_ok()) return s;
  *split = form.first;
  *op_rows = form.second;
  return out;
}

}  // namespace shoal::core
