#include "node/store/damage.h"

#include <leveldb/comparator.h>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <memory>
#include <set>

#include "crdt/assert.h"
#include "crdt/coding.h"
#include "node/core/keys.h"
#include "node/core/object.h"

namespace shoal::store {

namespace {

constexpr size_t kTrailerBytes = 8;  // LevelDB's (sequence << 8 | type), little-endian
constexpr size_t kBatchBytes = 4u << 20;

leveldb::Slice user_key(const leveldb::Slice& internal) {
  SHOAL_ASSERT(internal.size() >= kTrailerBytes);
  return leveldb::Slice(internal.data(), internal.size() - kTrailerBytes);
}

uint64_t trailer(const leveldb::Slice& internal) {
  uint64_t v = 0;
  for (size_t i = 0; i < kTrailerBytes; ++i) {
    v |= uint64_t{static_cast<uint8_t>(internal[internal.size() - kTrailerBytes + i])} << (8 * i);
  }
  return v;
}

// The order a table's keys are in (LevelDB's internal key order: user key ascending,
// then newest first), which Table's index seeks need; tables carry no name to check.
class InternalOrder final : public leveldb::Comparator {
 public:
  int Compare(const leveldb::Slice& a, const leveldb::Slice& b) const override {
    if (a.size() < kTrailerBytes || b.size() < kTrailerBytes) return a.compare(b);
    const int r = user_key(a).compare(user_key(b));
    if (r != 0) return r;
    const uint64_t ta = trailer(a), tb = trailer(b);
    return ta > tb ? -1 : (ta < tb ? 1 : 0);
  }
  const char* Name() const override { return "leveldb.InternalKeyComparator"; }
  void FindShortestSeparator(std::string*, const leveldb::Slice&) const override {}
  void FindShortSuccessor(std::string*) const override {}
};

bool is_table(const std::string& name) {
  if (name.find('/') != std::string::npos) return false;  // memenv lists lost/ tables too
  auto ends = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".ldb") || ends(".sst");
}

std::string printable(const std::optional<std::string>& key) {
  if (!key) return "(open)";
  std::string out;
  for (const char ch : *key) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(ch);
    } else {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
    if (out.size() > 64) return out + "...";
  }
  return out;
}

// Walks one opened table; a damaged block shows as the iterator's status turning bad on
// the step that skipped it. After each one, a fresh iterator resumes at the row found
// after the gap, so every damaged block is seen.
void walk_table(const leveldb::Table& table, const std::string& name, Damage* out) {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(table.NewIterator(ro));
  std::optional<std::string> prev;  // the last row read (internal key)
  it->SeekToFirst();
  while (true) {
    if (!it->status().ok()) {
      Damage::Range r;
      if (prev) r.first = user_key(*prev).ToString();
      if (it->Valid()) r.last = user_key(it->key()).ToString();
      out->found.push_back(name + ": " + it->status().ToString() + ", rows between " +
                           printable(r.first) + " and " + printable(r.last));
      out->ranges.push_back(std::move(r));
      if (!it->Valid()) return;
      const std::string resume = it->key().ToString();
      it.reset(table.NewIterator(ro));
      it->Seek(resume);
      if (!it->status().ok() || !it->Valid() || it->key().ToString() != resume) {
        out->ranges.push_back(Damage::Range{user_key(resume).ToString(), std::nullopt});
        return;
      }
    }
    if (!it->Valid()) return;
    prev = it->key().ToString();
    it->Next();
  }
}

void scan_table(leveldb::Env* env, const std::string& dir, const std::string& name, Damage* out) {
  const std::string path = dir + "/" + name;
  uint64_t size = 0;
  leveldb::RandomAccessFile* raw = nullptr;
  leveldb::Status s = env->GetFileSize(path, &size);
  if (s.ok()) s = env->NewRandomAccessFile(path, &raw);
  std::unique_ptr<leveldb::RandomAccessFile> file(raw);
  static const InternalOrder kOrder;
  leveldb::Options options;
  options.comparator = &kOrder;
  options.paranoid_checks = true;  // the footer and index read with checksums
  options.env = env;
  leveldb::Table* table = nullptr;
  if (s.ok()) s = leveldb::Table::Open(options, file.get(), size, &table);
  if (!s.ok()) {
    out->unbounded = true;
    out->found.push_back(name + " cannot be read whole: " + s.ToString());
    return;
  }
  std::unique_ptr<leveldb::Table> owned(table);
  walk_table(*owned, name, out);
}

