#include "api/rate_limiter.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace herald::api {
namespace {

using Nanos = std::int64_t;

constexpr Nanos kSecond = 1'000'000'000;
constexpr Nanos kWindow = 60 * kSecond;
constexpr std::size_t kShardCount = 64;  // power of two; well above the API's thread count
constexpr std::size_t kMinSweepSize = 64;

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

Nanos ToNanos(Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::chrono::seconds CeilSeconds(Nanos span) {
  if (span <= 0) return std::chrono::seconds(0);
  return std::chrono::seconds((span + kSecond - 1) / kSecond);
}

}  // namespace

struct RateLimiter::Shard {
  // Own cache line each: shards are locked from different threads.
  alignas(64) std::mutex mutex;
  std::unordered_map<std::string, Nanos, KeyHash, std::equal_to<>> tat;  // theoretical arrival time by key
  std::size_t sweep_at_size = kMinSweepSize;
  Nanos next_sweep = 0;

  // Drops keys whose TAT has passed: they would be answered exactly like new keys.
  void Sweep(Nanos now) {
    std::erase_if(tat, [now](const auto& entry) { return entry.second <= now; });
    sweep_at_size = std::max(kMinSweepSize, 2 * tat.size());
    next_sweep = now + kWindow;
  }

  // Makes room for one more key below `cap`. Forgets the keys nearest to a full
  // quota, down to 7/8 of the cap so the O(n) pass is paid once per cap/8 new keys.
  void Shrink(std::size_t cap) {
    const std::size_t keep = cap - std::max<std::size_t>(1, cap / 8);
    std::vector<std::pair<Nanos, const std::string*>> by_tat;
    by_tat.reserve(tat.size());
    for (const auto& [key, time] : tat) by_tat.emplace_back(time, &key);
    const auto drop = static_cast<std::ptrdiff_t>(tat.size() - keep);
    std::nth_element(by_tat.begin(), by_tat.begin() + drop, by_tat.end());
    std::vector<std::string> victims;
    victims.reserve(static_cast<std::size_t>(drop));
    for (auto it = by_tat.begin(); it != by_tat.begin() + drop; ++it) victims.push_back(*it->second);
    for (const auto& key : victims) tat.erase(key);
  }
};

std::optional<Tier> ParseTier(std::string_view name) {
  if (name == "free") return Tier::kFree;
  if (name == "basic") return Tier::kBasic;
  if (name == "premium") return Tier::kPremium;
  return std::nullopt;
}

const char* ToString(Tier tier) {
  switch (tier) {
    case Tier::kFree: return "free";
    case Tier::kBasic: return "basic";
    case Tier::kPremium: return "premium";
  }
  return "unknown";
}

RateLimiter::RateLimiter(const Clock& clock, RateLimiterOptions options)
    : clock_(clock),
      max_keys_per_shard_(std::max<std::size_t>(1, options.max_keys / kShardCount)),
      shards_(std::make_unique<Shard[]>(kShardCount)) {}

RateLimiter::~RateLimiter() = default;

void RequireLimitInRange(int limit_per_minute) {
  if (limit_per_minute < 1 || limit_per_minute > kMaxLimitPerMinute) {
    throw std::invalid_argument("rate limit of " + std::to_string(limit_per_minute) +
                                " requests per minute is outside 1 to " + std::to_string(kMaxLimitPerMinute));
  }
}

Decision DecideGcra(std::chrono::nanoseconds ahead_span, int limit_per_minute) {
  // Rounding the interval down keeps `limit` requests allowed at once exactly;
  // the steady rate is then high by under a nanosecond per request.
  const Nanos interval = kWindow / limit_per_minute;
  const Nanos tolerance = interval * limit_per_minute;  // how far TAT may run ahead of now
  const Nanos ahead = std::clamp<Nanos>(ahead_span.count(), 0, tolerance);
  const Nanos next = ahead + interval;  // the TAT after this request, from now
  Decision decision;
  decision.limit = limit_per_minute;
  if (next > tolerance) {
    decision.allowed = false;
    decision.remaining = 0;
    decision.reset = CeilSeconds(ahead);
    decision.retry_after = CeilSeconds(next - tolerance);
    return decision;
  }
  decision.allowed = true;
  decision.remaining = static_cast<int>((tolerance - next) / interval);
  decision.reset = CeilSeconds(next);
  decision.retry_after = std::chrono::seconds(0);
  return decision;
}

Decision RateLimiter::Check(std::string_view key, int limit_per_minute) {
  RequireLimitInRange(limit_per_minute);
  const Nanos interval = kWindow / limit_per_minute;
  const Nanos tolerance = interval * limit_per_minute;
  const Nanos now = ToNanos(clock_.Now());

  const std::size_t hash = KeyHash{}(key);
  Shard& shard = shards_[(hash ^ (hash >> 32)) & (kShardCount - 1)];
  std::lock_guard lock(shard.mutex);

  auto it = shard.tat.find(key);
  // A stored TAT never runs more than `tolerance` ahead; when it does, the clock
  // was set back, and the key should not be locked out for the size of the step.
  const Nanos tat = it == shard.tat.end() ? now : std::clamp(it->second, now, now + tolerance);
  const Decision decision = DecideGcra(std::chrono::nanoseconds(tat - now), limit_per_minute);
  if (!decision.allowed) return decision;  // denied requests do not consume quota

  const Nanos next_tat = tat + interval;
  if (it != shard.tat.end()) {
    it->second = next_tat;
  } else {
    const bool full = shard.tat.size() >= max_keys_per_shard_;
    if (full || shard.tat.size() >= shard.sweep_at_size || now >= shard.next_sweep) shard.Sweep(now);
    if (shard.tat.size() >= max_keys_per_shard_) shard.Shrink(max_keys_per_shard_);
    shard.tat.emplace(std::string(key), next_tat);
  }
  return decision;
}

std::size_t RateLimiter::KeyCount() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < kShardCount; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    count += shards_[i].tat.size();
  }
  return count;
}

}  // namespace herald::api
