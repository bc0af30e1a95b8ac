#include "node/uv/snapshot.h"

#include <cstdio>

#include "node/api/json.h"

namespace shoal::uvshell {

namespace {

MemberRow row_of(const core::Node& node, const std::string& node_id, core::MemberView v) {
  MemberRow row;
  row.self = v.state.id == node_id;
  row.ring_peer = !row.self && v.state.status != core::MemberStatus::kLeft &&
                  v.state.status != core::MemberStatus::kRemoved &&
                  node.ring().has_node(v.state.id);
  row.hints = row.self ? node.hints_held() : v.state.hints;
  row.handoff_keys = row.self ? node.handoff().not_owned : v.state.handoff_keys;
  row.view = std::move(v);
  return row;
}

using json::Json;

Json sync_json(const MemberRow& m) {
  if (!m.ring_peer) return nullptr;
  const core::PeerSync& sync = m.view.sync;
  return {{"in_sync", sync.in_sync},
          {"since_ms", sync.since_wall_ms},
          {"unconfirmed", sync.unconfirmed}};
}

Json member_json(const MemberRow& m) {
  const core::MemberView& v = m.view;
  return {{"id", json::bytes(v.state.id)},
          {"status", std::string(core::status_name(v.state.status))},
          {"self", m.self},
          {"down", v.down},
          {"phi", json::rounded(v.phi, 3)},
          {"ownership", json::rounded(v.ownership, 5)},
          {"generation", v.state.generation},
          {"hints", m.hints},
          {"hints_here", v.hints_here},
          {"handoff_keys", m.handoff_keys},
          {"client", json::bytes(v.state.client_address)},
          {"sync", sync_json(m)}};
}

}  // namespace

NodeSnapshot take_snapshot(const core::Node& node, const std::string& node_id,
                           const ShellCounts& shell) {
  NodeSnapshot s;
  s.node_id = node_id;
  s.client_address = shell.client_address;
  for (core::MemberView& v : node.members_view()) {
    s.members.push_back(row_of(node, node_id, std::move(v)));
  }
  s.members_known = node.membership().states().size();
  s.ring_size = node.ring().size();
  s.ring_fingerprint = node.ring().fingerprint();
  s.hints_held = node.hints_held();
  s.hints_replayed = node.hints_replayed();
  s.handoff = node.handoff();
  s.anti_entropy = node.anti_entropy();
  s.in_sync = node.in_sync();
  s.actor_renewals = node.counters().actor_renewals;
  s.duplicates_answered = node.counters().duplicates_answered;
  s.remove_followups = node.counters().remove_followups;
  s.sibling_warnings = node.counters().sibling_warnings;
  s.pending_requests = node.pending_requests();
  s.client_connections = shell.client_connections;
  s.chaos_dropped = node.faults().dropped;
  s.gossip_rounds = node.counters().gossip_rounds;
  s.traffic_requests = shell.traffic_requests;
  s.traffic_seconds = shell.traffic_seconds;
  s.read_repairs = node.counters().read_repairs;
  s.gap_refills = node.counters().gap_refills;
  s.store_scan_failures = node.store_scan_failures();
  s.key_filter_built = node.key_filter().built();
  s.key_filter_spared = node.key_filter().spared();
  s.store_bytes = shell.store_bytes;
  s.store = shell.store;
  s.store_resets = node.counters().store_resets;
  return s;
}

std::string status_json(const NodeSnapshot& s) {
  Json members = Json::array();
  for (const MemberRow& m : s.members) members.push_back(member_json(m));
  const core::HandoffProgress& h = s.handoff;
  // Hex, as `shoal cluster ring` prints it, so the two can be compared at a glance.
  char fingerprint[17];
  std::snprintf(fingerprint, sizeof fingerprint, "%016llx",
                static_cast<unsigned long long>(s.ring_fingerprint));
  const Json out = {
      {"node", json::bytes(s.node_id)},
      {"members", std::move(members)},
      {"ring", {{"size", s.ring_size}, {"fingerprint", fingerprint}}},
      {"hints", {{"held", s.hints_held}, {"replayed", s.hints_replayed}}},
      {"handoff",
       {{"active", h.active},
        {"not_owned", h.not_owned},
        {"sent", h.keys_sent},
        {"dropped", h.keys_dropped},
        {"inflight", h.inflight}}},
      {"anti_entropy",
       {{"exchanges", s.anti_entropy.exchanges}, {"keys_repaired", s.anti_entropy.keys_repaired}}},
      {"in_sync", s.in_sync},
      {"store",
       {{"healthy", s.store.fault.empty()},
        {"fault", json::bytes(s.store.fault)},
        {"faults", s.store.faults},
        {"repairs", s.store.repairs},
        {"reopens", s.store.reopens},
        {"treatments_failed", s.store.treatments_failed}}},
      {"actor_renewals", s.actor_renewals},
      {"duplicates_answered", s.duplicates_answered},
      {"remove_followups", s.remove_followups},
      {"sibling_warnings", s.sibling_warnings},
      {"pending_requests", s.pending_requests},
      {"client_connections", s.client_connections},
      {"traffic", {{"requests", s.traffic_requests}, {"seconds", s.traffic_seconds}}}};
  return json::dump(out);
}

std::string info_text(const NodeSnapshot& s) {
  std::string out = "# Server\r\nredis_version:7.0.0-shoal\r\nshoal_node:" + s.node_id +
                    "\r\nclient_address:" + s.client_address + "\r\n# Cluster\r\n";
  out += "ring_size:" + std::to_string(s.ring_size) + "\r\n";
  out += "members:" + std::to_string(s.members_known) + "\r\n";
  out += "hints_held:" + std::to_string(s.hints_held) + "\r\n";
  out += "pending_requests:" + std::to_string(s.pending_requests) + "\r\n";
  // The convergence signal: 1 when every ring peer's data is known equal here and no
  // hints or handoff are pending; then each peer's view.
  out += std::string("in_sync:") + (s.in_sync ? "1" : "0") + "\r\n";
  for (const MemberRow& m : s.members) {
    if (!m.ring_peer) continue;
    const core::MemberView& v = m.view;
    out += "peer_" + v.state.id + ":in_sync=" + (v.sync.in_sync ? "1" : "0") +
           ",unconfirmed=" + std::to_string(v.sync.unconfirmed) + ",down=" + (v.down ? "1" : "0") +
           ",hints_here=" + std::to_string(v.hints_here) + "\r\n";
  }
  out += "actor_renewals:" + std::to_string(s.actor_renewals) + "\r\n";
  out += std::string("store_healthy:") + (s.store.fault.empty() ? "1" : "0") + "\r\n";
  out += "store_repairs:" + std::to_string(s.store.repairs) + "\r\n";
  out += "duplicates_answered:" + std::to_string(s.duplicates_answered) + "\r\n";
  out += "remove_followups:" + std::to_string(s.remove_followups) + "\r\n";
  return out;
}

namespace {

api::MemberInfo member_info(const MemberRow& row) {
  const core::MemberView& v = row.view;
  api::MemberInfo m;
  m.id = v.state.id;
  m.status = std::string(core::status_name(v.state.status));
  m.peer_address = v.state.peer_address;
  m.client_address = v.state.client_address;
  m.generation = v.state.generation;
  m.down = v.down;
  m.phi = v.phi;
  m.ownership = v.ownership;
  m.hints_here = v.hints_here;
  m.hints = row.hints;
  m.handoff_keys = row.handoff_keys;
  if (row.ring_peer) {
    m.sync_known = true;
    m.in_sync = v.sync.in_sync;
    m.sync_since_ms = v.sync.since_wall_ms;
    m.unconfirmed = v.sync.unconfirmed;
  }
  return m;
}

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

}  // namespace

void fill_cluster_status(const NodeSnapshot& s, api::Response* r) {
  for (const MemberRow& row : s.members) r->members.push_back(member_info(row));
  const core::HandoffProgress& h = s.handoff;
  const core::AntiEntropyStats& ae = s.anti_entropy;
  r->stats = {{"actor_renewals", i64(s.actor_renewals)},
              {"ae_big_sets_deferred", i64(ae.big_sets_deferred)},
              {"ae_big_sets_sent_whole", i64(ae.big_sets_sent_whole)},
              {"ae_differences", i64(ae.differing_leaves)},
              {"ae_exchanges", i64(ae.exchanges)},
              {"ae_keys_repaired", i64(ae.keys_repaired)},
              {"ae_keys_sent", i64(ae.keys_sent)},
              {"ae_set_pages", i64(ae.set_pages)},
              {"ae_set_regions", i64(ae.set_regions)},
              {"ae_set_contexts_joined", i64(ae.set_contexts_joined)},
              {"ae_set_syncs", i64(ae.set_syncs)},
              {"chaos_dropped", i64(s.chaos_dropped)},
              {"duplicates_answered", i64(s.duplicates_answered)},
              {"remove_followups", i64(s.remove_followups)},
              {"sibling_warnings", i64(s.sibling_warnings)},
              {"gossip_rounds", i64(s.gossip_rounds)},
              {"handoff_active", h.active ? 1 : 0},
              {"handoff_dropped", i64(h.keys_dropped)},
              {"handoff_inflight", i64(h.inflight)},
              {"handoff_not_owned", i64(h.not_owned)},
              {"handoff_sent", i64(h.keys_sent)},
              {"hints_held", i64(s.hints_held)},
              {"hints_replayed", i64(s.hints_replayed)},
              {"in_sync", s.in_sync ? 1 : 0},
              {"ring_fingerprint", i64(s.ring_fingerprint)},
              {"ring_size", i64(s.ring_size)},
              {"store_healthy", s.store.fault.empty() ? 1 : 0},
              {"store_repairs", i64(s.store.repairs)},
              {"store_reopens", i64(s.store.reopens)}};
}

}  // namespace shoal::uvshell
