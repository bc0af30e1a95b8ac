// OpLog: the operation ids a key has applied, so a retried update takes effect once.
//
// A client may give an update an operation id (Update::op_id); every attempt of that
// operation, through any coordinator, carries the same id. The replica that mints an
// update with an id records it in the key's log: which mint it was (the dot it minted,
// or for a counter its actor and total), what the update was (a fingerprint), and when.
// The log is part of the key's object, so it travels wherever the data goes: deltas,
// hints, handoff, anti-entropy and read repair all carry it, and logs join by union.
//
//  - A minter that finds the id in its log does not mint again: it answers from the
//    state that already holds the first attempt (ClientResponse::duplicate).
//  - Two replicas that minted the same operation without knowing of each other (a
//    partition, a lost message, a coordinator that died after forwarding) both record
//    their mint; wherever the two records meet, every mint but the smallest is
//    cancelled deterministically (object.h): a counter gets a compensating entry, a
//    register loses the duplicate sibling. A set add or remove repeated is harmless by
//    construction (the element is present once either way), so sets are not cancelled.
//
// Records are kept for the op window (ClusterOptions::op_window_ms, default 6 h, at least
// the hint window) and at most kMaxRecords per key (the oldest go first); attempts of
// one operation that meet within that window take effect once (docs/semantics.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/codec.h"
#include "crdt/dot.h"
#include "crdt/status.h"

namespace shoal::core {

struct Update;

// The log's key for an operation id: XXH3-64 of its bytes (never 0).
uint64_t op_key(std::string_view op_id);
// What the update does, independent of where it is applied (an id reused for another
// update is refused, and only mints of the same update cancel each other).
uint64_t update_fingerprint(const Update& u);

// One application of an identified update, on one replica.
struct Mint {
  crdt::Dot id;                 // names it: the dot it minted; a counter add: (actor,
                                // increments + decrements of that actor after it)
  uint64_t fingerprint = 0;     // update_fingerprint()
  int64_t delta = 0;            // counter adds: the amount
  std::vector<crdt::Dot> dots;  // set adds: the dots minted; set removes: the dots removed
  bool operator==(const Mint&) const = default;
};

struct OpRecord {
  uint64_t first_ms = 0;            // wall clock of the earliest mint known (expiry)
  std::map<crdt::Dot, Mint> mints;  // by Mint::id
  bool operator==(const OpRecord&) const = default;
  // A mint of the same update (fingerprint), or null.
  const Mint* matching(uint64_t fingerprint) const;
};

class OpLog {
 public:
  static constexpr size_t kMaxRecords = 100'000;  // per key
  static constexpr size_t kMaxMintsPerRecord = 64;

  const OpRecord* find(uint64_t key) const;
  // Records a mint of operation `key` at wall time now_ms.
  void add(uint64_t key, uint64_t now_ms, Mint mint);
  // The union (the earliest first_ms). `changed` (may be null) gets the keys whose
  // record changed here.
  void join(const OpLog& other, std::vector<uint64_t>* changed);
  // Drops records first seen before cutoff_ms, then the oldest beyond kMaxRecords;
  // `dropped` (may be null) gets their keys.
  void prune(uint64_t cutoff_ms, std::vector<uint64_t>* dropped);
  // The mints of operation `key` to cancel: of each group with the same fingerprint,
  // every mint but the one with the smallest id.
  std::vector<const Mint*> losers(uint64_t key) const;

  const std::map<uint64_t, OpRecord>& records() const { return records_; }
  bool empty() const { return records_.empty(); }
  size_t size() const { return records_.size(); }
  size_t approx_bytes() const { return bytes_; }
  bool operator==(const OpLog& o) const { return records_ == o.records_; }

  // [[key, first_ms, [mint...]], ...]; a mint is [actor, counter, fingerprint, delta,
  // [a1, c1, a2, c2, ...]]. Decoding checks the limits and the order.
  void encode_to(crdt::codec::Packer& pk) const;
  static Status decode_from(const crdt::codec::Object& o, OpLog* out);
  // One record alone (the store keeps one row per record: keys.h).
  static std::string encode_record(const OpRecord& r);
  static Result<OpRecord> decode_record(std::string_view bytes);
  // Inserts a record read from the store. REQUIRES: key not present.
  Status insert(uint64_t key, OpRecord record);

 private:
  static size_t record_bytes(const OpRecord& r);
  std::map<uint64_t, OpRecord> records_;
  size_t bytes_ = 0;
};

}  // namespace shoal::core
