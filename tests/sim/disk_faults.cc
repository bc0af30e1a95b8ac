#include "disk_faults.h"

#include <leveldb/helpers/memenv.h>

#include <algorithm>
#include <cstring>

namespace shoal::sim {

namespace {

const leveldb::Status kNoSpace = leveldb::Status::IOError("No space left on device");

// A table file's name in a database directory: digits and ".ldb".
bool is_table(const std::string& name) {
  const size_t dot = name.size() >= 4 ? name.size() - 4 : 0;
  return dot > 0 && name.compare(dot, 4, ".ldb") == 0 &&
         std::all_of(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(dot),
                     [](char c) { return c >= '0' && c <= '9'; });
}

bool get_varint(const char*& p, const char* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift <= 63 && p < end; shift += 7) {
    const auto byte = static_cast<uint8_t>(*p++);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Reads return the damaged bytes of the file with their bits flipped.
class DamagedFile final : public leveldb::RandomAccessFile {
 public:
  DamagedFile(leveldb::RandomAccessFile* in, std::shared_ptr<DiskFaults::FileState> state,
              std::mutex& mu)
      : in_(in), state_(std::move(state)), mu_(mu) {}
  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result,
                       char* scratch) const override {
    leveldb::Status s = in_->Read(offset, n, result, scratch);
    if (!s.ok()) return s;
    std::vector<DiskFaults::Damage> ranges;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ranges = state_->damaged;
    }
    const uint64_t end = offset + result->size();
    for (const DiskFaults::Damage& d : ranges) {
      const uint64_t lo = std::max(d.begin, offset), hi = std::min(d.end, end);
      if (lo >= hi) continue;
      if (result->data() != scratch) {
        std::memmove(scratch, result->data(), result->size());
        *result = leveldb::Slice(scratch, result->size());
      }
      for (uint64_t i = lo; i < hi; ++i)
        scratch[i - offset] = static_cast<char>(scratch[i - offset] ^ d.mask);
    }
    return s;
  }

 private:
  std::unique_ptr<leveldb::RandomAccessFile> in_;
  std::shared_ptr<DiskFaults::FileState> state_;
  std::mutex& mu_;
};

// Writes fail while the disk is full. The first Append that fills it writes half of its
// data (a torn write: the disk's last free bytes), the others nothing; a Sync fails too
// (as with delayed allocation, after the data was written).
class FullableFile final : public leveldb::WritableFile {
 public:
  FullableFile(leveldb::WritableFile* out, DiskFaults& disk, std::string path)
      : out_(out), disk_(disk), path_(std::move(path)) {}
  leveldb::Status Append(const leveldb::Slice& data) override {
    if (!disk_.full_for(path_)) return out_->Append(data);
    if (disk_.take_last_bytes(path_) && data.size() > 1) {
      (void)out_->Append(leveldb::Slice(data.data(), data.size() / 2));
    }
    return kNoSpace;
  }
  leveldb::Status Close() override { return out_->Close(); }
  leveldb::Status Flush() override { return disk_.full_for(path_) ? kNoSpace : out_->Flush(); }
  leveldb::Status Sync() override { return disk_.full_for(path_) ? kNoSpace : out_->Sync(); }

 private:
  std::unique_ptr<leveldb::WritableFile> out_;
  DiskFaults& disk_;
  const std::string path_;
};

}  // namespace

DiskFaults::DiskFaults() : DiskFaults(leveldb::NewMemEnv(leveldb::Env::Default())) {}

DiskFaults::DiskFaults(leveldb::Env* mem) : leveldb::EnvWrapper(mem), mem_(mem) {}

DiskFaults::~DiskFaults() {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    stop_ = true;
  }
  bg_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::shared_ptr<DiskFaults::FileState> DiskFaults::state_of(const std::string& path, bool fresh) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<FileState>& st = files_[path];
  if (fresh || !st) {
    if (st && !st->damaged.empty()) ++damaged_gone_;
    st = std::make_shared<FileState>();
  }
  return st;
}

void DiskFaults::forget(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return;
  if (!it->second->damaged.empty()) ++damaged_gone_;
  files_.erase(it);
}

void DiskFaults::damage(const std::string& path, uint64_t offset, uint64_t len, uint8_t mask) {
  quiesce();
  std::shared_ptr<FileState> st = state_of(path, false);
  std::lock_guard<std::mutex> lock(mu_);
  st->damaged.push_back(Damage{offset, offset + len, mask});
}

