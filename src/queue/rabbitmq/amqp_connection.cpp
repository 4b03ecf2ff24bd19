#include "queue/rabbitmq/amqp_connection.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace herald::queue::rabbitmq {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr int kNotFound = 404;
constexpr int kFrameMax = 131072;

amqp_bytes_t Bytes(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }
std::string ToString(amqp_bytes_t b) { return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len); }

timeval ToTimeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

std::string CloseText(const amqp_method_t& method) {
  if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* m = static_cast<const amqp_connection_close_t*>(method.decoded);
    return "connection closed by the broker: " + std::to_string(m->reply_code) + " " + ToString(m->reply_text);
  }
  if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* m = static_cast<const amqp_channel_close_t*>(method.decoded);
    return std::to_string(m->reply_code) + " " + ToString(m->reply_text);
  }
  return "unexpected method " + std::to_string(method.id);
}

std::optional<std::int64_t> IntegerValue(const amqp_field_value_t& v) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_I8: return v.value.i8;
    case AMQP_FIELD_KIND_U8: return v.value.u8;
    case AMQP_FIELD_KIND_I16: return v.value.i16;
    case AMQP_FIELD_KIND_U16: return v.value.u16;
    case AMQP_FIELD_KIND_I32: return v.value.i32;
    case AMQP_FIELD_KIND_U32: return v.value.u32;
    case AMQP_FIELD_KIND_I64: return v.value.i64;
    case AMQP_FIELD_KIND_U64: return static_cast<std::int64_t>(v.value.u64);
    default: return std::nullopt;
  }
}

// Quorum queues count earlier deliveries in x-delivery-count; classic queues only
// say whether a message was delivered before.
int DeliveryCount(const amqp_basic_properties_t& props, bool redelivered) {
  if (props._flags & AMQP_BASIC_HEADERS_FLAG) {
    for (int i = 0; i < props.headers.num_entries; ++i) {
      const auto& entry = props.headers.entries[i];
      if (ToString(entry.key) != "x-delivery-count") continue;
      if (const auto earlier = IntegerValue(entry.value)) return static_cast<int>(*earlier) + 1;
    }
  }
  return redelivered ? 2 : 1;
}

}  // namespace

struct AmqpConnection::Reply {
  int channel_error = 0;  // the broker's reply code when it closed the channel
  std::string text;
};

AmqpConnection::AmqpConnection(const RabbitMqSettings& settings, bool confirms)
    : settings_(settings), confirms_(confirms), state_(amqp_new_connection()) {
  if (state_ == nullptr) throw std::runtime_error(settings_.Describe() + ": out of memory");
  try {
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    if (socket == nullptr) Fail("cannot create a socket");
    timeval timeout = ToTimeval(settings_.timeout);
    errno = 0;
    const int rc = amqp_socket_open_noblock(socket, settings_.host.c_str(), settings_.port, &timeout);
    if (rc != AMQP_STATUS_OK) {
      // errno is only meaningful when the failure came from the OS, and a
      // non-blocking connect leaves EINPROGRESS behind even when it was refused.
      const bool os_reason = rc == AMQP_STATUS_SOCKET_ERROR && errno != 0 && errno != EINPROGRESS;
      const std::string reason = os_reason ? std::strerror(errno) : amqp_error_string2(rc);
      Fail("cannot connect: " + reason);
    }
    amqp_set_rpc_timeout(state_, &timeout);
    const auto login = amqp_login(state_, settings_.vhost.c_str(), 0, kFrameMax, 0, AMQP_SASL_METHOD_PLAIN,
                                  settings_.username.c_str(), settings_.password.c_str());
    if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
      Fail("login as \"" + settings_.username + "\" refused: " + CloseText(login.reply));
    }
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
      Fail("login as \"" + settings_.username + "\" failed: " + amqp_error_string2(login.library_error));
    }
    OpenChannel();
  } catch (...) {
    amqp_destroy_connection(state_);
    throw;
  }
}

