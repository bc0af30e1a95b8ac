#include "crdt/dots.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "crdt/assert.h"

namespace shoal::crdt {

Dots::Dots(std::initializer_list<Dot> dots) {
  for (const Dot& d : dots) insert(d);
}

Dots::Dots(const Dots& other) { *this = other; }

Dots& Dots::operator=(const Dots& other) {
  if (this == &other) return *this;
  release();
  if (other.size_ <= 1) {
    one_ = other.size_ == 1 ? other.front() : Dot{};
  } else {
    heap_ = new Dot[other.size_];
    std::copy(other.begin(), other.end(), heap_);
    capacity_ = other.size_;
  }
  size_ = other.size_;
  return *this;
}

Dots::Dots(Dots&& other) noexcept { *this = std::move(other); }

Dots& Dots::operator=(Dots&& other) noexcept {
  if (this == &other) return *this;
  release();
  size_ = other.size_;
  capacity_ = other.capacity_;
  if (other.heap()) {
    heap_ = other.heap_;
  } else {
    one_ = other.one_;
  }
  other.size_ = 0;
  other.capacity_ = 1;
  other.one_ = Dot{};
  return *this;
}

void Dots::release() {
  if (heap()) delete[] heap_;
  capacity_ = 1;
  size_ = 0;
  one_ = Dot{};
}

bool Dots::contains(const Dot& d) const { return std::binary_search(begin(), end(), d); }

void Dots::grow() {
  SHOAL_ASSERT(capacity_ < std::numeric_limits<uint32_t>::max() / 2,
               "an element's dots are bounded");
  const uint32_t capacity = capacity_ * 2;
  Dot* bigger = new Dot[capacity];
  std::copy(begin(), end(), bigger);
  if (heap()) delete[] heap_;
  heap_ = bigger;
  capacity_ = capacity;
}

bool Dots::insert(const Dot& d) {
  const Dot* at = std::lower_bound(begin(), end(), d);
  if (at != end() && *at == d) return false;
  const size_t i = static_cast<size_t>(at - begin());
  if (size_ == capacity_) grow();
  Dot* p = data();
  std::copy_backward(p + i, p + size_, p + size_ + 1);
  p[i] = d;
  ++size_;
  return true;
}

const Dot* Dots::erase(const Dot* at) {
  SHOAL_ASSERT(at >= begin() && at < end(), "erase inside the dots");
  const size_t i = static_cast<size_t>(at - begin());
  Dot* p = data();
  std::copy(p + i + 1, p + size_, p + i);
  --size_;
  if (heap() && size_ <= 1) {  // back inline: most elements return to one dot
    Dot* old = heap_;
    const uint32_t n = size_;
    one_ = n == 1 ? old[0] : Dot{};
    delete[] old;
    capacity_ = 1;
    size_ = n;
  }
  return begin() + i;
}

bool Dots::operator==(const Dots& other) const {
  return std::equal(begin(), end(), other.begin(), other.end());
}

}  // namespace shoal::crdt
