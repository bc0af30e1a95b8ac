// Read-your-writes through another coordinator: with R + W > N, a QUORUM read issued
// right after a QUORUM write was acknowledged must see it, even when the read's first
// answers come from replicas other than the writer. (The partition scenario cannot
// catch a coordinator that acknowledges too early: there every read includes the
// writer.) Each run is one seed; a failure names it.
#include <catch2/catch.hpp>
#include <functional>

#include "sim.h"

namespace shoal::sim {
namespace {

using core::ClientRequest;
using core::ClientResponse;
using core::Update;

struct Result {
  int acked = 0, checked = 0, readded = 0, extra = 0;
  uint64_t timers_scheduled = 0, timers_cancelled = 0;
  std::vector<std::string> violations;
};

// A set add acknowledged by W replicas, added again through another coordinator: some
// replica of the second write's quorum held it, so SADD's count (ClientResponse::added)
// must say 0, as a read first would have; the first add of a fresh member says 1.
void readd(Sim& sim, Result& out, const std::string& via, const ClientRequest& w,
           std::function<void()> next) {
  sim.client(via, w, [&out, key = w.key, value = w.update.elements[0], next](ClientResponse r) {
    ++out.readded;
    next();
    if (!r.status.is_ok())
      return out.violations.push_back("re-add failed: " + r.status.to_string());
    if (r.added != std::optional<uint32_t>(0)) {
      out.violations.push_back("re-add of acked " + key + "/" + value + " counted " +
                               std::to_string(r.added.value_or(99)) + " new");
    }
  });
}

// SREM as RESP runs it (a quorum read of the member, then a remove with the context
// read), acknowledged; then SADD of the member through `add_via`: a read first would
// find it removed, so the count is 1, even when the minter has not seen the remove yet
// (a replica that has vetoes the minter's flag). On a key of its own: a read repair of
// another request could bring the SADD itself to a replica before its merge, and that
// replica could then not tell the remove from the SADD's own superseding (docs/resp.md).
void remove_then_add(Sim& sim, Result& out, const std::string& remove_via,
                     const std::string& add_via, const ClientRequest& w) {
  ClientRequest probe;
  probe.bucket = w.bucket;
  probe.key = w.key;
  probe.elements = w.update.elements;
  ++out.extra;
  sim.client(remove_via, probe, [&sim, &out, remove_via, add_via, w](ClientResponse got) {
    if (!got.status.is_ok() || !got.object) {
      return out.violations.push_back("read before remove: " + got.status.to_string());
    }
    ClientRequest rm = w;
    rm.update.kind = Update::Kind::kSetRemove;
    rm.update.context = got.object->as<crdt::ORSet>()->context();
    ++out.extra;
    sim.client(remove_via, rm, [&sim, &out, add_via, w](ClientResponse removed) {
      if (!removed.status.is_ok()) {
        return out.violations.push_back("remove failed: " + removed.status.to_string());
      }
      ++out.extra;
      sim.client(add_via, w, [&out, key = w.key, value = w.update.elements[0]](ClientResponse r) {
        if (r.status.is_ok() && r.added != std::optional<uint32_t>(1)) {
          out.violations.push_back("add after an acked remove of " + key + "/" + value +
                                   " counted " + std::to_string(r.added.value_or(99)) + " new");
        }
      });
    });
  });
}

Result run(uint64_t seed, uint32_t dup_pct = 5) {
  Sim sim(SimOptions{seed, 3, 1, 30, /*loss_pct=*/0, dup_pct, 256});
  Result out;
  for (int i = 0; i < 200; ++i) {
    sim.at(static_cast<uint64_t>(i) * 25, [&sim, &out, i, dup_pct] {
      const std::string writer = "n" + std::to_string(1 + sim.rng().below(3));
      const std::string reader = writer == "n1" ? (sim.rng().chance(1, 2) ? "n2" : "n3") : "n1";
      const std::string key = "k" + std::to_string(sim.rng().below(5));
      const bool is_set = sim.rng().chance(1, 2);
      ClientRequest w;
      w.op = ClientRequest::Op::kUpdate;
      w.bucket = is_set ? "sets" : "regs";
      w.key = key;
      w.update.kind = is_set ? Update::Kind::kSetAdd : Update::Kind::kPut;
      const std::string value = "v" + std::to_string(i);
      if (is_set) {
        w.update.type = core::DataType::kSet;
        w.update.elements = {value};
      } else {
        w.update.value = value;
      }
      sim.client(
          writer, w,
          [&sim, &out, reader, writer, w, key, value, is_set, dup_pct](ClientResponse r) {
            const std::string bucket = w.bucket;
            if (!r.status.is_ok()) {
              out.violations.push_back("write failed: " + r.status.to_string());
              return;
            }
            ++out.acked;
            if (is_set && r.added != std::optional<uint32_t>(1)) {
              out.violations.push_back("first add of " + key + "/" + value + " counted " +
                                       std::to_string(r.added.value_or(99)) + " new");
            }
            ClientRequest g;
            g.bucket = bucket;
            g.key = key;
            // The read, then (sets) the re-add, then the remove and the add after it: each
            // once the one before was answered.
            auto then = [&sim, &out, reader, writer, w, is_set, dup_pct] {
              if (!is_set) return;
              readd(sim, out, reader, w, [] {});
              if (dup_pct != 0) return;
              ClientRequest solo = w;  // the same member in a key nothing else touches
              solo.key = "solo-" + w.update.elements[0];
              ++out.extra;
              sim.client(writer, solo, [&sim, &out, reader, writer, solo](ClientResponse first) {
                if (!first.status.is_ok()) return;
                readd(sim, out, reader, solo, [&sim, &out, reader, writer, solo] {
                  remove_then_add(sim, out, reader, writer, solo);
                });
              });
            };
            sim.client(reader, g, [&out, bucket, key, value, is_set, then](ClientResponse got) {
              ++out.checked;
              bool seen = false;
              if (got.status.is_ok() && is_set) {
                seen = got.object->as<crdt::ORSet>()->contains(value);
              } else if (got.status.is_ok()) {
                auto vals = got.object->as<crdt::DvvSet>()->values();
                seen = std::find(vals.begin(), vals.end(), value) != vals.end();
              }
              if (!seen)
                out.violations.push_back("read missed acked " + bucket + "/" + key + "=" + value);
              then();
            });
          });
    });
  }
  sim.run_until_idle(60'000);
  out.timers_scheduled = sim.timers_scheduled();
  out.timers_cancelled = sim.timers_cancelled();
  return out;
}

TEST_CASE("a quorum read through another node sees the acked quorum write (100 seeds)", "[sim]") {
  for (uint64_t seed : scenario_seeds(100)) {
    Result out = run(seed);
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    for (const auto& v : out.violations) UNSCOPED_INFO(v);
    REQUIRE(out.violations.empty());
    REQUIRE(out.acked == 200);
    REQUIRE(out.checked == 200);
    // Every request finished before its timeout, so each cancelled its timer.
    REQUIRE(out.timers_scheduled == 400 + static_cast<uint64_t>(out.readded + out.extra));
    REQUIRE(out.timers_cancelled == 400 + static_cast<uint64_t>(out.readded + out.extra));
  }
}

TEST_CASE("SADD counts a fresh member once and an acked one never again (30 seeds)", "[sim]") {
  for (uint64_t seed : scenario_seeds(30)) {
    Result out = run(seed, /*dup_pct=*/0);
    INFO("replay with: SHOAL_SIM_SEED=" << seed << " build/test/tests/sim_tests");
    for (const auto& v : out.violations) UNSCOPED_INFO(v);
    REQUIRE(out.violations.empty());
    REQUIRE(out.readded > 50);
  }
}

}  // namespace
}  // namespace shoal::sim
