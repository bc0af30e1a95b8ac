// What a replica reads back from its store and from peers' objects (node/core/object.h,
// op_log.h): the first byte picks Object::decode, Object::decode_stored or
// OpLog::decode_record, the rest is its input. Never throws or crashes; what decode and
// decode_record accept round-trips equal, and what decode_stored accepts re-encodes in
// the stored form to bytes it accepts the same way.
#include <string>

#include "fuzz.h"
#include "node/core/object.h"
#include "node/core/op_log.h"

namespace {

using shoal::core::Object;
using shoal::core::OpLog;

void object(std::string_view bytes) {
  auto o = Object::decode(bytes);
  if (!o) return;
  auto again = Object::decode(o->encode());
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(*again == *o);
}

void stored(std::string_view bytes) {
  bool split = false, op_rows = false;
  auto o = Object::decode_stored(bytes, &split, &op_rows);
  if (!o) return;
  bool split2 = false, op_rows2 = false;
  auto again = Object::decode_stored(o->encode_stored(op_rows), &split2, &op_rows2);
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(again->type() == o->type());
  FUZZ_CHECK(op_rows2 == (op_rows || !o->ops().empty()));
}

void record(std::string_view bytes) {
  auto r = OpLog::decode_record(bytes);
  if (!r) return;
  auto again = OpLog::decode_record(OpLog::encode_record(*r));
  FUZZ_CHECK(again.is_ok());
  FUZZ_CHECK(*again == *r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes = shoal::fuzz::view(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      return object(bytes), 0;
    case 1:
      return stored(bytes), 0;
    default:
      return record(bytes), 0;
  }
}
