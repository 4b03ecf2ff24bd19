#include "app/message_intake.hpp"

namespace herald::app {
namespace {

// Enough to amortise the fsync, small enough that a big bulk request does not
// hold back the single ones queued behind it for long.
constexpr std::size_t kMaxMessagesPerCommit = 20000;

}  // namespace

MessageIntake::MessageIntake(store::MessageStore& store, const Clock& clock, Committed on_committed)
    : store_(store), clock_(clock), on_committed_(std::move(on_committed)), thread_([this] { Run(); }) {}

MessageIntake::~MessageIntake() { Stop(); }

void MessageIntake::Submit(std::vector<store::NewMessage> messages, Done done) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back({std::move(messages), std::move(done)});
  }
  ready_.notify_one();
}

void MessageIntake::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void MessageIntake::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    ready_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and everything answered
    std::vector<Submission> batch;
    std::size_t messages = 0;
    std::size_t taken = 0;
    while (taken < pending_.size() && (batch.empty() || messages + pending_[taken].messages.size() <= kMaxMessagesPerCommit)) {
      messages += pending_[taken].messages.size();
      batch.push_back(std::move(pending_[taken]));
      ++taken;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken));
    lock.unlock();

    std::vector<store::NewMessage> all;
    all.reserve(messages);
    for (auto& submission : batch) {
      for (auto& message : submission.messages) all.push_back(std::move(message));
    }
    std::vector<store::AcceptedMessage> stored;
    std::exception_ptr failure;
    try {
      stored = store_.Accept(std::move(all), ToUnixMillis(clock_.Now()));
    } catch (...) {
      failure = std::current_exception();
    }
    if (!failure && on_committed_) on_committed_(stored);
    std::size_t offset = 0;
    for (auto& submission : batch) {
      std::vector<store::AcceptedMessage> mine;
      if (!failure) {
        const auto count = submission.messages.size();
        mine.assign(std::make_move_iterator(stored.begin() + static_cast<std::ptrdiff_t>(offset)),
                    std::make_move_iterator(stored.begin() + static_cast<std::ptrdiff_t>(offset + count)));
        offset += count;
      }
      submission.done(std::move(mine), failure);
    }
    lock.lock();
  }
}

}  // namespace herald::app