// The key hashes a row in `r` may carry, or nullopt when `r` holds no data rows. A bound
// shorter than a whole hash is padded towards the outside of the range.
std::optional<std::pair<uint64_t, uint64_t>> hash_span(const Damage::Range& r) {
  auto hash_of = [](const std::string& k, char pad) {
    std::string bytes = k.substr(1, 8);
    bytes.resize(8, pad);
    return coding::get_be64(bytes);
  };
  uint64_t lo = 0, hi = UINT64_MAX;
  if (r.first && !r.first->empty()) {
    if ((*r.first)[0] > core::kDataPrefix) return std::nullopt;
    if ((*r.first)[0] == core::kDataPrefix) lo = hash_of(*r.first, '\0');
  }
  if (r.last && !r.last->empty()) {
    if ((*r.last)[0] < core::kDataPrefix) return std::nullopt;
    if ((*r.last)[0] == core::kDataPrefix) hi = hash_of(*r.last, '\xff');
  }
  if (r.last && r.last->empty()) return std::nullopt;
  return std::make_pair(lo, hi);
}

uint64_t row_hash(std::string_view row) { return coding::get_be64(row.substr(1, 8)); }

// Deletes rows in batches; the last one synced.
class Eraser {
 public:
  explicit Eraser(leveldb::DB* db) : db_(db) {}
  Status erase(const leveldb::Slice& row) {
    batch_.Delete(row);
    ++erased_.rows;
    return batch_.ApproximateSize() < kBatchBytes ? Status::ok() : write(false);
  }
  void count_object() { ++erased_.objects; }
  Result<Erased> finish() {
    SHOAL_RETURN_IF_ERROR(write(true));
    return erased_;
  }
  Status write(bool sync) {
    leveldb::WriteOptions wo;
    wo.sync = sync;
    leveldb::Status s = db_->Write(wo, &batch_);
    batch_.Clear();
    if (!s.ok()) return Status::internal("erasing damaged objects: " + s.ToString());
    return Status::ok();
  }

 private:
  leveldb::DB* db_;
  leveldb::WriteBatch batch_;
  Erased erased_;
};

Status erase_span(leveldb::DB* db, uint64_t lo, uint64_t hi, Eraser* eraser) {
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  std::string last_object;
  for (it->Seek(core::data_key_lower_bound(lo)); it->Valid(); it->Next()) {
    const std::string_view row(it->key().data(), it->key().size());
    if (row.size() < 9 || row[0] != core::kDataPrefix || row_hash(row) > hi) break;
    bool sub = false;
    if (auto dk = core::parse_data_row(row, &sub, nullptr)) {
      std::string id = core::data_key(dk->hash, dk->bucket, dk->key);
      // Rows of one hash are adjacent (a collision's interleaved heads count twice).
      if (id != last_object) eraser->count_object();
      last_object = std::move(id);
    }
    SHOAL_RETURN_IF_ERROR(eraser->erase(it->key()));
  }
  if (!it->status().ok())
    return Status::internal("scanning damaged rows: " + it->status().ToString());
  return Status::ok();
}

// Every object stored in more than one row: those with element or operation rows, and
// heads that say they have such rows (all of which may be gone).
Result<std::set<std::string>> multi_row_objects(leveldb::DB* db) {
  std::set<std::string> out;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  const std::string end = core::data_key_end();
  for (it->Seek(core::data_key_lower_bound(0)); it->Valid(); it->Next()) {
    const std::string_view row(it->key().data(), it->key().size());
    if (row >= end) break;
    bool sub = false;
    std::optional<core::DataKey> dk = core::parse_data_row(row, &sub, nullptr);
    if (!dk) continue;
    bool split = false, op_rows = false;
    if (!sub) {
      const std::string_view v(it->value().data(), it->value().size());
      // A head that does not decode is erased too: it cannot be trusted.
      sub = !core::Object::decode_stored(v, &split, &op_rows).is_ok() || split || op_rows;
    }
    if (sub) out.insert(core::data_key(dk->hash, dk->bucket, dk->key));
  }
  if (!it->status().ok()) return Status::internal("scanning objects: " + it->status().ToString());
  return out;
}

