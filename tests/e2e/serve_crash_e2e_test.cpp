// The crash scenario of serve_crash_fixture.hpp on the embedded queue: the
// store's recipients table is the message lanes' queue.
#include "tests/e2e/serve_crash_fixture.hpp"

namespace herald::testing {
namespace {

TEST_F(ServeCrashE2E, KilledFourTimesWhileDeliveringTwentyThousandEmailsEveryoneGetsOneCopy) {
  KillFourTimesWhileDeliveringAndExpectOneCopyEach();
}

}  // namespace
}  // namespace herald::testing
