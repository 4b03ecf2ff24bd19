// Seed 001's sent cache in Redis: herald:sent:<message id> holds
// {"provider_message_id", "sent_at"} (JSON) for a week after the send.
#pragma once

#include <chrono>
#include <string>

#include "redis/redis_client.hpp"
#include "store/sent_cache.hpp"

namespace herald::redis {

class RedisSentCache final : public store::SentCache {
 public:
  explicit RedisSentCache(RedisClient& redis, std::chrono::seconds ttl = std::chrono::hours(24 * 7),
                          std::string key_prefix = "herald:sent:");

  void Remember(const std::vector<store::SentEntry>& sent) override;
  std::optional<std::vector<std::optional<store::SentEntry>>> Recall(const std::vector<std::int64_t>& message_ids) override;
  std::string Health() override { return redis_.last_error(); }

  std::string KeyOf(std::int64_t message_id) const { return key_prefix_ + std::to_string(message_id); }

 private:
  RedisClient& redis_;
  const std::chrono::seconds ttl_;
  const std::string key_prefix_;
};

}  // namespace herald::redis
