// A lane's send rate shared by every worker through Redis (serve.<lane>_per_second):
// two `herald worker` processes with sms at 10 per second send 10 a second
// between them, not 10 each — what a provider's account limit means.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "dispatch/shaper.hpp"
#include "redis/redis_client.hpp"

namespace herald::redis {

// One token bucket per lane, kept in Redis (herald:shape:<lane>) and refilled
// on Redis's clock, so the workers' clocks need not agree. Each worker takes
// tokens a tenth of a second's worth at a time, so the engine's frequent
// questions cost no round trip; tokens only ever come out of the shared bucket,
// so all workers together never exceed the rate. A grant is kept until spent:
// an idle worker holds at most one, once, rather than draining a share of the
// rate every second. A provider's "slow down" empties the shared bucket for
// everyone.
//
// While Redis does not answer, `fallback` (this process's own bucket at the
// same rate) shapes instead, and Redis is asked again a second later.
class RedisShaper final : public dispatch::Shaper {
 public:
  RedisShaper(RedisClient& redis, const std::string& lane, int per_second, dispatch::Shaper& fallback,
              std::string key_prefix = "herald:shape:");

  int Available(Clock::TimePoint now) override;
  void Consume(int sends, Clock::TimePoint now) override;
  Clock::TimePoint NextAvailable(Clock::TimePoint now) override;
  void OnThrottled(Clock::TimePoint now, std::chrono::milliseconds retry_after = {}) override;

  // Whether the latest question went unanswered and the fallback shapes.
  bool falling_back() const;

 private:
  // Takes up to a grant from the shared bucket; sets next_ask_ (mutex held).
  void Ask(Clock::TimePoint now);

  RedisClient& redis_;
  const std::string key_;
  const int per_second_;
  const int grant_;
  dispatch::Shaper& fallback_;

  mutable std::mutex mutex_;
  int tokens_ = 0;  // granted to this process, not yet spent
  Clock::TimePoint next_ask_{};
  bool falling_back_ = false;
};

}  // namespace herald::redis
