#include "node/uv/metrics.h"

#include <array>
#include <cstdio>
#include <string_view>
#include <utility>

#include "crdt/assert.h"

namespace shoal::uvshell {

namespace {

bool same_quorums(const core::RequestOptions& a, const core::RequestOptions& b) {
  return a.local == b.local && a.n == b.n && a.r == b.r && a.w == b.w && a.pr == b.pr &&
         a.pw == b.pw;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

void header(std::string* out, const char* name, const char* type, const char* help) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string* out, const std::string& name, const std::string& labels, double v) {
  *out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + fmt(v) + "\n";
}

std::string label(const char* k, std::string_view v) {
  std::string escaped;
  for (char c : v) {
    if (c == '\\' || c == '"') escaped.push_back('\\');
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped.push_back(c);
  }
  return std::string(k) + "=\"" + escaped + "\"";
}

}  // namespace

Metrics::Consistency Metrics::consistency_of(const core::RequestOptions& o) {
  // Per request: compare against the presets parsed once.
  static const std::array<std::pair<core::RequestOptions, Consistency>, 4> kPresets = {{
      {core::preset("ONE").value(), Consistency::kOne},
      {core::preset("QUORUM").value(), Consistency::kQuorum},
      {core::preset("ALL").value(), Consistency::kAll},
      {core::preset("LOCAL").value(), Consistency::kLocal},
  }};
  for (const auto& [preset, c] : kPresets) {
    if (same_quorums(o, preset)) return c;
  }
  return Consistency::kCustom;
}

std::string_view Metrics::consistency_name(Consistency c) {
  static constexpr std::array<std::string_view, kConsistencies> kNames = {"one", "quorum", "all",
                                                                          "local", "custom"};
  return kNames[static_cast<size_t>(c)];
}

void Metrics::observe(api::Op op, Consistency consistency, Code code, double seconds) {
  const auto o = static_cast<size_t>(op), c = static_cast<size_t>(consistency);
  const auto k = static_cast<size_t>(code);
  SHOAL_ASSERT(o < kOps && c < kConsistencies && k < kCodes, "a known op, consistency and code");
  ++counts_[(o * kConsistencies + c) * kCodes + k];
  Histogram& h = latency_[o * kConsistencies + c];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
  ++requests_;
  seconds_ += seconds;
}

namespace {

// Anti-entropy's counters (docs/cluster.md).
void anti_entropy_samples(const NodeSnapshot& s, std::string* out) {
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    header(out, name, "counter", help);
    sample(out, name, "", static_cast<double>(v));
  };
  counter("shoal_anti_entropy_exchanges_total", "Anti-entropy exchanges started by this node.",
          s.anti_entropy.exchanges);
  counter("shoal_anti_entropy_keys_repaired_total", "Keys changed here by anti-entropy.",
          s.anti_entropy.keys_repaired);
  counter("shoal_anti_entropy_big_sets_deferred_total",
          "Big sets in differing leaves left until their writes stop.",
          s.anti_entropy.big_sets_deferred);
  counter("shoal_anti_entropy_set_syncs_total",
          "Big sets repaired member by member, a page at a time.", s.anti_entropy.set_syncs);
  counter("shoal_anti_entropy_set_pages_total", "Pages of big sets swapped with a peer.",
          s.anti_entropy.set_pages);
  counter("shoal_anti_entropy_set_regions_total",
          "Regions of big sets read in repairs: runs of spans whose digests differed (or the "
          "whole set when either side keeps no spans; the head alone when all agree).",
          s.anti_entropy.set_regions);
  counter("shoal_anti_entropy_set_contexts_joined_total",
          "Big-set repairs that ended joining the peer's context (replicas agreed).",
          s.anti_entropy.set_contexts_joined);
  counter("shoal_anti_entropy_big_sets_sent_whole_total",
          "Big sets shipped whole (their member digest not kept yet).",
          s.anti_entropy.big_sets_sent_whole);
}

void node_samples(const NodeSnapshot& s, std::string* out) {
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    header(out, name, "counter", help);
    sample(out, name, "", static_cast<double>(v));
  };
  auto gauge = [&](const char* name, const char* help, double v) {
    header(out, name, "gauge", help);
    sample(out, name, "", v);
  };
  counter("shoal_read_repairs_total", "Stale replicas repaired by reads.", s.read_repairs);
  counter("shoal_delta_gap_refills_total",
          "Counter deltas a replica refused for missed adds, sent again as the minter's state.",
          s.gap_refills);
  counter("shoal_store_scan_failures_total",
          "Store scans that failed (read error or corruption); the work waits for a retry.",
          s.store_scan_failures);
  gauge("shoal_key_filter_built",
        "1 once the key filter walked the store: reads of keys it never heard of skip LevelDB.",
        s.key_filter_built ? 1 : 0);
  counter("shoal_key_filter_spared_reads_total",
          "Store reads the key filter spared (keys and set members it knew absent).",
          s.key_filter_spared);
  gauge("shoal_hints_held", "Hints this node holds for down replicas.",
        static_cast<double>(s.hints_held));
  counter("shoal_hints_replayed_total", "Hints delivered to their owners.", s.hints_replayed);
  counter("shoal_gossip_rounds_total", "Gossip rounds started by this node.", s.gossip_rounds);
  anti_entropy_samples(s, out);
  counter("shoal_handoff_keys_sent_total", "Keys sent to their new owners.", s.handoff.keys_sent);
  counter("shoal_handoff_keys_dropped_total", "Keys dropped after every owner acknowledged them.",
          s.handoff.keys_dropped);
  gauge("shoal_store_bytes", "Approximate size of this node's LevelDB.",
        static_cast<double>(s.store_bytes));
  gauge("shoal_store_healthy",
        "1 when the store works; 0 while a fault (corruption, I/O error) is being treated.",
        s.store.fault.empty() ? 1 : 0);
  counter("shoal_store_faults_total", "Store faults found (corruption or I/O error).",
          s.store.faults);
  counter("shoal_store_repairs_total",
          "LevelDB repairs run after a corruption (damaged tables moved to lost/).",
          s.store.repairs);
  counter("shoal_store_reopens_total", "Database reopens after an I/O error.", s.store.reopens);
  counter("shoal_store_treatments_failed_total",
          "Repairs or reopens that failed (retried with back-off).", s.store.treatments_failed);
  gauge("shoal_pending_requests", "Requests this node coordinates right now.",
        static_cast<double>(s.pending_requests));
  gauge("shoal_client_connections", "Open client connections (native, RESP, HTTP).",
        static_cast<double>(s.client_connections));
  gauge("shoal_ring_nodes", "Nodes in this node's ring.", static_cast<double>(s.ring_size));
  counter("shoal_actor_renewals_total",
          "New actors taken because a peer held more of this node's history than it did.",
          s.actor_renewals);
  counter("shoal_duplicates_answered_total",
          "Updates answered from an earlier attempt of the same operation id.",
          s.duplicates_answered);
  counter("shoal_remove_followups_total",
          "Set removes without a context that read the members and removed again "
          "(a replica held an add their minter had not seen).",
          s.remove_followups);
  counter("shoal_sibling_warnings_total",
          "Register writes minted here that left 25 or more siblings (refused past 100).",
          s.sibling_warnings);
  gauge("shoal_in_sync",
        "1 when the data this node shares with every ring peer is known equal and no hints "
        "or handoff are pending here, else 0.",
        s.in_sync ? 1 : 0);
}

