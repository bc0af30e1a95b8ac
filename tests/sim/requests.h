// Request builders and a synchronous call helper for simulator scenarios.
#pragma once

#include <optional>
#include <string>

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

}  // namespace shoal::sim
