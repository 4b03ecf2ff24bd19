#include "redis/redis_rate_limiter.hpp"

#include <chrono>
#include <utility>

namespace herald::redis {
namespace {

// KEYS[1]: the key's TAT in microseconds since the epoch of Redis's clock.
// ARGV[1]: 60 s / limit in microseconds; ARGV[2]: the limit.
// Returns {1 if allowed, how far the TAT was ahead of now before this request}.
constexpr const char* kGcraScript = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then tat = tonumber(stored) end
if tat < now then tat = now end
if tat > now + tolerance then tat = now + tolerance end
if tat + interval - now > tolerance then
  return {0, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', string.format('%d', math.ceil((tat + interval - now) / 1000)))
return {1, tat - now}
)lua";

constexpr long long kWindowMicros = 60'000'000;

}  // namespace

RedisRateLimiter::RedisRateLimiter(RedisClient& redis, api::RequestLimiter& fallback, std::string key_prefix)
    : redis_(redis), fallback_(fallback), key_prefix_(std::move(key_prefix)) {}

api::Decision RedisRateLimiter::Check(std::string_view key, int limit_per_minute) {
  api::RequireLimitInRange(limit_per_minute);
  const long long interval = kWindowMicros / limit_per_minute;
  try {
    const auto reply = redis_.Run({"EVAL", kGcraScript, "1", key_prefix_ + std::string(key), std::to_string(interval),
                                   std::to_string(limit_per_minute)});
    if (reply.type != Reply::Type::kArray || reply.elements.size() != 2) {
      throw RedisError("redis: the rate limit script answered in an unexpected shape");
    }
    const bool allowed = reply.elements[0].integer == 1;
    const auto ahead = std::chrono::microseconds(reply.elements[1].integer);
    auto decision = api::DecideGcra(ahead, limit_per_minute);
    // Redis decided; the rule's arithmetic in nanoseconds could round the other way.
    if (decision.allowed != allowed) {
      decision.allowed = allowed;
      if (!allowed) {
        decision.remaining = 0;
        decision.retry_after = std::max(decision.retry_after, std::chrono::seconds(1));
      } else {
        decision.retry_after = std::chrono::seconds(0);
      }
    }
    return decision;
  } catch (const RedisError&) {
    return fallback_.Check(key, limit_per_minute);
  }
}

}  // namespace herald::redis
