// Workers for the API's messages: per channel lane (sms, whatsapp, email,
// telegram; seed 004's routing) a few threads claim due recipients from the
// store, send them, and record the outcome before claiming the next one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "domain/retry_policy.hpp"
#include "mime/email_message.hpp"
#include "store/sqlite/sqlite_api_store.hpp"

namespace herald::dispatch {

struct MessageDispatcherSettings {
  std::vector<std::string> channels = {"sms", "whatsapp", "email", "telegram"};
  int workers_per_channel = 2;
  domain::RetryPolicy retry{.max_attempts = 3};
  mime::Mailbox from{"Herald", "notifications@herald.invalid"};
  // Longest a worker sleeps with nothing due: bounds how late a scheduled send can be.
  std::chrono::milliseconds idle_poll{200};
};

// Called after each outcome is stored: channel, final or retry status, seconds spent sending.
using DeliveryObserver = std::function<void(const std::string& channel, const std::string& status, double seconds)>;

class MessageDispatcher {
 public:
  // Sends run on `executor` (the channels'); the workers wait for them.
  MessageDispatcher(store::sqlite::SqliteApiStore& store, channels::Channel& email, channels::Channel& messaging,
                    boost::asio::any_io_executor executor, const Clock& clock, MessageDispatcherSettings settings,
                    DeliveryObserver observer = {});
  ~MessageDispatcher();
  MessageDispatcher(const MessageDispatcher&) = delete;
  MessageDispatcher& operator=(const MessageDispatcher&) = delete;

  // Marks sends a dead process left unfinished as unknown, then starts the workers.
  void Start();
  // New work was stored for the channel: wake its idle workers now rather than
  // at their next poll. Other lanes sleep on: a wasted claim is a write transaction.
  void Wake(const std::string& channel);
  // Stops claiming; sends in flight finish and are recorded; returns when all
  // workers have ended. The rest stays queued for the next start.
  void Stop();

 private:
  void RunWorker(const std::string& channel);
  store::DeliveryResult Deliver(const store::ClaimedDelivery& delivery);
  void WaitForWork(const std::string& channel);

  store::sqlite::SqliteApiStore& store_;
  channels::Channel& email_;
  channels::Channel& messaging_;
  boost::asio::any_io_executor executor_;
  const Clock& clock_;
  const MessageDispatcherSettings settings_;
  DeliveryObserver observer_;
  std::atomic<bool> stopping_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::uint64_t> wake_generation_;  // per channel, under wake_mutex_
  std::vector<std::thread> workers_;
};

}  // namespace herald::dispatch
