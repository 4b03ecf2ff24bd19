#include "redis/redis_shaper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace herald::redis {
namespace {

// KEYS[1]: the lane's bucket {tokens, at (ms on Redis's clock)}.
// ARGV[1]: tokens per second (also the capacity: one second's burst);
// ARGV[2]: tokens wanted; ARGV[3]: 1 to empty the bucket instead (throttled).
// Returns {tokens granted, ms until the next token when none was}.
constexpr const char* kTakeScript = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rate = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1]) or rate
local at = tonumber(stored[2]) or now
if now > at then tokens = math.min(rate, tokens + (now - at) * rate / 1000) end
if ARGV[3] == '1' then tokens = 0 end
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 2000)
local wait = 0
if granted == 0 then wait = math.ceil((1 - tokens) * 1000 / rate) end
return {granted, wait}
)lua";

constexpr std::chrono::seconds kRetryAfterOutage{1};

}  // namespace

RedisShaper::RedisShaper(RedisClient& redis, const std::string& lane, int per_second, dispatch::Shaper& fallback,
                         std::string key_prefix)
    : redis_(redis),
      key_(key_prefix + lane),
      per_second_(std::max(1, per_second)),
      grant_(std::max(1, (per_second_ + 9) / 10)),
      fallback_(fallback) {}

int RedisShaper::Available(Clock::TimePoint now) {
  std::lock_guard lock(mutex_);
  if (tokens_ == 0 && now >= next_ask_) Ask(now);
  return falling_back_ ? fallback_.Available(now) : tokens_;
}

void RedisShaper::Consume(int sends, Clock::TimePoint now) {
  std::lock_guard lock(mutex_);
  if (falling_back_) return fallback_.Consume(sends, now);
  tokens_ = std::max(0, tokens_ - sends);
}

Clock::TimePoint RedisShaper::NextAvailable(Clock::TimePoint now) {
  std::lock_guard lock(mutex_);
  if (falling_back_) return std::min(fallback_.NextAvailable(now), next_ask_);
  return tokens_ > 0 ? now : std::max(now, next_ask_);
}

void RedisShaper::OnThrottled(Clock::TimePoint now, std::chrono::milliseconds retry_after) {
  std::lock_guard lock(mutex_);
  tokens_ = 0;
  fallback_.OnThrottled(now, retry_after);
  try {
    redis_.Run({"EVAL", kTakeScript, "1", key_, std::to_string(per_second_), "0", "1"});
  } catch (const RedisError&) {
    // Only this process slows down, then.
  }
  next_ask_ = now + std::max(std::chrono::milliseconds(1000 / per_second_ + 1), retry_after);
}

bool RedisShaper::falling_back() const {
  std::lock_guard lock(mutex_);
  return falling_back_;
}

void RedisShaper::Ask(Clock::TimePoint now) {
  try {
    const auto reply =
        redis_.Run({"EVAL", kTakeScript, "1", key_, std::to_string(per_second_), std::to_string(grant_), "0"});
    if (reply.type != Reply::Type::kArray || reply.elements.size() != 2) {
      throw RedisError("redis: the shaping script answered in an unexpected shape");
    }
    if (falling_back_) spdlog::info("{}: Redis answers again; the rate is shared by every worker", key_);
    falling_back_ = false;
    tokens_ = static_cast<int>(reply.elements[0].integer);
    next_ask_ = tokens_ > 0 ? now : now + std::chrono::milliseconds(std::max<long long>(1, reply.elements[1].integer));
  } catch (const RedisError& e) {
    if (!falling_back_) {
      spdlog::warn("{}: {}; this worker shapes on its own at the same rate until Redis answers", key_, e.what());
    }
    falling_back_ = true;
    tokens_ = 0;
    next_ask_ = now + kRetryAfterOutage;
  }
}

}  // namespace herald::redis
