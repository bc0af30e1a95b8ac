// Dots: the dots one element of an ORSet holds, as a small sorted set.
//
// Nearly every element holds exactly one dot (concurrent adds of one element leave
// more, until a later add supersedes them), so one dot lives inline and more spill to
// one heap array. A std::set<Dot> cost a 48-byte header plus a 48-byte node per dot; in
// a million-member set that was a third of its memory.
//
// Iterators are pointers into the dots, invalidated by insert() and erase().
#pragma once

#include <cstdint>
#include <initializer_list>

#include "crdt/dot.h"

namespace shoal::crdt {

class Dots {
 public:
  Dots() = default;
  Dots(std::initializer_list<Dot> dots);
  Dots(const Dots& other);
  Dots& operator=(const Dots& other);
  Dots(Dots&& other) noexcept;
  Dots& operator=(Dots&& other) noexcept;
  ~Dots() { release(); }

  const Dot* begin() const { return heap() ? heap_ : &one_; }
  const Dot* end() const { return begin() + size_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // REQUIRES: !empty().
  const Dot& front() const { return *begin(); }
  const Dot& back() const { return begin()[size_ - 1]; }
  bool contains(const Dot& d) const;
  size_t count(const Dot& d) const { return contains(d) ? 1 : 0; }

  // Adds `d` in order; false if it is already held.
  bool insert(const Dot& d);
  // Removes the dot at `at`. Returns the position of the dot after it.
  // REQUIRES: begin() <= at < end().
  const Dot* erase(const Dot* at);

  bool operator==(const Dots& other) const;

 private:
  bool heap() const { return capacity_ > 1; }
  Dot* data() { return heap() ? heap_ : &one_; }
  void grow();
  void release();

  uint32_t size_ = 0;
  uint32_t capacity_ = 1;  // 1: the dot (if any) is one_; more: heap_ holds capacity_ dots
  union {
    Dot one_{};
    Dot* heap_;
  };
};

}  // namespace shoal::crdt
