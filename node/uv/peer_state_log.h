// PeerStateLog: what the operator reads about peers going down and coming back, at
// most one line per peer per kMinGapMs however often a peer flaps (issue #14: a peer
// convicted or recovered is logged once, never a flood).
//
// Owns, per peer seen: the state last logged, when, the state seen last, since when it
// has been down, and the changes seen since the last line. The shell observes every ring
// peer after each core timer and connection change (where a peer can go down) and once a
// second, so it never holds more peers than the ring has (keep_only() drops those that
// left). Pure: time comes in as arguments.
//
// A change is logged at once unless the peer's last line is younger than kMinGapMs;
// then it waits, and the first observation after the gap logs the state the peer is in
// by then (with how many changes went unlogged), or nothing if it is back where the
// last line left it. So the last line about a peer always tells its state, at most
// kMinGapMs late.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace shoal::uvshell {

class PeerStateLog {
 public:
  static constexpr uint64_t kMinGapMs = 10'000;

  struct Line {
    bool down = false;
    uint64_t down_for_ms = 0;  // !down: how long its last down spell lasted
    uint64_t up_for_ms = 0;    // !down: how long ago it came back (the line may wait a gap)
    uint64_t unlogged = 0;     // state changes seen since the previous line, not logged
  };

  // `peer` is seen `down` (or up) at now_ms; the line to log, if any. A first sighting
  // logs nothing; a peer not reached since (this node is starting, the peer is not up
  // yet) is logged down only once it has been down kMinGapMs, and reaching it logs
  // nothing.
  std::optional<Line> observe(const std::string& peer, bool down, uint64_t now_ms);
  // Forgets every peer not in `peers` (it left the ring).
  void keep_only(const std::vector<std::string>& peers);
  size_t size() const { return peers_.size(); }

 private:
  struct Peer {
    bool reached = false;  // seen up, or logged, since first seen
    bool logged_down = false;
    uint64_t logged_ms = 0;
    bool ever_logged = false;
    bool seen_down = false;
    uint64_t down_since_ms = 0;  // the first sighting of the current (or last) down spell
    uint64_t up_since_ms = 0;    // the end of the last down spell
    uint64_t changes = 0;        // since the last line
  };
  std::optional<Line> first_contact(Peer& p, bool down, uint64_t now_ms);
  // The line telling `down` now. REQUIRES: a change not yet told (p.changes >= 1).
  static Line take_line(Peer& p, bool down, uint64_t now_ms);

  std::map<std::string, Peer> peers_;
};

}  // namespace shoal::uvshell
