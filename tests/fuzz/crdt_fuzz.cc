// Every CRDT codec in crdt/: the first byte picks the decoder (Dot, VersionVector,
// DotContext, GCounter, PNCounter, LWWRegister, DvvSet, ORSet, ORSet's dot rows), the
// rest is its input. A decoder never throws or crashes, and a value it accepts encodes
// to bytes that decode to an equal value, and encode the same again.
#include <set>
#include <string>

#include "crdt/counter.h"
#include "crdt/dot.h"
#include "crdt/dvv_set.h"
#include "crdt/lww_register.h"
#include "crdt/orset.h"
#include "fuzz.h"

namespace {

using namespace shoal::crdt;

template <typename T>
void round_trip(std::string_view bytes) {
  auto v = T::decode(bytes);
  if (!v) return;
  const std::string once = v->encode();
  auto again = T::decode(once);
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(*again == *v);
  FUZZ_CHECK(again->encode() == once);
}

void dots_round_trip(std::string_view bytes) {
  auto dots = ORSet::decode_dots(bytes);
  if (!dots) return;
  const std::string once = ORSet::encode_dots(*dots);
  auto again = ORSet::decode_dots(once);
  FUZZ_CHECK(again.is_ok() && *again == *dots);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes = shoal::fuzz::view(data + 1, size - 1);
  switch (data[0] % 9) {
    case 0:
      return round_trip<Dot>(bytes), 0;
    case 1:
      return round_trip<VersionVector>(bytes), 0;
    case 2:
      return round_trip<DotContext>(bytes), 0;
    case 3:
      return round_trip<GCounter>(bytes), 0;
    case 4:
      return round_trip<PNCounter>(bytes), 0;
    case 5:
      return round_trip<LWWRegister>(bytes), 0;
    case 6:
      return round_trip<DvvSet>(bytes), 0;
    case 7:
      return round_trip<ORSet>(bytes), 0;
    default:
      return dots_round_trip(bytes), 0;
  }
}