void peer_samples(const NodeSnapshot& s, std::string* out) {
  header(out, "shoal_peer_phi", "gauge", "This node's phi-accrual suspicion of each peer.");
  std::string up, sync, unconfirmed;
  for (const MemberRow& m : s.members) {
    if (m.self) continue;
    const core::MemberView& v = m.view;
    sample(out, "shoal_peer_phi", label("peer", v.state.id), v.phi);
    up += "shoal_peer_up{" + label("peer", v.state.id) + "} " + (v.down ? "0" : "1") + "\n";
    if (!m.ring_peer) continue;  // only ring peers are compared
    sync += "shoal_peer_in_sync{" + label("peer", v.state.id) + "} " +
            (v.sync.in_sync ? "1" : "0") + "\n";
    unconfirmed += "shoal_peer_unconfirmed_segments{" + label("peer", v.state.id) + "} " +
                   std::to_string(v.sync.unconfirmed) + "\n";
  }
  header(out, "shoal_peer_up", "gauge", "1 when this node holds the peer up, else 0.");
  *out += up;
  header(out, "shoal_peer_in_sync", "gauge",
         "1 when the data this node shares with the ring peer is known equal, else 0.");
  *out += sync;
  header(out, "shoal_peer_unconfirmed_segments", "gauge",
         "Anti-entropy segments (of 256) not yet known equal with the ring peer.");
  *out += unconfirmed;
}

}  // namespace

std::string Metrics::render(const NodeSnapshot& s) const {
  std::string out;
  header(&out, "shoal_requests_total", "counter",
         "Client requests answered, by operation, consistency and result code.");
  // In the order of their names, as before they were array cells.
  std::map<std::tuple<std::string_view, std::string_view, std::string_view>, uint64_t> counts;
  std::map<std::pair<std::string_view, std::string_view>, const Histogram*> latency;
  for (size_t o = 0; o < kOps; ++o) {
    for (size_t c = 0; c < kConsistencies; ++c) {
      const std::string_view op = api::op_name(static_cast<api::Op>(o));
      const std::string_view cons = consistency_name(static_cast<Consistency>(c));
      for (size_t k = 0; k < kCodes; ++k) {
        const uint64_t n = counts_[(o * kConsistencies + c) * kCodes + k];
        if (n > 0) counts[{op, cons, code_name(static_cast<Code>(k))}] = n;
      }
      const Histogram& h = latency_[o * kConsistencies + c];
      if (h.count > 0) latency[{op, cons}] = &h;
    }
  }
  for (const auto& [k, v] : counts) {
    const auto& [op, cons, code] = k;
    sample(&out, "shoal_requests_total",
           label("op", op) + "," + label("consistency", cons) + "," + label("code", code),
           static_cast<double>(v));
  }
  header(&out, "shoal_request_duration_seconds", "histogram",
         "Client request latency at this coordinator, by operation and consistency.");
  for (const auto& [k, hp] : latency) {
    const Histogram& h = *hp;
    const std::string base = label("op", k.first) + "," + label("consistency", k.second);
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      sample(&out, "shoal_request_duration_seconds_bucket",
             base + "," + label("le", fmt(kBuckets[i])), static_cast<double>(h.buckets[i]));
    }
    sample(&out, "shoal_request_duration_seconds_bucket", base + ",le=\"+Inf\"",
           static_cast<double>(h.count));
    sample(&out, "shoal_request_duration_seconds_sum", base, h.sum);
    sample(&out, "shoal_request_duration_seconds_count", base, static_cast<double>(h.count));
  }
  node_samples(s, &out);
  peer_samples(s, &out);
  return out;
}

}  // namespace shoal::uvshell
