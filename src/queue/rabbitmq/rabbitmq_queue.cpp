#include "queue/rabbitmq/rabbitmq_queue.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <cstring>
#include <set>
#include <stdexcept>

namespace herald::queue::rabbitmq {
namespace {

constexpr amqp_channel_t kChannel = 1;

amqp_bytes_t Bytes(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }
std::string ToString(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

std::string Describe(amqp_rpc_reply_t reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return "ok";
    case AMQP_RESPONSE_NONE: return "missing reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
        return "connection closed by the broker: " + std::to_string(m->reply_code) + " " + ToString(m->reply_text);
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
        return "channel closed by the broker: " + std::to_string(m->reply_code) + " " + ToString(m->reply_text);
      }
      return "broker error";
  }
  return "unknown error";
}

struct Outgoing {
  std::string routing_key;
  std::string message_id;
  std::string body;
  int priority = 0;
  std::string reason;  // x-herald-reason header, for dead letters
};

}  // namespace

// One AMQP connection with one channel. Not thread-safe: callers hold `mutex`.
class AmqpConnection {
 public:
  AmqpConnection(const RabbitMqSettings& settings, bool confirms) : settings_(settings) {
    state_ = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    if (socket == nullptr) Fail("cannot create a socket");
    timeval timeout = ToTimeval(settings.timeout);
    if (amqp_socket_open_noblock(socket, settings.host.c_str(), settings.port, &timeout) != AMQP_STATUS_OK) {
      Fail("cannot connect");
    }
    Check(amqp_login(state_, settings.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, settings.username.c_str(),
                     settings.password.c_str()),
          "login");
    amqp_channel_open(state_, kChannel);
    Check(amqp_get_rpc_reply(state_), "channel.open");
    if (confirms) {
      amqp_confirm_select(state_, kChannel);
      Check(amqp_get_rpc_reply(state_), "confirm.select");
    }
  }

  ~AmqpConnection() {
    amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
  }

  std::mutex mutex;

  std::uint32_t DeclareQueue(const std::string& name, amqp_table_t arguments = amqp_empty_table) {
    auto* ok = amqp_queue_declare(state_, kChannel, Bytes(name), 0, 1, 0, 0, arguments);
    Check(amqp_get_rpc_reply(state_), "queue.declare " + name);
    return ok->message_count;
  }

  void DeleteQueue(const std::string& name) {
    amqp_queue_delete(state_, kChannel, Bytes(name), 0, 0);
    Check(amqp_get_rpc_reply(state_), "queue.delete " + name);
  }