AmqpConnection::~AmqpConnection() {
  if (!broken_) {
    // Closing the channel hands its unacknowledged deliveries back to their queues.
    amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(state_);
}

void AmqpConnection::Fail(const std::string& what) {
  throw std::runtime_error(settings_.Describe() + ": " + what);
}

AmqpConnection::Reply AmqpConnection::CheckRpc(const std::string& what) {
  const auto reply = amqp_get_rpc_reply(state_);
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return {};
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        Reply result{close->reply_code, CloseText(reply.reply)};
        RecoverChannel();
        return result;
      }
      broken_ = true;
      Fail(what + ": " + CloseText(reply.reply));
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      broken_ = true;
      Fail(what + ": " + amqp_error_string2(reply.library_error));
    case AMQP_RESPONSE_NONE: break;
  }
  broken_ = true;
  Fail(what + ": no reply from the broker");
}

void AmqpConnection::ExpectOk(const std::string& what) {
  const auto reply = CheckRpc(what);
  if (reply.channel_error != 0) Fail(what + ": " + reply.text);
}

void AmqpConnection::OpenChannel() {
  amqp_channel_open(state_, kChannel);
  const auto opened = amqp_get_rpc_reply(state_);
  if (opened.reply_type != AMQP_RESPONSE_NORMAL) {
    broken_ = true;
    Fail("cannot open a channel: " + (opened.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION
                                          ? CloseText(opened.reply)
                                          : std::string(amqp_error_string2(opened.library_error))));
  }
  published_ = 0;
  if (confirms_) {
    amqp_confirm_select(state_, kChannel);
    if (amqp_get_rpc_reply(state_).reply_type != AMQP_RESPONSE_NORMAL) {
      broken_ = true;
      Fail("the broker does not accept publisher confirms (confirm.select)");
    }
  }
}

void AmqpConnection::RecoverChannel() {
  // The broker closed the channel (e.g. 404 for a passive declare); the connection
  // is fine: acknowledge the close and open the channel again.
  amqp_channel_close_ok_t close_ok{};
  if (amqp_send_method(state_, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok) != AMQP_STATUS_OK) {
    broken_ = true;
    Fail("lost the connection while reopening a channel");
  }
  OpenChannel();
}

std::uint32_t AmqpConnection::Declare(const std::string& queue, const std::vector<QueueArgument>& arguments) {
  std::vector<amqp_table_entry_t> entries(arguments.size());
  for (size_t i = 0; i < arguments.size(); ++i) {
    entries[i].key = Bytes(arguments[i].key);
    if (const auto* number = std::get_if<std::int64_t>(&arguments[i].value)) {
      entries[i].value.kind = AMQP_FIELD_KIND_I64;
      entries[i].value.value.i64 = *number;
    } else {
      entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
      entries[i].value.value.bytes = Bytes(std::get<std::string>(arguments[i].value));
    }
  }
  const amqp_table_t table{static_cast<int>(entries.size()), entries.data()};
  const auto* ok = amqp_queue_declare(state_, kChannel, Bytes(queue), 0, 1, 0, 0, table);
  ExpectOk("declaring queue " + queue);
  return ok->message_count;
}

void AmqpConnection::DeclareExchange(const std::string& exchange) {
  amqp_exchange_declare(state_, kChannel, Bytes(exchange), amqp_cstring_bytes("direct"), 0, 1, 0, 0, amqp_empty_table);
  ExpectOk("declaring exchange " + exchange);
}

void AmqpConnection::Bind(const std::string& queue, const std::string& exchange, const std::string& routing_key) {
  amqp_queue_bind(state_, kChannel, Bytes(queue), Bytes(exchange), Bytes(routing_key), amqp_empty_table);
  ExpectOk("binding queue " + queue + " to exchange " + exchange);
}

