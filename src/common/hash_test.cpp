#include "common/hash.hpp"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(Hash, Sha256MatchesTheKnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, RandomHexHasTheRequestedLengthAndVaries) {
  const auto a = RandomHex(8);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, RandomHex(8));
}

}  // namespace
}  // namespace herald
