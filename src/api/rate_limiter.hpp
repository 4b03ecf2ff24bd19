// Per-key request limits for the HTTP API's tiers (free 60, basic 300, premium
// 1000 requests a minute), answered in the shape of the RateLimit-Limit,
// RateLimit-Remaining, RateLimit-Reset and Retry-After response headers.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "common/clock.hpp"

namespace herald::api {

enum class Tier { kFree, kBasic, kPremium };

// "free", "basic", "premium" (the names stored with an API key); nullopt otherwise.
std::optional<Tier> ParseTier(std::string_view name);
const char* ToString(Tier tier);

constexpr int RequestsPerMinute(Tier tier) {
  switch (tier) {
    case Tier::kFree: return 60;
    case Tier::kBasic: return 300;
    case Tier::kPremium: return 1000;
  }
  return 60;
}

struct Decision {
  bool allowed = false;
  int limit = 0;      // RateLimit-Limit: requests per minute for this key
  int remaining = 0;  // RateLimit-Remaining: requests that would be allowed right now, after this one
  // RateLimit-Reset: until the key has its whole limit available again. Rounded up.
  std::chrono::seconds reset{0};
  // Retry-After: 0 when allowed; otherwise the wait after which the same request
  // is allowed, rounded up, so a client that honours it is never refused twice.
  std::chrono::seconds retry_after{0};
};

// Decides requests against per-key limits. RateLimiter keeps the state in this
// process; a shared implementation (Redis) lets every API process count the
// same quota.
class RequestLimiter {
 public:
  virtual ~RequestLimiter() = default;
  // Counts one request for `key` if the limit allows it. Thread-safe.
  // limit_per_minute comes from validated configuration: outside
  // [1, kMaxLimitPerMinute] it throws std::invalid_argument.
  virtual Decision Check(std::string_view key, int limit_per_minute) = 0;
};

inline constexpr int kMaxLimitPerMinute = 100'000;

// The one GCRA rule every limiter applies (see RateLimiter): with `ahead`, how
// far the key's TAT is past now (clamped to [0, 60 s]), the answer for one more
// request. The one who keeps the TAT moves it by 60 s / limit when allowed.
Decision DecideGcra(std::chrono::nanoseconds ahead, int limit_per_minute);
// Throws std::invalid_argument outside [1, kMaxLimitPerMinute].
void RequireLimitInRange(int limit_per_minute);

struct RateLimiterOptions {
  // Bound on tracked keys. Past it, the keys closest to a full quota are
  // forgotten first, which can let those clients start a fresh burst early: a
  // flood of distinct keys costs some accuracy, never unbounded memory.
  std::size_t max_keys = 1'000'000;
};

// Generic cell rate algorithm (GCRA): each key stores one time, its "theoretical
// arrival time" (TAT); every request moves it 60 s / limit later, and a request is
// allowed while TAT stays within 60 s of now. A key can thus spend its whole
// limit at once and then earns one request back every 60 s / limit.
//
// Why GCRA, not a fixed window: a fixed window lets 2x the limit through in the
// seconds around a window edge. GCRA has no edges; the largest burst is the limit
// itself. A sliding-window counter also removes the edge burst, but its answers
// depend on where in the fixed window a burst fell and its Retry-After is an
// estimate; GCRA's is exact, it needs 8 bytes of state per key, and a changed limit
// (tier upgrade) takes effect on the next request. Like any rate-with-burst
// scheme, a client idle long enough to hold its full limit may use it and then
// continue at the steady rate, so a 60 s span can see up to 2 x limit - 1.
//
// A key whose TAT has passed is indistinguishable from one never seen, so such
// keys are dropped without changing any answer; memory follows the number of
// keys active in the last minute. Keys are spread over mutex-guarded shards by
// hash so concurrent requests for different keys rarely wait on each other.
// Denied requests do not consume quota.
class RateLimiter final : public RequestLimiter {
 public:
  // Limits above this would make 60 s / limit too coarse in nanoseconds to stay exact.
  static constexpr int kMaxLimitPerMinute = api::kMaxLimitPerMinute;

  explicit RateLimiter(const Clock& clock, RateLimiterOptions options = {});
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  Decision Check(std::string_view key, int limit_per_minute) override;

  // Keys currently tracked (stale ones may still be counted until their shard is swept).
  std::size_t KeyCount() const;

 private:
  struct Shard;

  const Clock& clock_;
  std::size_t max_keys_per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace herald::api
