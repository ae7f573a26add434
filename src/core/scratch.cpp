#include "core/scratch.h"

#include <vector>

#include "core/error.h"

namespace sputnik {
namespace {

struct Arena {
  std::vector<float> buffer;
  bool leased = false;
};

Arena& arena() {
  static thread_local Arena a;
  return a;
}

}  // namespace

ScratchLease::ScratchLease(size_t floats) {
  Arena& a = arena();
  SPUTNIK_CHECK(!a.leased);
  if (a.buffer.size() < floats) {
    // Replace rather than grow: the old contents are not needed, so do not copy them.
    a.buffer = std::vector<float>();
    a.buffer.resize(floats);
  }
  a.leased = true;
  data_ = a.buffer.data();
  size_ = floats;
}

ScratchLease::~ScratchLease() { arena().leased = false; }

float* ScratchLease::take(size_t floats) {
  SPUTNIK_CHECK(used_ + floats <= size_);
  float* p = data_ + used_;
  used_ += floats;
  return p;
}

}  // namespace sputnik
