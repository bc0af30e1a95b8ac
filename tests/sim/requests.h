// Request builders and a synchronous call helper for simulator scenarios.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim.h"

namespace shoal::sim {

inline core::ClientRequest counter_add(const std::string& key, int64_t delta,
                                       core::RequestOptions o = {}) {
  core::ClientRequest r;
  r.op = core::ClientRequest::Op::kUpdate;
  r.bucket = "c";
  r.key = key;
  r.update.kind = core::Update::Kind::kCounterAdd;
  r.update.type = core::DataType::kCounter;
  r.update.delta = delta;
  r.options = o;
  return r;
}

inline core::ClientRequest set_add(const std::string& key, const std::string& element,
                                   core::RequestOptions o = {}) {
  core::ClientRequest r;
  r.op = core::ClientRequest::Op::kUpdate;
  r.bucket = "s";
  r.key = key;
  r.update.kind = core::Update::Kind::kSetAdd;
  r.update.type = core::DataType::kSet;
  r.update.elements = {element};
  r.options = o;
  return r;
}

inline core::ClientRequest set_remove(const std::string& key, const std::string& element,
                                      const crdt::DotContext& seen, core::RequestOptions o = {}) {
  core::ClientRequest r = set_add(key, element, o);
  r.update.kind = core::Update::Kind::kSetRemove;
  r.update.context = seen;
  return r;
}

// A register put in bucket "r" superseding what `seen` saw (nullopt: a blind write).
inline core::ClientRequest put(const std::string& key, const std::string& value,
                               std::optional<crdt::DotContext> seen, core::RequestOptions o = {}) {
  core::ClientRequest r;
  r.op = core::ClientRequest::Op::kUpdate;
  r.bucket = "r";
  r.key = key;
  r.update.kind = core::Update::Kind::kPut;
  r.update.type = core::DataType::kRegister;
  r.update.value = value;
  r.update.context = std::move(seen);
  r.options = o;
  return r;
}

inline core::ClientRequest read(const std::string& bucket, const std::string& key,
                                core::RequestOptions o = {}) {
  core::ClientRequest r;
  r.bucket = bucket;
  r.key = key;
  r.options = o;
  return r;
}

inline core::RequestOptions local() { return core::preset("LOCAL").value(); }

// Runs one request to completion (up to timeout_ms of simulated time); nullopt if no
// answer came (the coordinator was killed).
inline std::optional<core::ClientResponse> call(Sim& sim, const std::string& at,
                                                core::ClientRequest r,
                                                uint64_t timeout_ms = 6'000) {
  std::optional<core::ClientResponse> out;
  sim.client(at, std::move(r), [&out](core::ClientResponse a) { out = std::move(a); });
  const uint64_t until = sim.now_ms() + timeout_ms;
  while (!out && sim.now_ms() < until) sim.run_until(sim.now_ms() + 5);
  return out;
}

// The counter value a node holds LOCALly (nullopt: not found).
inline std::optional<int64_t> local_counter(Sim& sim, const std::string& at,
                                            const std::string& key) {
  auto r = call(sim, at, read("c", key, local()));
  if (!r || !r->status.is_ok() || !r->object) return std::nullopt;
  return r->object->as<crdt::PNCounter>()->read();
}

// Sends `r` through `via`, then runs the simulation until idle (at most run_ms).
inline std::optional<core::ClientResponse> run_one(Sim& sim, const std::string& via,
                                                   core::ClientRequest r, uint64_t run_ms = 2'000) {
  std::optional<core::ClientResponse> got;
  sim.client(via, std::move(r), [&got](core::ClientResponse a) { got = std::move(a); });
  sim.run_until_idle(run_ms);
  return got;
}

// One step of count_removes: a write, the counting remove (SREM, DEL) of what it wrote,
// and `gone`, which says whether a read's answer no longer holds the write.
struct RemoveStep {
  core::ClientRequest write;
  core::ClientRequest remove;
  core::ClientRequest read;  // sent at QUORUM
  std::function<bool(const core::ClientResponse&)> gone;
};

// What broke the promises of count_removes, and how many reads it made.
struct RemoveCheck {
  std::vector<std::string> violations;
  int reads = 0;
};

// Random traffic for removes that count: every 20 ms a write acknowledged through a random
// node, at once the counting remove of it through the next node (it must count 1), then a
// QUORUM read through the third (it must find the write gone). `step(i)` makes step i.
inline RemoveCheck count_removes(Sim& sim, int steps, const std::function<RemoveStep(int)>& step) {
  RemoveCheck out;
  for (int i = 0; i < steps; ++i) {
    sim.at(static_cast<uint64_t>(i) * 20, [&sim, &out, &step, i] {
      const uint64_t w = sim.rng().below(3);
      const std::string writer = "n" + std::to_string(1 + w);
      const std::string remover = "n" + std::to_string(1 + (w + 1) % 3);
      const std::string reader = "n" + std::to_string(1 + (w + 2) % 3);
      auto s = std::make_shared<RemoveStep>(step(i));
      s->read.options.r = core::QuorumSpec::quorum();
      const std::string what = s->write.bucket + "/" + s->write.key + " step " + std::to_string(i);
      auto& bad = out.violations;
      sim.client(
          writer, s->write, [&sim, &out, &bad, s, remover, reader, what](core::ClientResponse a) {
            if (!a.status.is_ok())
              return bad.push_back("write " + what + ": " + a.status.to_string());
            sim.client(
                remover, s->remove, [&sim, &out, &bad, s, reader, what](core::ClientResponse r) {
                  if (!r.status.is_ok())
                    return bad.push_back("rm " + what + ": " + r.status.to_string());
                  if (r.removed != std::optional<uint32_t>(1))
                    bad.push_back("remove of acked " + what + " counted " +
                                  std::to_string(r.removed.value_or(99)));
                  sim.client(reader, s->read, [&out, &bad, s, what](core::ClientResponse got) {
                    ++out.reads;
                    if (!s->gone(got)) bad.push_back("read after an acked remove holds " + what);
                  });
                });
          });
    });
  }
  sim.run_until_idle(60'000);
  return out;
}

}  // namespace shoal::sim
