// The API's tier limits counted in Redis, so every `herald api` process spends
// one quota per key: a free key gets 60 requests a minute across all of them.
#pragma once

#include <string>

#include "api/rate_limiter.hpp"
#include "redis/redis_client.hpp"

namespace herald::redis {

// The same GCRA as api::RateLimiter, run as one Lua script per request, so the
// read and the update of a key's TAT are atomic across processes. The script
// takes the time from Redis (TIME), so the processes' clocks need not agree.
//
// When Redis does not answer, the request is decided by `fallback` (this
// process's own limiter) instead: an outage makes limits per process for its
// duration, never refuses or lets through everything; /health reports it.
class RedisRateLimiter final : public api::RequestLimiter {
 public:
  RedisRateLimiter(RedisClient& redis, api::RequestLimiter& fallback, std::string key_prefix = "herald:rate:");

  api::Decision Check(std::string_view key, int limit_per_minute) override;

 private:
  RedisClient& redis_;
  api::RequestLimiter& fallback_;
  const std::string key_prefix_;
};

}  // namespace herald::redis
