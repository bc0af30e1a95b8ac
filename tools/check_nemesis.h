// The nemesis of `shoal check`: every --nemesis-interval-ms it undoes the fault in force
// and injects a random new one drawn from --faults (partitions of several shapes made by
// the nodes' fault filters, kill -9 and restart, pause and resume), recording each in the
// history. With --nemesis-cmd every fault runs as that command instead (e.g. iptables in
// network namespaces; docs/testing.md).
//
// REQUIRES: validate() is ok before step(). Faults that fail are not errors: the run
// goes on, and a failed --nemesis-cmd or restart is reported on stderr.
#pragma once

#include <string>
#include <vector>

#include "crdt/prng.h"
#include "crdt/status.h"
#include "tools/chaos.h"
#include "tools/check_cli.h"
#include "tools/check_recorder.h"
#include "tools/cluster.h"

namespace shoal::check {

class Nemesis {
 public:
  Nemesis(const CheckOptions& o, client::LocalCluster& c, Recorder& rec);

  // invalid_argument for an unknown fault, or fewer than 3 nodes.
  Status validate() const;

  // Undoes the fault in force, then injects a random new one.
  void step();

  // Heals everything: partitions, paused and killed nodes.
  void heal_all();

 private:
  static std::string describe(const chaos::Cut& c);
  void cut(const std::string& kind, const chaos::Cut& c);
  void apply_cut(const std::string& kind, const chaos::Cut& c);
  void signal(const std::string& kind, const std::string& node);
  void undo();
  void restart(const std::string& node);
  void shell(const std::string& args);

  const CheckOptions& o_;
  client::LocalCluster& cluster_;
  Recorder& rec_;
  Prng rng_;
  std::vector<std::string> nodes_, kinds_;
  bool cut_active_ = false;
  std::string signalled_, signalled_node_;
};

}  // namespace shoal::check
