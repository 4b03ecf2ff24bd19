// Where and how to reach RabbitMQ, parsed from the one URL a user configures
// (amqp://user:pass@host:port/vhost) plus consumer tuning. Describe() is what error
// messages show: host, port and vhost, never the password.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace herald::queue::rabbitmq {

struct RabbitMqSettings {
  std::string host = "localhost";
  int port = 5672;
  std::string vhost = "/";
  std::string username = "guest";
  std::string password = "guest";
  int prefetch = 64;                  // unacked deliveries per consumer (basic.qos)
  std::size_t confirm_batch = 500;    // messages published before waiting for their confirms
  std::chrono::milliseconds timeout{10000};  // connect, each RPC and each confirm wait
  // Lanes named "<exchange>.<key>" for one of these are bound to that durable
  // direct exchange under <key>, and published to through it (seed 004: the
  // exchange herald.messages with the routing keys sms, email, whatsapp, telegram).
  std::vector<std::string> routed_exchanges;

  std::string Describe() const;
};

// amqp://user:pass@host:port/vhost, each part percent-decoded and optional:
// defaults guest:guest@localhost:5672, vhost "/" (written %2f; an empty path is "/" too).
Result<RabbitMqSettings> ParseAmqpUrl(std::string_view url);

}  // namespace herald::queue::rabbitmq
