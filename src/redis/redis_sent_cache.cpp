#include "redis/redis_sent_cache.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <utility>

namespace herald::redis {

RedisSentCache::RedisSentCache(RedisClient& redis, std::chrono::seconds ttl, std::string key_prefix)
    : redis_(redis), ttl_(ttl), key_prefix_(std::move(key_prefix)) {}

void RedisSentCache::Remember(const std::vector<store::SentEntry>& sent) {
  if (sent.empty()) return;
  std::vector<RedisClient::Command> commands;
  commands.reserve(sent.size());
  for (const auto& entry : sent) {
    const nlohmann::json value{{"provider_message_id", entry.provider_message_id}, {"sent_at_ms", entry.sent_at_ms}};
    commands.push_back({"SET", KeyOf(entry.message_id), value.dump(), "EX", std::to_string(ttl_.count())});
  }
  try {
    const auto result = redis_.Pipeline(commands);
    for (const auto& error : result.errors) {
      if (!error.empty()) spdlog::warn("sent cache: redis refused a SET: {}", error);
    }
  } catch (const RedisError& e) {
    spdlog::warn("sent cache: {} sends not cached: {}", sent.size(), e.what());
  }
}

std::optional<std::vector<std::optional<store::SentEntry>>> RedisSentCache::Recall(
    const std::vector<std::int64_t>& message_ids) {
  std::vector<std::optional<store::SentEntry>> out(message_ids.size());
  if (message_ids.empty()) return out;
  RedisClient::Command command{"MGET"};
  for (const auto id : message_ids) command.push_back(KeyOf(id));
  Reply reply;
  try {
    reply = redis_.Run(command);
  } catch (const RedisError&) {
    return std::nullopt;
  }
  if (reply.type != Reply::Type::kArray || reply.elements.size() != message_ids.size()) return std::nullopt;
  for (std::size_t i = 0; i < message_ids.size(); ++i) {
    if (reply.elements[i].type != Reply::Type::kString) continue;
    // Anything but the shape this class writes is a miss: the store answers instead.
    const auto value = nlohmann::json::parse(reply.elements[i].text, nullptr, false);
    if (!value.is_object() || !value.contains("provider_message_id") || !value["provider_message_id"].is_string() ||
        !value.contains("sent_at_ms") || !value["sent_at_ms"].is_number_integer()) {
      continue;
    }
    out[i] = store::SentEntry{message_ids[i], value["provider_message_id"].get<std::string>(),
                              value["sent_at_ms"].get<std::int64_t>()};
  }
  return out;
}

}  // namespace herald::redis