std::string DiskFaults::damage_table(const std::string& dir, Prng& rng) {
  quiesce();
  std::vector<std::string> names;
  if (!mem_->GetChildren(dir, &names).ok()) return "";
  names.erase(
      std::remove_if(names.begin(), names.end(), [](const std::string& n) { return !is_table(n); }),
      names.end());
  if (names.empty()) return "";
  std::sort(names.begin(), names.end());
  const std::string name = names[rng.below(names.size())];
  const std::string path = dir + "/" + name;
  uint64_t size = 0;
  if (!mem_->GetFileSize(path, &size).ok() || size <= 48) return "";
  // The footer (the last 48 bytes): the metaindex block's handle, then the index's.
  leveldb::RandomAccessFile* file = nullptr;
  if (!mem_->NewRandomAccessFile(path, &file).ok()) return "";
  std::unique_ptr<leveldb::RandomAccessFile> owned(file);
  char buf[48];
  leveldb::Slice footer;
  uint64_t meta_off = 0, meta_size = 0, index_off = 0;
  if (!file->Read(size - 48, 48, &footer, buf).ok() || footer.size() != 48) return "";
  const char* p = footer.data();
  const char* end = p + footer.size();
  if (!get_varint(p, end, &meta_off) || !get_varint(p, end, &meta_size) ||
      !get_varint(p, end, &index_off) || index_off == 0 || index_off > size) {
    return "";
  }
  const uint64_t len = 1 + rng.below(4);
  const uint64_t offset = rng.below(index_off > len ? index_off - len + 1 : 1);
  const auto bit = static_cast<uint8_t>(1u << rng.below(8));
  damage(path, offset, len, bit);
  return name + " bytes " + std::to_string(offset) + "-" + std::to_string(offset + len - 1) +
         " of " + std::to_string(size) + " bit " + std::to_string(bit);
}

void DiskFaults::set_full(const std::string& dir, bool full) {
  quiesce();
  std::lock_guard<std::mutex> lock(mu_);
  Space& sp = space_[dir];
  if (full && !sp.full) sp.last_bytes = true;
  sp.full = full;
}

bool DiskFaults::full(const std::string& dir) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = space_.find(dir);
  return it != space_.end() && it->second.full;
}

DiskFaults::Space* DiskFaults::space_for(const std::string& path) {
  for (auto& [dir, sp] : space_) {
    if (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
        path[dir.size()] == '/') {
      return &sp;
    }
  }
  return nullptr;
}

bool DiskFaults::full_for(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  const Space* sp = space_for(path);
  return sp && sp->full;
}

bool DiskFaults::take_last_bytes(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Space* sp = space_for(path);
  if (!sp || !sp->full || !sp->last_bytes) return false;
  sp->last_bytes = false;
  return true;
}

uint64_t DiskFaults::damaged_files_gone() const {
  std::lock_guard<std::mutex> lock(mu_);
  return damaged_gone_;
}

leveldb::Status DiskFaults::NewRandomAccessFile(const std::string& f,
                                                leveldb::RandomAccessFile** r) {
  leveldb::RandomAccessFile* in = nullptr;
  leveldb::Status s = mem_->NewRandomAccessFile(f, &in);
  if (!s.ok()) return s;
  *r = new DamagedFile(in, state_of(f, false), mu_);
  return s;
}

leveldb::Status DiskFaults::NewWritableFile(const std::string& f, leveldb::WritableFile** r) {
  leveldb::WritableFile* out = nullptr;
  leveldb::Status s = mem_->NewWritableFile(f, &out);
  if (!s.ok()) return s;
  (void)state_of(f, true);  // a new file: whole
  *r = new FullableFile(out, *this, f);
  return s;
}

leveldb::Status DiskFaults::NewAppendableFile(const std::string& f, leveldb::WritableFile** r) {
  leveldb::WritableFile* out = nullptr;
  leveldb::Status s = mem_->NewAppendableFile(f, &out);
  if (!s.ok()) return s;
  *r = new FullableFile(out, *this, f);
  return s;
}

leveldb::Status DiskFaults::RemoveFile(const std::string& f) {
  leveldb::Status s = mem_->RemoveFile(f);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) forget(f);
  return s;
}

leveldb::Status DiskFaults::RenameFile(const std::string& from, const std::string& to) {
  leveldb::Status s = mem_->RenameFile(from, to);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(from);
  std::shared_ptr<FileState> moved = it == files_.end() ? nullptr : it->second;
  if (it != files_.end()) files_.erase(it);
  forget(to);                                             // the file that was there is gone
  if (moved && !moved->damaged.empty()) ++damaged_gone_;  // out of the database (lost/)
  if (moved) files_[to] = std::move(moved);
  return s;
}

void DiskFaults::Schedule(void (*fn)(void*), void* arg) {
  std::lock_guard<std::mutex> lock(bg_mu_);
  if (!worker_.joinable()) worker_ = std::thread([this] { work(); });
  bg_queue_.emplace_back(fn, arg);
  ++bg_pending_;
  bg_cv_.notify_all();
}

void DiskFaults::work() {
  std::unique_lock<std::mutex> lock(bg_mu_);
  for (;;) {
    bg_cv_.wait(lock, [this] { return stop_ || !bg_queue_.empty(); });
    if (bg_queue_.empty()) return;  // stopping, and nothing left
    const auto [fn, arg] = bg_queue_.front();
    bg_queue_.pop_front();
    lock.unlock();
    fn(arg);
    lock.lock();
    --bg_pending_;
    idle_cv_.notify_all();
  }
}

void DiskFaults::quiesce() {
  std::unique_lock<std::mutex> lock(bg_mu_);
  idle_cv_.wait(lock, [this] { return bg_pending_ == 0; });
}

}  // namespace shoal::sim