  // Publishes persistent messages and returns once the broker confirmed them all.
  void PublishConfirmed(const std::vector<Outgoing>& messages) {
    std::set<std::uint64_t> unconfirmed;
    for (const auto& m : messages) {
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
                     AMQP_BASIC_PRIORITY_FLAG;
      props.delivery_mode = 2;
      props.message_id = Bytes(m.message_id);
      props.content_type = amqp_cstring_bytes("application/json");
      props.priority = static_cast<std::uint8_t>(std::clamp(m.priority, 0, 9));
      amqp_table_entry_t header;
      if (!m.reason.empty()) {
        header.key = amqp_cstring_bytes("x-herald-reason");
        header.value.kind = AMQP_FIELD_KIND_UTF8;
        header.value.value.bytes = Bytes(m.reason);
        props._flags |= AMQP_BASIC_HEADERS_FLAG;
        props.headers = {1, &header};
      }
      const int rc = amqp_basic_publish(state_, kChannel, amqp_empty_bytes, Bytes(m.routing_key), 0, 0, &props,
                                        Bytes(m.body));
      if (rc != AMQP_STATUS_OK) Fail("publish to " + m.routing_key + ": " + amqp_error_string2(rc));
      unconfirmed.insert(++publish_sequence_);
    }
    while (!unconfirmed.empty()) {
      amqp_frame_t frame;
      timeval timeout = ToTimeval(settings_.timeout);
      const int rc = amqp_simple_wait_frame_noblock(state_, &frame, &timeout);
      if (rc != AMQP_STATUS_OK) Fail(std::string("waiting for publisher confirms: ") + amqp_error_string2(rc));
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        if (ack->multiple) {
          unconfirmed.erase(unconfirmed.begin(), unconfirmed.upper_bound(ack->delivery_tag));
        } else {
          unconfirmed.erase(ack->delivery_tag);
        }
      } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
        Fail("the broker refused a message (basic.nack)");
      } else if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                 frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
        Fail("the broker closed the channel while publishing");
      }
    }
  }

  void StartConsuming(const std::string& queue, int prefetch) {
    amqp_basic_qos(state_, kChannel, 0, static_cast<std::uint16_t>(prefetch), 0);
    Check(amqp_get_rpc_reply(state_), "basic.qos");
    amqp_basic_consume(state_, kChannel, Bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    Check(amqp_get_rpc_reply(state_), "basic.consume " + queue);
  }

  // Next delivery within `wait`, or nullopt.
  std::optional<Lease> NextDelivery(const std::string& lane, std::chrono::milliseconds wait) {
    amqp_maybe_release_buffers(state_);
    amqp_envelope_t envelope;
    timeval timeout = ToTimeval(wait);
    const auto reply = amqp_consume_message(state_, &envelope, &timeout, 0);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) {
      return std::nullopt;
    }
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) Fail("consuming " + lane + ": " + Describe(reply));
    Lease lease;
    lease.lane = lane;
    if (envelope.message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
      lease.message_id = ToString(envelope.message.properties.message_id);
    }
    lease.body = ToString(envelope.message.body);
    lease.delivery_count = envelope.redelivered ? 2 : 1;
    lease.tag = envelope.delivery_tag;
    amqp_destroy_envelope(&envelope);
    return lease;
  }

  bool HasBufferedData() { return amqp_data_in_buffer(state_) || amqp_frames_enqueued(state_); }

  void AckDelivery(std::uint64_t tag) {
    const int rc = amqp_basic_ack(state_, kChannel, tag, 0);
    if (rc != AMQP_STATUS_OK) Fail(std::string("basic.ack: ") + amqp_error_string2(rc));
  }

  // Drains a queue with basic.get (auto-ack) and returns the message ids.
  std::vector<std::string> Drain(const std::string& queue) {
    std::vector<std::string> ids;
    while (true) {
      amqp_maybe_release_buffers(state_);
      const auto reply = amqp_basic_get(state_, kChannel, Bytes(queue), 1);
      Check(reply, "basic.get " + queue);
      if (reply.reply.id != AMQP_BASIC_GET_OK_METHOD) return ids;
      amqp_message_t message;
      Check(amqp_read_message(state_, kChannel, &message, 0), "reading from " + queue);
      if (message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) ids.push_back(ToString(message.properties.message_id));
      amqp_destroy_message(&message);
    }
  }

 private:
  static timeval ToTimeval(std::chrono::milliseconds ms) {
    return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
  }
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("RabbitMQ " + settings_.Describe() + ": " + what);
  }
  void Check(amqp_rpc_reply_t reply, const std::string& what) const {
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) Fail(what + ": " + Describe(reply));
  }

  const RabbitMqSettings& settings_;
  amqp_connection_state_t state_;
  std::uint64_t publish_sequence_ = 0;
};

Result<RabbitMqSettings> ParseAmqpUrl(std::string_view url) {
  struct amqp_connection_info info;
  std::string copy(url);
  amqp_default_connection_info(&info);
  if (amqp_parse_url(copy.data(), &info) != AMQP_STATUS_OK) {
    return MakeError("amqp_url.invalid", "not an AMQP URL (amqp://user:pass@host:port/vhost)");
  }
  if (info.ssl) return MakeError("amqp_url.invalid", "amqps:// is not supported yet; use amqp:// on a trusted network");
  RabbitMqSettings settings;
  settings.host = info.host;
  settings.port = info.port;
  settings.username = info.user;
  settings.password = info.password;
  settings.vhost = info.vhost;
  return settings;
}

RabbitMqQueue::RabbitMqQueue(RabbitMqSettings settings)
    : settings_(std::move(settings)), publisher_(std::make_unique<AmqpConnection>(settings_, true)) {}

RabbitMqQueue::~RabbitMqQueue() = default;

std::chrono::milliseconds RabbitMqQueue::RetryStep(std::chrono::milliseconds delay) {
  double step = 100.0;
  while (step < static_cast<double>(delay.count()) && step < 86'400'000.0) step *= std::sqrt(2.0);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(step)));
}

void RabbitMqQueue::EnsureLane(const std::string& lane) {
  std::lock_guard lock(publisher_mutex_);
  publisher_->DeclareQueue(lane);
}

