#include "channels/channel.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <string>

namespace herald::channels {

using domain::DeliveryOutcome;

boost::asio::awaitable<std::vector<DeliveryOutcome>> SendNoThrow(Channel& channel,
                                                                 std::span<const RenderedMessage> messages,
                                                                 Deadline deadline) {
  std::vector<DeliveryOutcome> outcomes;
  std::string failure;
  try {
    outcomes = co_await channel.Send(messages, deadline);
  } catch (const std::exception& e) {
    failure = std::string("the ") + channel.Describe() + " channel failed during the send: " + e.what();
    outcomes.clear();
  } catch (...) {
    failure = "the " + channel.Describe() + " channel failed during the send";
    outcomes.clear();
  }
  if (failure.empty() && outcomes.size() != messages.size()) {
    failure = "the " + channel.Describe() + " channel answered " + std::to_string(outcomes.size()) + " outcomes for " +
              std::to_string(messages.size()) + " messages";
  }
  if (!failure.empty()) {
    // Whatever the adapter reported before it broke is kept.
    outcomes.resize(messages.size(), DeliveryOutcome::Unknown(failure + "; it may or may not have been delivered"));
  }
  co_return outcomes;
}

DeliveryOutcome SendAndWait(const boost::asio::any_io_executor& executor, Channel& channel,
                            const RenderedMessage& message, std::chrono::milliseconds timeout) {
  auto run = [&channel, &message, timeout]() -> boost::asio::awaitable<DeliveryOutcome> {
    const auto outcomes = co_await SendNoThrow(channel, std::span<const RenderedMessage>(&message, 1),
                                               std::chrono::steady_clock::now() + timeout);
    co_return outcomes.front();
  };
  return boost::asio::co_spawn(executor, run(), boost::asio::use_future).get();
}

}  // namespace herald::channels