std::optional<std::uint32_t> AmqpConnection::DeclarePassive(const std::string& queue) {
  const auto* ok = amqp_queue_declare(state_, kChannel, Bytes(queue), 1, 0, 0, 0, amqp_empty_table);
  const auto reply = CheckRpc("looking up queue " + queue);
  if (reply.channel_error == kNotFound) return std::nullopt;
  if (reply.channel_error != 0) Fail("looking up queue " + queue + ": " + reply.text);
  return ok->message_count;
}

void AmqpConnection::Delete(const std::string& queue) {
  amqp_queue_delete(state_, kChannel, Bytes(queue), 0, 0);
  ExpectOk("deleting queue " + queue);
}

void AmqpConnection::Publish(const std::vector<OutgoingMessage>& messages, std::size_t confirm_batch) {
  if (!confirms_) Fail("publishing on a connection without publisher confirms");
  std::vector<std::string> unroutable;
  bool refused = false;
  const std::size_t batch = std::max<std::size_t>(1, confirm_batch);
  for (std::size_t start = 0; start < messages.size(); start += batch) {
    const std::size_t end = std::min(messages.size(), start + batch);
    const std::uint64_t first = published_ + 1;
    for (std::size_t i = start; i < end; ++i) {
      const auto& m = messages[i];
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
      props.delivery_mode = 2;  // persistent
      props.message_id = Bytes(m.message_id);
      props.content_type = amqp_cstring_bytes("application/json");
      amqp_table_entry_t header;
      if (!m.reason.empty()) {
        header.key = amqp_cstring_bytes("x-herald-reason");
        header.value.kind = AMQP_FIELD_KIND_UTF8;
        header.value.value.bytes = Bytes(m.reason);
        props._flags |= AMQP_BASIC_HEADERS_FLAG;
        props.headers = {1, &header};
      }
      // Mandatory: a message for a queue that does not exist comes back instead of
      // vanishing in the default exchange.
      const int rc = amqp_basic_publish(state_, kChannel, m.exchange.empty() ? amqp_empty_bytes : Bytes(m.exchange),
                                        Bytes(m.routing_key), 1, 0, &props,
                                        Bytes(m.body));
      if (rc != AMQP_STATUS_OK) {
        broken_ = true;
        Fail("publishing to " + m.routing_key + ": " + amqp_error_string2(rc));
      }
      ++published_;
    }
    WaitForConfirms(first, unroutable, refused);
  }
  if (refused) Fail("the broker refused to store a message (basic.nack); see the broker's log");
  if (!unroutable.empty()) {
    Fail(std::to_string(unroutable.size()) + " message(s) could not be delivered: no queue named " + unroutable.front());
  }
}

void AmqpConnection::WaitForConfirms(std::uint64_t first, std::vector<std::string>& unroutable, bool& refused) {
  std::set<std::uint64_t> unconfirmed;
  for (auto tag = first; tag <= published_; ++tag) unconfirmed.insert(unconfirmed.end(), tag);
  auto settle = [&](const std::uint64_t tag, const bool multiple) {
    if (multiple) {
      unconfirmed.erase(unconfirmed.begin(), unconfirmed.upper_bound(tag));
    } else {
      unconfirmed.erase(tag);
    }
  };
  while (!unconfirmed.empty()) {
    amqp_maybe_release_buffers(state_);
    amqp_frame_t frame;
    timeval timeout = ToTimeval(settings_.timeout);
    const int rc = amqp_simple_wait_frame_noblock(state_, &frame, &timeout);
    if (rc != AMQP_STATUS_OK) {
      broken_ = true;
      Fail(std::string("waiting for publisher confirms: ") + amqp_error_string2(rc));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
        settle(ack->delivery_tag, ack->multiple != 0);
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
        refused = true;
        settle(nack->delivery_tag, nack->multiple != 0);
        break;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        const auto* returned = static_cast<const amqp_basic_return_t*>(frame.payload.method.decoded);
        unroutable.push_back(ToString(returned->routing_key));
        amqp_message_t message;
        const auto read = amqp_read_message(state_, frame.channel, &message, 0);
        if (read.reply_type != AMQP_RESPONSE_NORMAL) {
          broken_ = true;
          Fail("reading a returned message failed");
        }
        amqp_destroy_message(&message);
        break;
      }
      case AMQP_CHANNEL_CLOSE_METHOD: {
        const auto text = CloseText(frame.payload.method);
        RecoverChannel();
        Fail("the broker closed the channel while publishing: " + text);
      }
      case AMQP_CONNECTION_CLOSE_METHOD:
        broken_ = true;
        Fail(CloseText(frame.payload.method));
      default: break;
    }
  }
}

