#include "redis/redis_list_queue.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "common/hash.hpp"

namespace herald::redis {
namespace {

constexpr std::string_view kHeader = "\x01herald ";

// Renews this consumer's lease, then takes due retries, recovered items and
// new ones, in that order, into the consumer's taken list. An item without
// its header (pushed by another service) gets one on the way: a new id and count 1.
// KEYS: lane, recovered, delayed, taken, consumer lease, generation, sequence
// ARGV: max items, lease ms, a generation to use if the lane has none yet
constexpr const char* kTakeScript = R"lua(
redis.call('SET', KEYS[5], '1', 'PX', ARGV[2])
local max = tonumber(ARGV[1])
local out = {}
local generation = nil
local function take(v)
  if string.sub(v, 1, 8) ~= '\1herald ' then
    if not generation then
      generation = redis.call('GET', KEYS[6])
      if not generation then
        generation = ARGV[3]
        redis.call('SET', KEYS[6], generation)
      end
    end
    v = '\1herald 1 ' .. generation .. '-' .. redis.call('INCR', KEYS[7]) .. '\n' .. v
  end
  redis.call('LPUSH', KEYS[4], v)
  out[#out + 1] = v
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, v in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, max)) do
  redis.call('ZREM', KEYS[3], v)
  take(v)
end
for _, source in ipairs({KEYS[2], KEYS[1]}) do
  while #out < max do
    local v = redis.call('RPOP', source)
    if not v then break end
    take(v)
  end
end
return out
)lua";

// Moves a consumer's taken items to the recovered list, each counted as one
// more delivery, and ends its lease. With ARGV[1] = "abandoned" only when the
// lease has run out (the consumer is gone), so a live one keeps its items.
// KEYS: taken, recovered, consumer lease
constexpr const char* kReleaseScript = R"lua(
if ARGV[1] == 'abandoned' and redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local moved = 0
while true do
  local v = redis.call('RPOP', KEYS[1])
  if not v then break end
  local count, rest = string.match(v, '^\1herald (%d+) (.*)$')
  if count then v = '\1herald ' .. (tonumber(count) + 1) .. ' ' .. rest end
  redis.call('LPUSH', KEYS[2], v)
  moved = moved + 1
end
redis.call('DEL', KEYS[3])
return moved
)lua";

// KEYS: taken, delayed; ARGV: item as taken, item as it comes back, delay ms.
// An item no longer in the taken list went to another consumer meanwhile.
constexpr const char* kRetryScript = R"lua(
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
return 1
)lua";

// KEYS: taken, dead lane; ARGV: item as taken, dead letter
constexpr const char* kDeadLetterScript = R"lua(
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
)lua";

std::string Envelope(int count, const std::string& id, const std::string& body) {
  return std::string(kHeader) + std::to_string(count) + " " + id + "\n" + body;
}

std::string Envelope(const queue::Lease& lease) { return Envelope(lease.delivery_count, lease.message_id, lease.body); }

// The lease an item in a taken list stands for; nullopt when it has no header.
std::optional<queue::Lease> LeaseOf(const std::string& lane, const std::string& item) {
  if (item.compare(0, kHeader.size(), kHeader) != 0) return std::nullopt;
  const auto count_end = item.find(' ', kHeader.size());
  const auto id_end = item.find('\n', kHeader.size());
  if (count_end == std::string::npos || id_end == std::string::npos || count_end > id_end) return std::nullopt;
  queue::Lease lease;
  lease.lane = lane;
  try {
    lease.delivery_count = std::stoi(item.substr(kHeader.size(), count_end - kHeader.size()));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  lease.message_id = item.substr(count_end + 1, id_end - count_end - 1);
  lease.body = item.substr(id_end + 1);
  return lease;
}

std::string Recovered(const std::string& lane) { return lane + ":herald:recovered"; }
std::string Delayed(const std::string& lane) { return lane + ":herald:delayed"; }
std::string TakenPrefix(const std::string& lane) { return lane + ":herald:taken:"; }
std::string LeasePrefix(const std::string& lane) { return lane + ":herald:consumer:"; }

std::string GlobEscaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string NewConsumerId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string name(host);
  for (auto& c : name) {
    if (c == ':' || c == ' ' || c == '*') c = '-';
  }
  return (name.empty() ? "herald" : name) + "-" + std::to_string(getpid()) + "-" + RandomHex(4);
}

void RequireUsableId(const std::string& id) {
  if (id.empty() || id.find_first_of(" \n") != std::string::npos) {
    throw std::invalid_argument("redis list queue: message id \"" + id + "\" must be non-empty, without spaces or newlines");
  }
}

}  // namespace

RedisListQueue::RedisListQueue(RedisClient& redis, RedisListQueueOptions options)
    : redis_(redis), options_(std::move(options)), consumer_(NewConsumerId()) {}

RedisListQueue::~RedisListQueue() {
  for (const auto& lane : taken_lanes_) {
    try {
      redis_.Run({"EVAL", kReleaseScript, "3", TakenPrefix(lane) + consumer_, Recovered(lane),
                  LeasePrefix(lane) + consumer_, "release"});
    } catch (const RedisError& e) {
      spdlog::warn("{}: taken items not handed back ({}); other consumers take them once this one's lease ends",
                   lane, e.what());
    }
  }
}

void RedisListQueue::EnsureLane(const std::string&) {
  // A Redis list exists while it holds items; there is nothing to declare.
}

