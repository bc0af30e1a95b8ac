// The seams through which the pure core reaches the world (like LevelDB's Env).
//
// node/core never calls libuv, LevelDB, the system clock or a global RNG: the shell
// (node/uv) hands in real implementations, tests/sim hands in simulated ones, and a
// whole cluster then runs in one process from one seed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "crdt/prng.h"
#include "crdt/status.h"

namespace shoal::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds, for timeouts and failure detection.
  virtual uint64_t now_ms() = 0;
  // Wall-clock milliseconds since the Unix epoch, for LWW timestamps and hint windows.
  virtual uint64_t wall_ms() = 0;
};

class Rng {
 public:
  virtual ~Rng() = default;
  virtual uint64_t next() = 0;
};

// A seeded Rng over the project's Prng (the simulator and tests use it; the shell
// seeds it from the OS).
class SeededRng final : public Rng {
 public:
  explicit SeededRng(uint64_t seed) : prng_(seed) {}
  uint64_t next() override { return prng_.next(); }

 private:
  Prng prng_;
};

// Ordered byte-string store. Writes are staged and committed together by flush(): the
// shell flushes once per loop turn, so one turn's writes form one atomic batch, and
// replies that depend on them are sent only after the flush.
class Store {
 public:
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

  virtual ~Store() = default;
  // The value under `key`, including writes staged but not yet flushed.
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void erase(std::string_view key) = 0;
  virtual bool has_staged() const = 0;
  // Commits the staged writes as one batch. sync: fsync before returning (durable).
  // On failure the staged writes stay staged.
  virtual Status flush(bool sync) = 0;
  // Drops the staged writes (a turn whose commit failed: nothing of it is kept, so a
  // store that keeps failing does not accumulate refused writes).
  virtual void discard_staged() = 0;
  // Ok, or why a write would fail now: a fault being treated (corruption, an I/O error),
  // or a disk below its free-space floor. Reads may still work.
  virtual Status health() const { return Status::ok(); }
  // Visits keys in [from, to) in order until `fn` returns false, the staged writes over
  // the committed rows (staged ones `fn` adds are not visited); commits nothing, so a
  // turn's writes commit together or not at all. An empty `to` means no upper bound.
  virtual Status scan(std::string_view from, std::string_view to, const ScanFn& fn) = 0;
  // scan() for a walk of the whole store (the key filter's build, the handoff sweep's
  // passes): what it reads does not
  // take the place of the rows requests use in the store's block cache.
  virtual Status walk(std::string_view from, std::string_view to, const ScanFn& fn) {
    return scan(from, to, fn);
  }
};

struct Message;

// Peer messages out. The shell frames and sends them; the simulator queues them.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void send(const std::string& to, const Message& message) = 0;
};

// One-shot timers: on_timer(timer_id) fires on the core after delay_ms.
class Timers {
 public:
  virtual ~Timers() = default;
  virtual void schedule(uint64_t timer_id, uint64_t delay_ms) = 0;
  // Forgets a scheduled timer (its request finished early), so a busy node does not
  // hold every request's timer until it would fire. Unknown or fired ids: no-op.
  virtual void cancel(uint64_t timer_id) = 0;
};

}  // namespace shoal::core
