// A provider's request slots and per-recipient turns shared by every worker
// through Redis: two `herald worker` processes with twilio.max_in_flight = 8
// keep 8 requests at Twilio between them, not 8 each, and two workers writing
// to one Telegram chat keep one message a second between them.
//
// Each keeps this process's own object in front (its slots) or beside it (its
// turns) and uses it alone while Redis does not answer, asking Redis again a
// second later; a send never waits on an outage.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "dispatch/provider_limits.hpp"
#include "redis/redis_client.hpp"

namespace herald::redis {

// Slots counted per process in a hash (herald:inflight:<name>), each process's
// entry a lease renewed whenever it takes or gives back slots: slots a killed
// worker held are free again once its lease runs out (`lease`, longer than any
// send's deadline), and never before.
class RedisInFlightLimit final : public dispatch::InFlightLimit {
 public:
  RedisInFlightLimit(RedisClient& redis, const std::string& name, int limit,
                     std::chrono::milliseconds lease = std::chrono::seconds(120),
                     std::string key_prefix = "herald:inflight:");

  int TryAcquire(int wanted) override;
  void Release(int slots) override;

  bool falling_back() const;
  // Unique per object: this process's entry in the shared count.
  const std::string& holder() const { return holder_; }

 private:
  RedisClient& redis_;
  const std::string key_;
  const std::string holder_;
  const int limit_;
  const std::chrono::milliseconds lease_;
  dispatch::LocalInFlightLimit own_;

  mutable std::mutex mutex_;
  int from_redis_ = 0;  // slots this process holds in the shared count
  bool falling_back_ = false;
  std::chrono::steady_clock::time_point next_ask_{};
};

// The next turn per recipient in a key of its own (herald:spacing:<name>:<to>),
// expiring once the turn is past.
class RedisRecipientSpacing final : public dispatch::RecipientSpacing {
 public:
  RedisRecipientSpacing(RedisClient& redis, const std::string& name, std::chrono::milliseconds interval,
                        std::string key_prefix = "herald:spacing:");

  Clock::TimePoint Reserve(const std::string& to, Clock::TimePoint now) override;
  std::chrono::milliseconds interval() const override { return own_.interval(); }

  bool falling_back() const;

 private:
  RedisClient& redis_;
  const std::string key_prefix_;
  dispatch::LocalRecipientSpacing own_;

  mutable std::mutex mutex_;
  bool falling_back_ = false;
  std::chrono::steady_clock::time_point next_ask_{};
};

}  // namespace herald::redis
