#include "queue/rabbitmq/rabbitmq_settings.hpp"

#include <amqp.h>

namespace herald::queue::rabbitmq {

std::string RabbitMqSettings::Describe() const {
  return "RabbitMQ at " + host + ":" + std::to_string(port) + " (vhost \"" + vhost + "\")";
}

Result<RabbitMqSettings> ParseAmqpUrl(std::string_view url) {
  // amqp_parse_url writes into its argument and points the result into it.
  std::string copy(url);
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(copy.data(), &info) != AMQP_STATUS_OK) {
    return MakeError("amqp_url.invalid",
                     "not a valid AMQP URL (expected amqp://user:password@host:port/vhost, with a port "
                     "in 1-65535 and no query parameters)");
  }
  if (info.ssl) {
    return MakeError("amqp_url.tls_unsupported", "amqps:// (TLS) is not supported; use amqp:// on a trusted network");
  }
  RabbitMqSettings settings;
  settings.host = info.host;
  settings.port = info.port;
  settings.username = info.user;
  settings.password = info.password;
  // "amqp://host/" names the empty vhost in the AMQP URI spec, which RabbitMQ never
  // has; people who write it mean the default one.
  settings.vhost = *info.vhost == '\0' ? "/" : info.vhost;
  if (settings.host.empty()) return MakeError("amqp_url.invalid", "the AMQP URL has no host");
  return settings;
}

}  // namespace herald::queue::rabbitmq
