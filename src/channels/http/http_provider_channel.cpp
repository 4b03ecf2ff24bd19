#include "channels/http/http_provider_channel.hpp"

#include <algorithm>
#include <stdexcept>

#include "channels/http/http_outcome.hpp"

namespace herald::channels::http {

HttpProviderChannel::HttpProviderChannel(HttpClient& client, ProviderLimits limits, const std::string& setting)
    : client_(client), limits_(limits) {
  if (limits_.connect_timeout.count() <= 0 || limits_.timeout.count() <= 0) {
    throw std::invalid_argument(setting + " connect_timeout and timeout must be positive");
  }
  if (limits_.max_in_flight < 1) throw std::invalid_argument(setting + " max_in_flight must be at least 1");
}

boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> HttpProviderChannel::Send(
    std::span<const RenderedMessage> messages, Deadline deadline) {
  return SendEach(messages, [this, deadline](const RenderedMessage& message) { return SendOne(message, deadline); });
}

boost::asio::awaitable<domain::DeliveryOutcome> HttpProviderChannel::SendOne(const RenderedMessage& message,
                                                                             Deadline deadline) {
  auto made = RequestFor(message);
  if (auto* outcome = std::get_if<domain::DeliveryOutcome>(&made)) co_return std::move(*outcome);
  auto request = std::get<HttpRequest>(std::move(made));
  const auto left = TimeLeft(deadline);
  if (!left) {
    co_return domain::DeliveryOutcome::Transient("the send's deadline passed before the request to " + description_ +
                                                 " was made");
  }
  request.connect_timeout = std::min(limits_.connect_timeout, *left);
  request.timeout = std::min(limits_.timeout, *left);
  const auto request_bytes = static_cast<std::int64_t>(request.body.size());
  const auto response = co_await client_.Perform(std::move(request));
  if (response.status > 0) co_return Classify(response, message);
  co_return NoAnswerOutcome(response, request_bytes, description_);
}

}  // namespace herald::channels::http
