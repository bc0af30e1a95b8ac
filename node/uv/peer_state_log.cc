#include "node/uv/peer_state_log.h"

#include <algorithm>

#include "crdt/assert.h"

namespace shoal::uvshell {

std::optional<PeerStateLog::Line> PeerStateLog::observe(const std::string& peer, bool down,
                                                        uint64_t now_ms) {
  auto [it, fresh] = peers_.try_emplace(peer);
  Peer& p = it->second;
  if (fresh) {
    p.reached = !down;
    p.seen_down = down;
    p.down_since_ms = now_ms;
    p.changes = down ? 1 : 0;
    return std::nullopt;  // a first sighting is no news either way
  }
  if (!p.reached) return first_contact(p, down, now_ms);
  if (down != p.seen_down) {
    ++p.changes;
    p.seen_down = down;
    (down ? p.down_since_ms : p.up_since_ms) = now_ms;
  }
  if (down == p.logged_down) {
    // Back where the last line left it: nothing to say (a flap in between is counted
    // and told with the next line).
    return std::nullopt;
  }
  if (p.ever_logged && now_ms < p.logged_ms + kMinGapMs) return std::nullopt;
  return take_line(p, down, now_ms);
}

// Not reached since first seen (this node starting while a peer is not up yet):
// reaching it is no news; still down kMinGapMs after the first sighting, it is logged.
std::optional<PeerStateLog::Line> PeerStateLog::first_contact(Peer& p, bool down, uint64_t now_ms) {
  if (!down) {
    p.reached = true;
    p.seen_down = false;
    p.changes = 0;
    return std::nullopt;
  }
  if (now_ms < p.down_since_ms + kMinGapMs) return std::nullopt;
  p.reached = true;
  return take_line(p, true, now_ms);
}

PeerStateLog::Line PeerStateLog::take_line(Peer& p, bool down, uint64_t now_ms) {
  SHOAL_ASSERT(p.changes >= 1);
  Line line;
  line.down = down;
  line.down_for_ms = down ? 0 : p.up_since_ms - p.down_since_ms;
  line.up_for_ms = down ? 0 : now_ms - p.up_since_ms;
  line.unlogged = p.changes - 1;
  p.logged_down = down;
  p.logged_ms = now_ms;
  p.ever_logged = true;
  p.changes = 0;
  return line;
}

void PeerStateLog::keep_only(const std::vector<std::string>& peers) {
  std::erase_if(peers_, [&](const auto& entry) {
    return std::find(peers.begin(), peers.end(), entry.first) == peers.end();
  });
}

}  // namespace shoal::uvshell
