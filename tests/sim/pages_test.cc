// Set pages (SetPage) read from replicas that hold different members: every member once,
// in byte order. The coordinator cuts each replica's page where the first full page ends
// before joining them (Node::merge_page); a page that covers more, joined uncut, brings
// members past the cut that the next page brings again.
#include <algorithm>
#include <catch2/catch.hpp>

#include "requests.h"
#include "sim.h"

namespace shoal::sim {
namespace {

core::RequestOptions preset(const char* name) {
  core::RequestOptions o = core::preset(name).value();
  o.timeout_ms = 2'000;
  return o;
}

std::string member(int i, const char* suffix = "") {
  return "m" + std::string(i < 10 ? "0" : "") + std::to_string(i) + suffix;
}

void add(Sim& sim, const std::string& at, const std::string& m, const char* consistency) {
  auto r = call(sim, at, set_add("big", m, preset(consistency)));
  REQUIRE(r.has_value());
  REQUIRE(r->status.is_ok());
}

TEST_CASE("set pages from replicas that hold different members give every member once, in order",
          "[sim][page]") {
  SimOptions o;
  o.cluster.ae_interval_ms = 0;  // the replicas stay different
  Sim sim(o);
  sim.run_until(1'000);
  std::vector<std::string> want;
  for (int i = 0; i < 40; i += 2) {  // everywhere
    add(sim, "n1", member(i), "ALL");
    want.push_back(member(i));
  }
  sim.partition({"n3"});
  for (int i = 1; i < 40; i += 2) {  // n1 and n2 only
    add(sim, "n1", member(i), "QUORUM");
    want.push_back(member(i));
  }
  for (int i = 0; i < 40; i += 4) {  // n3 only: members n1 and n2 never saw
    add(sim, "n3", member(i, "x"), "LOCAL");
    want.push_back(member(i, "x"));
  }
  sim.heal();
  sim.run_until(sim.now_ms() + 2'000);
  std::sort(want.begin(), want.end());

  for (const char* consistency : {"ALL", "QUORUM"}) {
    INFO(consistency);
    std::vector<std::string> got;
    core::ClientRequest r = read("s", "big", preset(consistency));
    r.page = core::SetPage{std::nullopt, 7};
    for (int pages = 0; pages < 100; ++pages) {
      auto a = call(sim, "n3", r);
      REQUIRE(a.has_value());
      REQUIRE(a->status.is_ok());
      const auto members = a->object->as<crdt::ORSet>()->read();
      got.insert(got.end(), members.begin(), members.end());
      if (!a->next) break;
      r.page->after = a->next;
    }
    if (std::string(consistency) == "ALL") {
      REQUIRE(got == want);
    } else {  // two of the three replicas: every member of theirs, once, in order
      REQUIRE(std::is_sorted(got.begin(), got.end()));
      REQUIRE(std::adjacent_find(got.begin(), got.end()) == got.end());
      REQUIRE(got.size() >= 30);
    }
  }
}

}  // namespace
}  // namespace shoal::sim