RemovedLane RabbitMqQueue::RemoveLane(const std::string& lane) {
  {
    std::lock_guard lock(consumers_mutex_);
    consumers_.erase(lane);  // unacked deliveries go back to the queue first
  }
  std::lock_guard lock(publisher_mutex_);
  RemovedLane removed{lane, {}};
  publisher_->DeclareQueue(lane);
  removed.pending_message_ids = publisher_->Drain(lane);
  publisher_->DeleteQueue(lane);
  // Messages parked for a retry are pending work of the lane too; deleting a
  // queue that never existed is harmless in RabbitMQ.
  for (auto step = RetryStep(std::chrono::milliseconds(0)); step < std::chrono::hours(24);
       step = RetryStep(step + std::chrono::milliseconds(1))) {
    publisher_->DeleteQueue(lane + ".retry." + std::to_string(step.count()));
  }
  return removed;
}

void RabbitMqQueue::Publish(const std::string& lane, const std::vector<OutgoingItem>& items) {
  std::vector<Outgoing> messages;
  messages.reserve(items.size());
  for (const auto& item : items) messages.push_back({lane, item.message_id, item.body, item.priority, {}});
  std::lock_guard lock(publisher_mutex_);
  // Confirms are awaited in batches: one round trip per batch instead of per message.
  constexpr size_t kBatch = 500;
  for (size_t start = 0; start < messages.size(); start += kBatch) {
    const auto end = std::min(messages.size(), start + kBatch);
    publisher_->PublishConfirmed({messages.begin() + static_cast<long>(start), messages.begin() + static_cast<long>(end)});
  }
}

AmqpConnection& RabbitMqQueue::ConsumerFor(const std::string& lane) {
  std::lock_guard lock(consumers_mutex_);
  auto& consumer = consumers_[lane];
  if (!consumer) {
    auto connection = std::make_unique<AmqpConnection>(settings_, false);
    connection->DeclareQueue(lane);
    connection->StartConsuming(lane, settings_.prefetch);
    consumer = std::move(connection);
  }
  return *consumer;
}

std::vector<Lease> RabbitMqQueue::Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) {
  auto& consumer = ConsumerFor(lane);
  std::lock_guard lock(consumer.mutex);
  std::vector<Lease> leases;
  auto first = consumer.NextDelivery(lane, wait);
  if (!first) return leases;
  leases.push_back(std::move(*first));
  while (static_cast<int>(leases.size()) < max_items && consumer.HasBufferedData()) {
    auto next = consumer.NextDelivery(lane, std::chrono::milliseconds(1));
    if (!next) break;
    leases.push_back(std::move(*next));
  }
  return leases;
}

void RabbitMqQueue::Ack(const std::vector<Lease>& leases) {
  for (const auto& lease : leases) {
    auto& consumer = ConsumerFor(lease.lane);
    std::lock_guard lock(consumer.mutex);
    consumer.AckDelivery(lease.tag);
  }
}

void RabbitMqQueue::Retry(const Lease& lease, std::chrono::milliseconds delay) {
  const auto step = RetryStep(delay);
  const auto parking = lease.lane + ".retry." + std::to_string(step.count());
  {
    std::lock_guard lock(publisher_mutex_);
    amqp_table_entry_t entries[3];
    entries[0].key = amqp_cstring_bytes("x-message-ttl");
    entries[0].value.kind = AMQP_FIELD_KIND_I64;
    entries[0].value.value.i64 = step.count();
    entries[1].key = amqp_cstring_bytes("x-dead-letter-exchange");
    entries[1].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[1].value.value.bytes = amqp_cstring_bytes("");
    entries[2].key = amqp_cstring_bytes("x-dead-letter-routing-key");
    entries[2].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[2].value.value.bytes = Bytes(lease.lane);
    publisher_->DeclareQueue(parking, {3, entries});
    publisher_->PublishConfirmed({{parking, lease.message_id, lease.body, 0, {}}});
  }
  // The copy is safely parked before the original is acknowledged.
  Ack({lease});
}

void RabbitMqQueue::DeadLetter(const Lease& lease, const std::string& reason) {
  {
    std::lock_guard lock(publisher_mutex_);
    publisher_->DeclareQueue(lease.lane + ".dead");
    publisher_->PublishConfirmed({{lease.lane + ".dead", lease.message_id, lease.body, 0, reason}});
  }
  Ack({lease});
}

std::int64_t RabbitMqQueue::Depth(const std::string& lane) {
  std::lock_guard lock(publisher_mutex_);
  return publisher_->DeclareQueue(lane);
}

}  // namespace herald::queue::rabbitmq
