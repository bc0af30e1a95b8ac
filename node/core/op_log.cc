#include "node/core/op_log.h"

#include <xxhash.h>

#include <algorithm>
#include <iterator>

#include "crdt/assert.h"
#include "node/core/update.h"

namespace shoal::core {

namespace codec = crdt::codec;
using codec::Array;
using codec::bad;

uint64_t op_key(std::string_view op_id) {
  const uint64_t h = XXH3_64bits(op_id.data(), op_id.size());
  return h == 0 ? 1 : h;
}

uint64_t update_fingerprint(const Update& u) {
  // Only what the client chose: the lww timestamp is the coordinator's, and differs
  // between attempts through different coordinators.
  msgpack::sbuffer buf(64);
  codec::Packer pk(buf);
  pk.pack_array(6);
  pk.pack(static_cast<uint8_t>(u.kind));
  pk.pack(static_cast<uint8_t>(u.type));
  codec::pack_bytes(pk, u.value);
  pk.pack(u.delta);
  pk.pack_array(static_cast<uint32_t>(u.elements.size()));
  for (const std::string& e : u.elements) codec::pack_bytes(pk, e);
  if (u.context) {
    u.context->encode_to(pk);
  } else {
    pk.pack_nil();
  }
  return XXH3_64bits(buf.data(), buf.size());
}

const Mint* OpRecord::matching(uint64_t fingerprint) const {
  for (const auto& [id, m] : mints) {
    if (m.fingerprint == fingerprint) return &m;
  }
  return nullptr;
}

size_t OpLog::record_bytes(const OpRecord& r) {
  size_t n = 64;
  for (const auto& [id, m] : r.mints) n += 64 + 16 * m.dots.size();
  return n;
}

const OpRecord* OpLog::find(uint64_t key) const {
  auto it = records_.find(key);
  return it == records_.end() ? nullptr : &it->second;
}

void OpLog::add(uint64_t key, uint64_t now_ms, Mint mint) {
  auto [it, fresh] = records_.try_emplace(key);
  OpRecord& r = it->second;
  if (!fresh) bytes_ -= record_bytes(r);
  if (fresh || now_ms < r.first_ms) r.first_ms = now_ms;
  if (r.mints.size() < kMaxMintsPerRecord) r.mints.emplace(mint.id, std::move(mint));
  bytes_ += record_bytes(r);
}

namespace {
// Two mints of one name (op_log.h says a name is unique per minter, but a join must stay
// a join whatever it is given): the union of their dots, the smaller fingerprint and
// delta, so both orders give the same mint. True when *mine changed.
bool merge_mint(Mint* mine, const Mint& theirs) {
  if (*mine == theirs) return false;
  std::vector<crdt::Dot> dots;
  std::set_union(mine->dots.begin(), mine->dots.end(), theirs.dots.begin(), theirs.dots.end(),
                 std::back_inserter(dots));
  mine->dots = std::move(dots);
  SHOAL_ASSERT(std::is_sorted(mine->dots.begin(), mine->dots.end()));
  mine->fingerprint = std::min(mine->fingerprint, theirs.fingerprint);
  mine->delta = std::min(mine->delta, theirs.delta);
  return true;
}
}  // namespace

void OpLog::join(const OpLog& other, std::vector<uint64_t>* changed) {
  auto hint = records_.begin();
  for (const auto& [key, theirs] : other.records_) {
    hint = records_.lower_bound(key);
    if (hint == records_.end() || hint->first != key) {
      hint = records_.emplace_hint(hint, key, theirs);
      bytes_ += record_bytes(theirs);
      if (changed) changed->push_back(key);
      continue;
    }
    OpRecord& mine = hint->second;
    bool diff = false;
    bytes_ -= record_bytes(mine);
    if (theirs.first_ms < mine.first_ms) {
      mine.first_ms = theirs.first_ms;
      diff = true;
    }
    for (const auto& [id, m] : theirs.mints) {
      auto at = mine.mints.find(id);
      if (at != mine.mints.end()) {
        diff = merge_mint(&at->second, m) || diff;
        continue;
      }
      if (mine.mints.size() >= kMaxMintsPerRecord) continue;
      mine.mints.emplace(id, m);
      diff = true;
    }
    bytes_ += record_bytes(mine);
    SHOAL_ASSERT(mine.mints.size() <= kMaxMintsPerRecord);
    if (diff && changed) changed->push_back(key);
  }
}

void OpLog::prune(uint64_t cutoff_ms, std::vector<uint64_t>* dropped) {
  for (auto it = records_.begin(); it != records_.end();) {
    if (it->second.first_ms >= cutoff_ms) {
      ++it;
      continue;
    }
    bytes_ -= record_bytes(it->second);
    if (dropped) dropped->push_back(it->first);
    it = records_.erase(it);
  }
  if (records_.size() <= kMaxRecords) return;
  // Beyond the cap the oldest go first (ties by key, so every replica drops the same).
  std::vector<std::pair<uint64_t, uint64_t>> by_age;  // (first_ms, key)
  by_age.reserve(records_.size());
  for (const auto& [key, r] : records_) by_age.emplace_back(r.first_ms, key);
  const size_t excess = records_.size() - kMaxRecords;
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(excess),
                   by_age.end());
  for (size_t i = 0; i < excess; ++i) {
    auto it = records_.find(by_age[i].second);
    bytes_ -= record_bytes(it->second);
    if (dropped) dropped->push_back(it->first);
    records_.erase(it);
  }
  SHOAL_ASSERT(records_.size() <= kMaxRecords);
}