Status erase_objects(leveldb::DB* db, const std::set<std::string>& objects, Eraser* eraser) {
  for (const std::string& id : objects) {
    const std::optional<core::DataKey> dk = core::parse_data_key(id);
    SHOAL_ASSERT(dk.has_value());
    eraser->count_object();
    SHOAL_RETURN_IF_ERROR(eraser->erase(id));
    for (const std::string& prefix : {core::element_prefix(dk->hash, dk->bucket, dk->key),
                                      core::op_prefix(dk->hash, dk->bucket, dk->key)}) {
      std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        SHOAL_RETURN_IF_ERROR(eraser->erase(it->key()));
      }
      if (!it->status().ok()) return Status::internal("scanning rows: " + it->status().ToString());
    }
  }
  return Status::ok();
}

}  // namespace

namespace {
std::string hex(const std::optional<std::string>& key) {
  if (!key) return "-";
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (const char ch : *key) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> unhex(std::string_view h) {
  if (h == "-") return std::nullopt;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(h[i]) * 16 + nibble(h[i + 1])));
  }
  return out;
}
}  // namespace

std::string encode(const Damage& damage) {
  std::string out = damage.unbounded ? "unbounded\n" : "";
  for (const Damage::Range& r : damage.ranges)
    out += "range " + hex(r.first) + " " + hex(r.last) + "\n";
  for (std::string line : damage.found) {
    std::replace(line.begin(), line.end(), '\n', ' ');
    out += "found " + line + "\n";
  }
  return out;
}

void decode(std::string_view text, Damage* out) {
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    if (line == "unbounded") out->unbounded = true;
    if (line.substr(0, 6) == "found ") out->found.emplace_back(line.substr(6));
    if (line.substr(0, 6) != "range ") continue;
    const std::string_view rest = line.substr(6);
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) continue;
    out->ranges.push_back(
        Damage::Range{unhex(rest.substr(0, space)), unhex(rest.substr(space + 1))});
  }
}

Status find_table_damage(const std::string& dir, leveldb::Env* env, Damage* out) {
  if (env == nullptr) env = leveldb::Env::Default();
  std::vector<std::string> names;
  leveldb::Status s = env->GetChildren(dir, &names);
  if (!s.ok()) return Status::internal("cannot list " + dir + ": " + s.ToString());
  std::sort(names.begin(), names.end());  // the found lines in a stable order
  for (const std::string& name : names) {
    if (is_table(name)) scan_table(env, dir, name, out);
  }
  return Status::ok();
}

Result<Erased> erase_damaged_objects(leveldb::DB* db, const Damage& damage) {
  Eraser eraser(db);
  // Spans may overlap (several tables held the same keys): merged first.
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const Damage::Range& r : damage.ranges) {
    if (auto span = hash_span(r)) spans.push_back(*span);
  }
  std::sort(spans.begin(), spans.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& sp : spans) {
    if (!merged.empty() && sp.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, sp.second);
    } else {
      merged.push_back(sp);
    }
  }
  for (const auto& [lo, hi] : merged) SHOAL_RETURN_IF_ERROR(erase_span(db, lo, hi, &eraser));
  if (damage.unbounded) {
    SHOAL_RETURN_IF_ERROR(eraser.write(false));  // the scan below must not see those again
    Result<std::set<std::string>> objects = multi_row_objects(db);
    if (!objects) return objects.status();
    SHOAL_RETURN_IF_ERROR(erase_objects(db, *objects, &eraser));
  }
  return eraser.finish();
}

}  // namespace shoal::store
