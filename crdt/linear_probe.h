// Erase for open addressing with linear probing over a power-of-two table of slots
// (crdt/element_index.h, crdt/dot_owners.h): no tombstones, so a lookup ends at the first
// empty slot and a table that churns never fills up with dead ones.
#pragma once

#include <cstddef>
#include <vector>

namespace shoal::crdt {

// Empties slots[hole] and pulls later members of its run back into the gap when their home
// slot is not after it, so every member stays reachable from its home. `empty(slot)` says
// whether a slot is free; `home(slot)` is the slot a member's hash points at.
// REQUIRES: slots.size() is a power of two; slots[hole] holds a member; some slot is empty.
template <typename Slot, typename Empty, typename Home>
void erase_shifting_back(std::vector<Slot>& slots, size_t hole, Empty empty, Home home) {
  const size_t mask = slots.size() - 1;
  for (size_t next = (hole + 1) & mask; !empty(slots[next]); next = (next + 1) & mask) {
    const size_t h = home(slots[next]);
    const bool stays = hole <= next ? (hole < h && h <= next) : (hole < h || h <= next);
    if (stays) continue;
    slots[hole] = slots[next];
    hole = next;
  }
  slots[hole] = Slot{};
}

}  // namespace shoal::crdt