void AmqpConnection::Consume(const std::string& queue, int prefetch) {
  amqp_basic_qos(state_, kChannel, 0, static_cast<std::uint16_t>(std::clamp(prefetch, 1, 65535)), 0);
  ExpectOk("setting the prefetch (basic.qos)");
  amqp_basic_consume(state_, kChannel, Bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  ExpectOk("consuming from " + queue);
}

std::optional<Delivery> AmqpConnection::Next(std::chrono::milliseconds wait) {
  amqp_maybe_release_buffers(state_);
  amqp_envelope_t envelope;
  timeval timeout = ToTimeval(wait);
  const auto reply = amqp_consume_message(state_, &envelope, &timeout, 0);
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
    Delivery delivery;
    const auto& props = envelope.message.properties;
    if (props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) delivery.message_id = ToString(props.message_id);
    delivery.body = ToString(envelope.message.body);
    delivery.delivery_count = DeliveryCount(props, envelope.redelivered != 0);
    delivery.tag = envelope.delivery_tag;
    amqp_destroy_envelope(&envelope);
    return delivery;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) {
    return std::nullopt;
  }
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    // Something other than a delivery arrived; it is waiting to be read.
    amqp_frame_t frame;
    if (amqp_simple_wait_frame(state_, &frame) != AMQP_STATUS_OK) {
      broken_ = true;
      Fail("lost the connection while consuming");
    }
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      switch (frame.payload.method.id) {
        case AMQP_BASIC_CANCEL_METHOD:  // the queue was deleted
          cancelled_ = true;
          return std::nullopt;
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
          // The consumer's channel is gone and with it every lease it held.
          broken_ = true;
          Fail("consuming: " + CloseText(frame.payload.method));
        default: break;
      }
    }
    return std::nullopt;
  }
  broken_ = true;
  Fail(std::string("consuming: ") +
       (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION ? amqp_error_string2(reply.library_error)
                                                             : "unexpected reply"));
}

void AmqpConnection::Ack(std::uint64_t tag) {
  const int rc = amqp_basic_ack(state_, kChannel, tag, 0);
  if (rc != AMQP_STATUS_OK) {
    broken_ = true;
    Fail(std::string("acknowledging a delivery: ") + amqp_error_string2(rc));
  }
}

std::vector<std::string> AmqpConnection::Drain(const std::string& queue) {
  std::vector<std::string> ids;
  while (true) {
    amqp_maybe_release_buffers(state_);
    const auto reply = amqp_basic_get(state_, kChannel, Bytes(queue), 1);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      ExpectOk("draining " + queue);  // reads the same reply, recovers the channel and throws
      Fail("draining " + queue + " failed");
    }
    if (reply.reply.id != AMQP_BASIC_GET_OK_METHOD) return ids;
    amqp_message_t message;
    if (amqp_read_message(state_, kChannel, &message, 0).reply_type != AMQP_RESPONSE_NORMAL) {
      broken_ = true;
      Fail("reading from " + queue + " failed");
    }
    if (message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) ids.push_back(ToString(message.properties.message_id));
    amqp_destroy_message(&message);
  }
}

}  // namespace herald::queue::rabbitmq