std::vector<const Mint*> OpLog::losers(uint64_t key) const {
  std::vector<const Mint*> out;
  const OpRecord* r = find(key);
  if (!r || r->mints.size() < 2) return out;
  std::map<uint64_t, const Mint*> winner;  // fingerprint -> smallest id (mints are in id order)
  for (const auto& [id, m] : r->mints) {
    if (!winner.emplace(m.fingerprint, &m).second) out.push_back(&m);
  }
  return out;
}

Status OpLog::insert(uint64_t key, OpRecord record) {
  if (records_.count(key)) return bad("operation record listed twice");
  bytes_ += record_bytes(record);
  records_.emplace(key, std::move(record));
  return Status::ok();
}

// ---- codec ----

namespace {

void pack_record(codec::Packer& pk, const OpRecord& r) {
  pk.pack(r.first_ms);
  pk.pack_array(static_cast<uint32_t>(r.mints.size()));
  for (const auto& [id, m] : r.mints) {
    pk.pack_array(5);
    pk.pack(id.actor);
    pk.pack(id.counter);
    pk.pack(m.fingerprint);
    pk.pack(m.delta);
    pk.pack_array(static_cast<uint32_t>(m.dots.size() * 2));
    for (const crdt::Dot& d : m.dots) {
      pk.pack(d.actor);
      pk.pack(d.counter);
    }
  }
}

Status unpack_mint(const codec::Object& o, Mint* m) {
  Array a, dots;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
  if (a.size != 5) return bad("a mint needs [actor, counter, fingerprint, delta, dots]");
  SHOAL_RETURN_IF_ERROR(codec::u64(a[0], &m->id.actor));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[1], &m->id.counter));
  SHOAL_RETURN_IF_ERROR(codec::u64(a[2], &m->fingerprint));
  SHOAL_RETURN_IF_ERROR(codec::i64(a[3], &m->delta));
  SHOAL_RETURN_IF_ERROR(codec::array(a[4], &dots));
  if (dots.size % 2 != 0) return bad("mint dots need actor/counter pairs");
  for (uint32_t i = 0; i < dots.size; i += 2) {
    crdt::Dot d;
    SHOAL_RETURN_IF_ERROR(codec::u64(dots[i], &d.actor));
    SHOAL_RETURN_IF_ERROR(codec::u64(dots[i + 1], &d.counter));
    if (d.counter == 0) return bad("dot counter must be >= 1");
    m->dots.push_back(d);
  }
  return Status::ok();
}

// `a` holds [first_ms, [mint...]] from index `at`.
Status unpack_record(const Array& a, uint32_t at, OpRecord* r) {
  Array mints;
  SHOAL_RETURN_IF_ERROR(codec::u64(a[at], &r->first_ms));
  SHOAL_RETURN_IF_ERROR(codec::array(a[at + 1], &mints));
  if (mints.size == 0) return bad("operation record without mints");
  if (mints.size > OpLog::kMaxMintsPerRecord) return bad("too many mints in one record");
  for (uint32_t i = 0; i < mints.size; ++i) {
    Mint m;
    SHOAL_RETURN_IF_ERROR(unpack_mint(mints[i], &m));
    if (!r->mints.empty() && !(r->mints.rbegin()->first < m.id)) {
      return bad("mints must be strictly increasing");
    }
    r->mints.emplace_hint(r->mints.end(), m.id, std::move(m));
  }
  return Status::ok();
}

}  // namespace

void OpLog::encode_to(codec::Packer& pk) const {
  pk.pack_array(static_cast<uint32_t>(records_.size()));
  for (const auto& [key, r] : records_) {
    pk.pack_array(3);
    pk.pack(key);
    pack_record(pk, r);
  }
}

Status OpLog::decode_from(const codec::Object& o, OpLog* out) {
  Array list;
  SHOAL_RETURN_IF_ERROR(codec::array(o, &list));
  if (list.size > kMaxRecords) return bad("too many operation records");
  for (uint32_t i = 0; i < list.size; ++i) {
    Array a;
    uint64_t key = 0;
    SHOAL_RETURN_IF_ERROR(codec::array(list[i], &a));
    if (a.size != 3) return bad("an operation record needs [key, first_ms, mints]");
    SHOAL_RETURN_IF_ERROR(codec::u64(a[0], &key));
    if (key == 0) return bad("operation key 0");
    if (!out->records_.empty() && out->records_.rbegin()->first >= key) {
      return bad("operation records must be strictly increasing");
    }
    OpRecord r;
    SHOAL_RETURN_IF_ERROR(unpack_record(a, 1, &r));
    out->bytes_ += record_bytes(r);
    out->records_.emplace_hint(out->records_.end(), key, std::move(r));
  }
  return Status::ok();
}

std::string OpLog::encode_record(const OpRecord& r) {
  msgpack::sbuffer buf(64);
  codec::Packer pk(buf);
  pk.pack_array(2);
  pack_record(pk, r);
  return std::string(buf.data(), buf.size());
}

Result<OpRecord> OpLog::decode_record(std::string_view bytes) {
  OpRecord r;
  Status s = codec::unpack(bytes, 5, [&](const codec::Object& o) {
    Array a;
    SHOAL_RETURN_IF_ERROR(codec::array(o, &a));
    if (a.size != 2) return bad("an operation row needs [first_ms, mints]");
    return unpack_record(a, 0, &r);
  });
  if (!s.is_ok()) return s;
  return r;
}

}  // namespace shoal::core
