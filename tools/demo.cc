// shoal-demo: what the pure libraries do, in one minute of reading.
//
// Three replicas work while cut off from each other, then exchange state. Run by
// `tools/dev run` until the node exists.
#include <cstdio>
#include <string>
#include <vector>

#include "crdt/counter.h"
#include "crdt/dvv_set.h"
#include "crdt/orset.h"
#include "ring/ring.h"

using namespace shoal::crdt;
namespace ring = shoal::ring;

namespace {

std::string join_strings(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return "{" + out + "}";
}

void demo_counter() {
  std::printf("\n== counter: increments while offline ==\n");
  PNCounter a, b, c;
  (void)a.add(1, 5);
  (void)b.add(2, 3);
  (void)c.add(3, -2);
  std::printf("replica a=%lld b=%lld c=%lld (each saw only its own)\n", (long long)a.read(),
              (long long)b.read(), (long long)c.read());
  a.join(b);
  a.join(c);
  c.join(a);
  std::printf("after exchanging state: a=%lld c=%lld\n", (long long)a.read(), (long long)c.read());
}

void demo_set() {
  std::printf("\n== set: add wins over a concurrent remove ==\n");
  ORSet a, b;
  a.add(1, "milk");
  a.add(1, "eggs");
  b.join(a);
  ORSet removed = a.remove("milk");  // a drops milk...
  b.add(2, "milk");                  // ...while b, cut off, adds milk again
  a.join(b);
  b.join(removed);
  std::printf("a=%s b=%s\n", join_strings(a.read()).c_str(), join_strings(b.read()).c_str());
}

void demo_register() {
  std::printf("\n== register: siblings and their resolution ==\n");
  DvvSet r1, r2;
  r1.put(1, {}, "blue");
  r2.put(2, {}, "green");  // written concurrently through another replica
  r1.join(r2);
  std::printf("concurrent writes keep both: %s\n", join_strings(r1.values()).c_str());
  r1.put(1, r1.context(), "teal");  // a client read both and wrote with that context
  std::printf("a write with the merged context resolves them: %s\n",
              join_strings(r1.values()).c_str());
}

void demo_ring() {
  std::printf("\n== ring: placement over 4 nodes (N=3, n2 down) ==\n");
  ring::Ring r({"n1", "n2", "n3", "n4"});
  for (const char* key : {"alice", "bob", "carol"}) {
    const uint64_t h = ring::key_hash("users", key);
    auto targets = r.sloppy_targets(h, 3, {"n2"});
    std::printf("users/%-6s hash=%016llx ->", key, (unsigned long long)h);
    for (const auto& t : targets) {
      std::printf(" %s%s%s", t.node.c_str(), t.hint_for ? " (hint for " : "",
                  t.hint_for ? (*t.hint_for + ")").c_str() : "");
    }
    std::printf("\n");
  }
  for (const auto& [node, share] : r.ownership(1)) {
    std::printf("%s owns %.1f%% as primary\n", node.c_str(), share * 100);
  }
}

}  // namespace

int main() {
  std::printf("Shoal demo: CRDTs and placement (the node itself comes next)\n");
  demo_counter();
  demo_set();
  demo_register();
  demo_ring();
  return 0;
}
