// NodeSnapshot: what a node reports about itself and its view of the cluster, read from
// the core once and rendered four ways: the native `cluster_status` answer (the CLI),
// HTTP /status (JSON), RESP INFO and /metrics (Metrics::render). One reading keeps them
// in agreement.
//
// take_snapshot() only reads; the renderings are pure functions of the snapshot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/api/protocol.h"
#include "node/core/node.h"

namespace shoal::uvshell {

struct MemberRow {
  core::MemberView view;
  bool self = false;
  // A member whose co-owned data this node compares (view.sync applies): in the ring,
  // not this node, not left or removed.
  bool ring_peer = false;
  uint64_t hints = 0;         // hints held for others by that member (this node: exact)
  uint64_t handoff_keys = 0;  // keys it holds but does not own (this node: exact)
};

// The store's health as the StoreDoctor sees it (node/store/store_doctor.h).
struct StoreHealth {
  std::string fault;  // empty: healthy
  uint64_t faults = 0, repairs = 0, reopens = 0, treatments_failed = 0;
};

struct NodeSnapshot {
  std::string node_id;
  std::string client_address;
  std::vector<MemberRow> members;
  uint64_t members_known = 0;  // membership entries, left and removed ones included
  uint64_t ring_size = 0;
  uint64_t ring_fingerprint = 0;
  uint64_t hints_held = 0;
  uint64_t hints_replayed = 0;
  core::HandoffProgress handoff;
  core::AntiEntropyStats anti_entropy;
  bool in_sync = false;
  uint64_t actor_renewals = 0;
  uint64_t duplicates_answered = 0;
  uint64_t remove_followups = 0;  // counting removes that read and removed again
  uint64_t sibling_warnings = 0;  // writes that left 25 or more siblings (core/update.h)
  uint64_t pending_requests = 0;
  uint64_t client_connections = 0;
  uint64_t chaos_dropped = 0;
  uint64_t gossip_rounds = 0;
  uint64_t traffic_requests = 0;  // client requests answered since start
  double traffic_seconds = 0;     // their summed latency
  uint64_t read_repairs = 0;
  uint64_t gap_refills = 0;
  uint64_t store_scan_failures = 0;
  bool key_filter_built = false;
  uint64_t key_filter_spared = 0;  // store reads the key filter spared
  uint64_t store_bytes = 0;        // LevelDB's approximate size (0 unless taken for /metrics)
  StoreHealth store;
  uint64_t store_resets = 0;  // times the node forgot its caches after a treatment
};

struct ShellCounts {
  std::string client_address;
  uint64_t client_connections = 0;
  uint64_t traffic_requests = 0;
  double traffic_seconds = 0;
  uint64_t store_bytes = 0;
  StoreHealth store;
};

NodeSnapshot take_snapshot(const core::Node& node, const std::string& node_id,
                           const ShellCounts& shell);

// HTTP /status: one JSON object (docs/operations.md).
std::string status_json(const NodeSnapshot& s);
// RESP INFO: "# Section" headers and key:value lines, CRLF-separated.
std::string info_text(const NodeSnapshot& s);
// The members and stats of a `cluster_status` answer (docs/protocol.md).
void fill_cluster_status(const NodeSnapshot& s, api::Response* r);

}  // namespace shoal::uvshell
