#include "tools/check_workload.h"

#include <chrono>
#include <map>
#include <thread>

#include "crdt/prng.h"
#include "ring/ring.h"

namespace shoal::check {

namespace {

using Clock = std::chrono::steady_clock;

// True when no node holds hints or keys it must hand off (all running nodes answered).
bool drained(client::LocalCluster& c) {
  for (const client::LocalNode& n : c.nodes) {
    auto cl = client::connect_env(n.host, n.client_port, 1000);
    if (!cl) return false;
    auto st = (*cl)->cluster_status();
    if (!st || !st->status.is_ok()) return false;
    for (const auto& [name, value] : st->stats) {
      if ((name == "hints_held" || name == "handoff_not_owned") && value != 0) return false;
    }
  }
  return true;
}

// LOCAL reads of every key at each of its replicas.
Result<std::vector<Event>> final_reads(client::LocalCluster& c, const std::string& bucket,
                                       uint32_t keys) {
  std::vector<std::string> ids;
  for (const client::LocalNode& n : c.nodes) ids.push_back(n.id);
  const ring::Ring ring(ids, c.vnodes);
  core::RequestOptions local = core::preset("LOCAL").value();
  std::vector<Event> out;
  for (uint32_t k = 0; k < keys; ++k) {
    for (const std::string& key : {"c" + std::to_string(k), "s" + std::to_string(k)}) {
      for (const std::string& owner : ring.preference_list(ring::key_hash(bucket, key), 3)) {
        const client::LocalNode* n = c.find(owner);
        auto cl = client::connect_env(n->host, n->client_port, 2000);
        if (!cl) return cl.status();
        auto r = key[0] == 'c' ? (*cl)->counter_get(bucket, key, local)
                               : (*cl)->set_get(bucket, key, local);
        if (!r) return r.status();
        Event e;
        e.type = EventType::kRead;
        e.f = key[0] == 'c' ? "counter" : "set";
        e.key = key;
        e.node = owner;
        e.found = r->status.is_ok();
        e.counter = r->counter;
        e.values = r->elements;
        out.push_back(std::move(e));
      }
    }
  }
  return out;
}

bool converged(const std::vector<Event>& reads) {
  std::map<std::string, const Event*> first;
  for (const Event& r : reads) {
    auto [it, fresh] = first.emplace(r.key, &r);
    if (!fresh && (it->second->found != r.found || it->second->counter != r.counter ||
                   it->second->values != r.values)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool Workload::connect_next(Conn& conn) {
  while (!conn.c) {
    conn.node = (conn.node + 1) % cluster.nodes.size();
    const client::LocalNode& n = cluster.nodes[conn.node];
    auto got = client::connect_env(n.host, n.client_port, 500);
    if (got) {
      conn.c = std::move(got).value();
    } else {
      if (stop) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return true;
}

void Workload::client_loop(uint32_t process) {
  Prng rng(o.seed * 7919 + process);
  Conn conn{nullptr, process % cluster.nodes.size()};
  std::vector<std::string> mine;
  uint64_t seq = 0;
  while (!stop) {
    if (!connect_next(conn)) break;
    const std::string key = std::to_string(rng.below(o.keys));
    const uint64_t pick = rng.below(100);
    const std::string op_id = "p" + std::to_string(process) + "-" + std::to_string(++seq);
    if (pick < 50) {
      const int64_t delta = rng.range(-2, 5) | 1;
      api::Request r = request(api::Op::kCounterAdd, "c" + key, op_id);
      r.delta = delta;
      Event e = event(process, "counter_add", "c" + key, op_id);
      e.delta = delta;
      run_op(conn, std::move(r), std::move(e));
    } else if (pick < 85 || mine.empty()) {
      const std::string elem = "p" + std::to_string(process) + "-" + std::to_string(seq);
      api::Request r = request(api::Op::kSetAdd, "s" + key, op_id);
      r.elements = {elem};
      Event e = event(process, "set_add", "s" + key, op_id);
      e.element = elem;
      run_op(conn, std::move(r), std::move(e));
      mine.push_back("s" + key + "/" + elem);
    } else {
      const std::string& pickd = mine[rng.below(mine.size())];
      remove_seen(conn, process, pickd.substr(0, pickd.find('/')),
                  pickd.substr(pickd.find('/') + 1), op_id);
    }
  }
}

api::Request Workload::request(api::Op op, const std::string& key, const std::string& op_id) const {
  api::Request r;
  r.op = op;
  r.bucket = bucket;
  r.key = key;
  r.options = o.options;
  r.op_id = op_id;
  return r;
}

Event Workload::event(uint32_t process, const std::string& f, const std::string& key,
                      const std::string& op_id) {
  Event e;
  e.process = process;
  e.f = f;
  e.key = key;
  e.op_id = op_id;
  return e;
}

void Workload::run_op(Conn& conn, const api::Request& r, Event e) {
  for (uint32_t attempt = 1; attempt <= std::max(1u, o.attempts); ++attempt) {
    if (!connect_next(conn)) return;
    Event in = e;
    in.type = EventType::kInvoke;
    in.op = rec.next_op();
    in.node = cluster.nodes[conn.node].id;
    rec.add(in);
    const Result<api::Response> got = conn.c->call(r);
    const EventType t = complete(std::move(in), got);
    if (!got) conn.c.reset();  // no answer on this connection: it is unusable now
    const Code code = got ? got->status.code() : Code::kTimeout;
    if (!worth_retrying(t, code)) return;
    conn.c.reset();  // the next attempt goes through another node
  }
}

EventType Workload::complete(Event e, const Result<api::Response>& r) {
  if (!r) {
    e.type = EventType::kInfo;
    e.detail = r.status().to_string();
  } else {
    e.type = classify(r->status);
    if (!r->status.is_ok()) e.detail = r->status.to_string();
    if (r->status.is_ok() && r->duplicate) e.detail = "duplicate";
  }
  const EventType t = e.type;
  rec.add(std::move(e));
  return t;
}

void Workload::remove_seen(Conn& conn, uint32_t p, const std::string& key, const std::string& elem,
                           const std::string& op_id) {
  Result<api::Response> seen = conn.c->set_get(bucket, key, o.options, {elem});
  if (!seen) {
    conn.c.reset();
    return;
  }
  if (!seen->status.is_ok() || !seen->context || seen->elements.empty()) return;
  api::Request r = request(api::Op::kSetRemove, key, op_id);
  r.elements = {elem};
  r.context = seen->context;
  Event e = event(p, "set_remove", key, op_id);
  e.element = elem;
  Result<crdt::DotContext> dc = crdt::DotContext::decode(*seen->context);
  if (dc) e.ctx = std::move(dc).value();
  run_op(conn, std::move(r), std::move(e));
}

Result<std::vector<Event>> settle_and_read(const CheckOptions& o, client::LocalCluster& c,
                                           const std::string& bucket, Recorder& rec) {
  const auto deadline = Clock::now() + std::chrono::seconds(o.quiet_limit_s);
  int agreeing = 0;
  Result<std::vector<Event>> reads = Status::unavailable("no read yet");
  while (Clock::now() < deadline && agreeing < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    reads = final_reads(c, bucket, o.keys);
    agreeing = reads && converged(*reads) && drained(c) ? agreeing + 1 : 0;
  }
  rec.nemesis("settled", agreeing >= 2 ? "replicas agree" : "gave up waiting");
  return reads;
}

}  // namespace shoal::check
