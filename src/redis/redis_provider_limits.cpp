#include "redis/redis_provider_limits.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "store/message_delivery_store.hpp"

namespace herald::redis {
namespace {

// KEYS[1]: the count, a hash of holder → slots; KEYS[2]: the leases, a sorted
// set of holder → expiry (ms on Redis's clock).
// ARGV[1]: holder; ARGV[2]: slots wanted (negative: given back); ARGV[3]: the
// limit; ARGV[4]: the lease in ms. Returns the slots granted (0 when giving back).
constexpr const char* kSlotsScript = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for _, holder in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('HDEL', KEYS[1], holder)
  redis.call('ZREM', KEYS[2], holder)
end
local wanted = tonumber(ARGV[2])
local granted = 0
if wanted > 0 then
  local used = 0
  for _, slots in ipairs(redis.call('HVALS', KEYS[1])) do used = used + tonumber(slots) end
  granted = math.max(0, math.min(wanted, tonumber(ARGV[3]) - used))
  if granted == 0 then return 0 end
end
local mine = redis.call('HINCRBY', KEYS[1], ARGV[1], wanted > 0 and granted or wanted)
if mine <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
return granted
)lua";

// KEYS[1]: the recipient's next turn (ms on Redis's clock); ARGV[1]: the
// interval in ms. Returns how long from now the caller's turn is.
constexpr const char* kTurnScript = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local turn = math.max(now, tonumber(redis.call('GET', KEYS[1])) or now)
local next_turn = turn + tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(next_turn), 'PX', next_turn - now)
return turn - now
)lua";

constexpr std::chrono::seconds kRetryAfterOutage{1};

}  // namespace

RedisInFlightLimit::RedisInFlightLimit(RedisClient& redis, const std::string& name, int limit,
                                       std::chrono::milliseconds lease, std::string key_prefix)
    : redis_(redis),
      key_(key_prefix + name),
      holder_(store::NewClaimantId()),
      limit_(std::max(1, limit)),
      lease_(lease),
      own_(limit_) {}

int RedisInFlightLimit::TryAcquire(int wanted) {
  const int own = own_.TryAcquire(wanted);
  if (own == 0) return 0;
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (falling_back_ && now < next_ask_) return own;
  try {
    const auto reply = redis_.Run({"EVAL", kSlotsScript, "2", key_, key_ + ":leases", holder_, std::to_string(own),
                                   std::to_string(limit_), std::to_string(lease_.count())});
    if (reply.type != Reply::Type::kInteger) throw RedisError("redis: the slots script answered in an unexpected shape");
    if (falling_back_) spdlog::info("{}: Redis answers again; request slots are shared by every worker", key_);
    falling_back_ = false;
    const int granted = static_cast<int>(std::clamp<long long>(reply.integer, 0, own));
    from_redis_ += granted;
    own_.Release(own - granted);
    return granted;
  } catch (const RedisError& e) {
    if (!falling_back_) {
      spdlog::warn("{}: {}; this worker counts its own request slots until Redis answers", key_, e.what());
    }
    falling_back_ = true;
    next_ask_ = now + kRetryAfterOutage;
    return own;
  }
}

void RedisInFlightLimit::Release(int slots) {
  own_.Release(slots);
  std::lock_guard lock(mutex_);
  // Slots taken while Redis was away were never in the shared count.
  const int shared = std::min(slots, from_redis_);
  if (shared == 0) return;
  from_redis_ -= shared;
  try {
    redis_.Run({"EVAL", kSlotsScript, "2", key_, key_ + ":leases", holder_, std::to_string(-shared),
                std::to_string(limit_), std::to_string(lease_.count())});
  } catch (const RedisError&) {
    // They come back when this process's lease runs out.
  }
}

bool RedisInFlightLimit::falling_back() const {
  std::lock_guard lock(mutex_);
  return falling_back_;
}

RedisRecipientSpacing::RedisRecipientSpacing(RedisClient& redis, const std::string& name,
                                             std::chrono::milliseconds interval, std::string key_prefix)
    : redis_(redis), key_prefix_(key_prefix + name + ":"), own_(interval) {}

Clock::TimePoint RedisRecipientSpacing::Reserve(const std::string& to, Clock::TimePoint now) {
  // This process's turns are kept too, so an outage starts from them.
  const auto own_turn = own_.Reserve(to, now);
  std::lock_guard lock(mutex_);
  const auto steady_now = std::chrono::steady_clock::now();
  if (falling_back_ && steady_now < next_ask_) return own_turn;
  try {
    const auto reply = redis_.Run({"EVAL", kTurnScript, "1", key_prefix_ + to, std::to_string(own_.interval().count())});
    if (reply.type != Reply::Type::kInteger) throw RedisError("redis: the spacing script answered in an unexpected shape");
    if (falling_back_) spdlog::info("{}*: Redis answers again; recipients' turns are shared by every worker", key_prefix_);
    falling_back_ = false;
    return now + std::chrono::milliseconds(std::max<long long>(0, reply.integer));
  } catch (const RedisError& e) {
    if (!falling_back_) {
      spdlog::warn("{}*: {}; this worker spaces its own sends until Redis answers", key_prefix_, e.what());
    }
    falling_back_ = true;
    next_ask_ = steady_now + kRetryAfterOutage;
    return own_turn;
  }
}

bool RedisRecipientSpacing::falling_back() const {
  std::lock_guard lock(mutex_);
  return falling_back_;
}

}  // namespace herald::redis
