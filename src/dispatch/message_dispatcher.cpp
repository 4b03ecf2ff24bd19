#include "dispatch/message_dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <random>

#include "domain/delivery_state.hpp"

namespace herald::dispatch {
namespace {

double RandomUnit() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

std::string DomainOf(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? "herald.invalid" : address.substr(at + 1);
}

}  // namespace

MessageDispatcher::MessageDispatcher(store::sqlite::SqliteApiStore& store, channels::Channel& email,
                                     channels::Channel& messaging, boost::asio::any_io_executor executor,
                                     const Clock& clock,
                                     MessageDispatcherSettings settings, DeliveryObserver observer)
    : store_(store),
      email_(email),
      messaging_(messaging),
      executor_(std::move(executor)),
      clock_(clock),
      settings_(std::move(settings)),
      observer_(std::move(observer)) {}

MessageDispatcher::~MessageDispatcher() { Stop(); }

void MessageDispatcher::Start() {
  const auto abandoned = store_.ResolveAbandoned(ToUnixMillis(clock_.Now()));
  if (abandoned > 0) {
    spdlog::warn("{} send(s) were interrupted by the previous stop; recorded as unknown, not resent", abandoned);
  }
  for (const auto& channel : settings_.channels) {
    for (int i = 0; i < settings_.workers_per_channel; ++i) {
      workers_.emplace_back([this, channel] { RunWorker(channel); });
    }
  }
}

void MessageDispatcher::Wake(const std::string& channel) {
  {
    std::lock_guard lock(wake_mutex_);
    ++wake_generation_[channel];
  }
  wake_.notify_all();
}

void MessageDispatcher::Stop() {
  stopping_ = true;
  wake_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

void MessageDispatcher::WaitForWork(const std::string& channel) {
  std::unique_lock lock(wake_mutex_);
  const auto seen = wake_generation_[channel];
  // The store query runs unlocked so the intake's Wake never waits on it; a wake
  // during the query still ends the wait, since `seen` was read before it.
  lock.unlock();
  auto wait = settings_.idle_poll;
  if (const auto due = store_.NextDueAt(channel)) {
    const auto until_due = std::chrono::milliseconds(*due - ToUnixMillis(clock_.Now()));
    wait = std::clamp(until_due, std::chrono::milliseconds(0), wait);
  }
  lock.lock();
  wake_.wait_for(lock, wait, [&] { return stopping_ || wake_generation_[channel] != seen; });
}

void MessageDispatcher::RunWorker(const std::string& channel) {
  std::vector<store::DeliveryResult> finished;
  while (!stopping_) {
    std::optional<store::ClaimedDelivery> claimed;
    try {
      claimed = store_.RecordAndClaim(finished, channel, ToUnixMillis(clock_.Now()));
      finished.clear();
    } catch (const std::exception& e) {
      // The store is unreachable or full: keep what was learnt and try again shortly.
      spdlog::error("worker channel={} store error: {}", channel, e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (!claimed) {
      WaitForWork(channel);
      continue;
    }
    const auto started = std::chrono::steady_clock::now();
    finished.push_back(Deliver(*claimed));
    if (observer_) {
      observer_(channel, finished.back().status,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }
  try {
    store_.Record(finished, ToUnixMillis(clock_.Now()));
  } catch (const std::exception& e) {
    // Left "sending": the next start reports them as unknown rather than resending.
    spdlog::error("worker channel={} could not record its last outcome: {}", channel, e.what());
  }
}

store::DeliveryResult MessageDispatcher::Deliver(const store::ClaimedDelivery& delivery) {
  const auto& recipient = delivery.recipient;
  const std::string delivery_id = "r" + std::to_string(recipient.id);
  domain::DeliveryOutcome outcome;
  if (recipient.channel == "email") {
    mime::EmailContent content;
    content.from = settings_.from;
    content.to = {{"", recipient.address}};
    content.subject = delivery.subject;
    content.text_body = delivery.content;
    content.html_body = delivery.html;
    content.date = clock_.Now();
    content.message_id = mime::MakeMessageId("herald-" + delivery_id, DomainOf(settings_.from.address));
    auto message = mime::BuildMessage(content);
    if (!message) {
      outcome = domain::DeliveryOutcome::Permanent(message.error().message);
    } else {
      channels::RenderedMessage email{.delivery_id = delivery_id,
                                      .channel = "email",
                                      .to = recipient.address,
                                      .subject = delivery.subject,
                                      .envelope_from = settings_.from.address,
                                      .message_id = content.message_id,
                                      .mime = std::move(*message)};
      outcome = channels::SendAndWait(executor_, email_, email);
    }
  } else {
    outcome = channels::SendAndWait(executor_, messaging_,
                                    {.delivery_id = delivery_id,
                                     .channel = recipient.channel,
                                     .to = recipient.address,
                                     .subject = delivery.subject,
                                     .text = delivery.content});
  }

  // The provider's text is kept for what did not go through; a success has its provider id.
  const auto now = clock_.Now();
  const auto decision = domain::Decide(settings_.retry, recipient.attempts, outcome, now, RandomUnit());
  store::DeliveryResult result{recipient.id, domain::ToString(decision.status), outcome.provider_message_id,
                               decision.detail, 0};
  if (decision.status == domain::DeliveryStatus::kQueued) result.retry_at_ms = ToUnixMillis(decision.retry_at);
  return result;
}

}  // namespace herald::dispatch