queue::RemovedLane RedisListQueue::RemoveLane(const std::string& lane) {
  queue::RemovedLane removed{lane, {}};
  const auto result = redis_.Pipeline({{"LRANGE", lane, "0", "-1"},
                                       {"LRANGE", Recovered(lane), "0", "-1"},
                                       {"ZRANGE", Delayed(lane), "0", "-1"},
                                       {"DEL", lane, Recovered(lane), Delayed(lane)}});
  for (std::size_t i = 0; i < 3 && i < result.replies.size(); ++i) {
    for (const auto& item : result.replies[i].elements) {
      if (const auto lease = LeaseOf(lane, item.text)) removed.pending_message_ids.push_back(lease->message_id);
    }
  }
  return removed;
}

void RedisListQueue::Publish(const std::string& lane, const std::vector<queue::OutgoingItem>& items) {
  if (items.empty()) return;
  const bool plain = options_.plain_lanes.contains(lane);
  RedisClient::Command command{"LPUSH", lane};
  command.reserve(items.size() + 2);
  for (const auto& item : items) {
    if (plain) {
      command.push_back(item.body);
    } else {
      RequireUsableId(item.message_id);
      command.push_back(Envelope(1, item.message_id, item.body));
    }
  }
  redis_.Run(command);
}

void RedisListQueue::RecoverAbandoned(const std::string& lane) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto& next = next_recovery_[lane];
    if (now < next) return;
    next = now + options_.recovery_interval;
  }
  const auto prefix = TakenPrefix(lane);
  std::string cursor = "0";
  do {
    const auto page = redis_.Run({"SCAN", cursor, "MATCH", GlobEscaped(prefix) + "*", "COUNT", "1000"});
    if (page.type != Reply::Type::kArray || page.elements.size() != 2) return;
    cursor = page.elements[0].text;
    for (const auto& key : page.elements[1].elements) {
      const auto consumer = key.text.substr(prefix.size());
      if (consumer == consumer_) continue;
      const auto moved = redis_.Run(
          {"EVAL", kReleaseScript, "3", key.text, Recovered(lane), LeasePrefix(lane) + consumer, "abandoned"});
      if (moved.integer > 0) {
        spdlog::warn("{}: {} items of consumer {}, gone without acknowledging them, are taken again", lane,
                     moved.integer, consumer);
      }
    }
  } while (cursor != "0");
}

std::vector<queue::Lease> RedisListQueue::TakeOnce(const std::string& lane, int max_items) {
  RecoverAbandoned(lane);
  {
    std::lock_guard lock(mutex_);
    taken_lanes_.insert(lane);
  }
  const auto reply = redis_.Run({"EVAL", kTakeScript, "7", lane, Recovered(lane), Delayed(lane),
                                 TakenPrefix(lane) + consumer_, LeasePrefix(lane) + consumer_,
                                 lane + ":herald:generation", lane + ":herald:sequence", std::to_string(max_items),
                                 std::to_string(options_.consumer_lease.count()), RandomHex(4)});
  std::vector<queue::Lease> leases;
  leases.reserve(reply.elements.size());
  for (const auto& item : reply.elements) {
    if (auto lease = LeaseOf(lane, item.text)) {
      leases.push_back(std::move(*lease));
    } else {
      // Cannot happen: the script gives every item its header.
      spdlog::error("{}: an item without its header was taken and is left in {}", lane, TakenPrefix(lane) + consumer_);
    }
  }
  return leases;
}

std::vector<queue::Lease> RedisListQueue::Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) {
  if (max_items <= 0) return {};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto leases = TakeOnce(lane, max_items);
    if (!leases.empty()) return leases;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::milliseconds(0)) return leases;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, options_.poll_interval));
  }
}

void RedisListQueue::Ack(const std::vector<queue::Lease>& leases) {
  if (leases.empty()) return;
  std::vector<RedisClient::Command> commands;
  commands.reserve(leases.size());
  for (const auto& lease : leases) commands.push_back({"LREM", TakenPrefix(lease.lane) + consumer_, "1", Envelope(lease)});
  const auto result = redis_.Pipeline(commands);
  for (const auto& error : result.errors) {
    if (!error.empty()) throw RedisError("redis: acknowledging an item failed: " + error);
  }
}

void RedisListQueue::Retry(const queue::Lease& lease, std::chrono::milliseconds delay) {
  auto again = lease;
  ++again.delivery_count;
  redis_.Run({"EVAL", kRetryScript, "2", TakenPrefix(lease.lane) + consumer_, Delayed(lease.lane), Envelope(lease),
              Envelope(again), std::to_string(std::max<std::int64_t>(0, delay.count()))});
}

void RedisListQueue::DeadLetter(const queue::Lease& lease, const std::string& reason) {
  const nlohmann::json letter{{"message_id", lease.message_id}, {"reason", reason}, {"body", lease.body}};
  redis_.Run({"EVAL", kDeadLetterScript, "2", TakenPrefix(lease.lane) + consumer_, lease.lane + ".dead", Envelope(lease),
              letter.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
}

std::int64_t RedisListQueue::Depth(const std::string& lane) {
  const auto result = redis_.Pipeline({{"LLEN", lane}, {"LLEN", Recovered(lane)}, {"ZCARD", Delayed(lane)}});
  std::int64_t depth = 0;
  for (const auto& reply : result.replies) depth += reply.integer;
  return depth;
}

}  // namespace herald::redis
