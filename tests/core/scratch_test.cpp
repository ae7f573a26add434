#include "core/scratch.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"

namespace sputnik {
namespace {

TEST(ScratchLease, PiecesAreConsecutiveAndBounded) {
  ScratchLease s(100);
  float* a = s.take(30);
  float* b = s.take(70);
  EXPECT_EQ(a, s.data());
  EXPECT_EQ(b, a + 30);
  for (int i = 0; i < 100; ++i) s.data()[i] = float(i);  // the whole lease is writable
  EXPECT_THROW(s.take(1), Error);
}

TEST(ScratchLease, LaterLeasesReuseTheArena) {
  float* first;
  {
    ScratchLease s(1000);
    first = s.data();
  }
  ScratchLease smaller(10);
  EXPECT_EQ(smaller.data(), first);  // no new allocation when the arena is large enough
}

TEST(ScratchLease, NestedLeaseOnOneThreadFails) {
  ScratchLease outer(10);
  EXPECT_THROW(ScratchLease inner(10), Error);
  // Another thread has an arena of its own.
  bool ok = false;
  std::thread([&] {
    ScratchLease other(10);
    ok = other.data() != outer.data();
  }).join();
  EXPECT_TRUE(ok);
}

TEST(ScratchLease, ReleasedAfterAFailedNestedLease) {
  { ScratchLease outer(10); EXPECT_THROW(ScratchLease inner(10), Error); }
  ScratchLease again(10);  // the outer lease's end released the arena
  EXPECT_NE(again.data(), nullptr);
}

}  // namespace
}  // namespace sputnik
