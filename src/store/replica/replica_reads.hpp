// Seed 002's read replica: the API's GET lists and details, and the template
// lookups of messages that name one, read a streaming replica a moment behind
// the primary, so reads grow apart from writes (a template edited a moment ago
// may render as it was). Everything else — writes, and the reads a write
// answers with — stays on the primary.
//
// A detail the replica does not have yet (a row written a moment ago) is read
// from the primary, so a client that was just told an id can read it at once.
// While the replica cannot be reached (or its schema is behind), every read goes
// to the primary and health() says why; it is tried again every few seconds.
// Writes through these stores go to the primary.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "store/stores.hpp"

namespace herald::store {

// How long a replica that failed is left alone before one read tries it again.
inline constexpr std::chrono::seconds kReplicaRetryInterval{2};

class ReplicaReads {
 public:
  // Opens the replica's stores (checking its schema); throws, naming why, when it
  // cannot. Called at construction and again after each retry interval until it
  // succeeds.
  using Opener = std::function<std::unique_ptr<Stores>()>;
  // Whether a read's error means the replica cannot be used (unreachable, shut
  // down) rather than that one query failed there (a recovery conflict): only
  // the first kind takes it out of use; either way the read is asked of the primary.
  using IsOutage = std::function<bool(const std::exception&)>;

  // `replica_where` names the replica in health() (no password).
  ReplicaReads(Stores& primary, std::string replica_where, Opener open_replica,
               std::chrono::milliseconds retry_interval = kReplicaRetryInterval,
               IsOutage is_outage = [](const std::exception&) { return true; });
  ~ReplicaReads();
  ReplicaReads(const ReplicaReads&) = delete;
  ReplicaReads& operator=(const ReplicaReads&) = delete;

  MessageStore& messages();
  ContactStore& contacts();
  TemplateStore& templates();
  CampaignStore& campaigns();

  struct Health {
    bool up = false;    // the latest read that tried the replica was answered by it
    std::string where;  // user@host:port/database
    std::string error;  // why it is not used, while down
    std::int64_t replica_reads = 0;
    std::int64_t primary_reads = 0;  // reads answered by the primary instead (down, or a row not there yet)
  };
  Health health() const;
  // Asks the replica one cheap question when it may be tried (opening it if
  // need be, which may take a connect timeout), so health() is current when
  // nobody reads; returns health(). For a background task, not a request.
  Health Probe();

  // Runs `read` on the replica's stores when they may be tried, else — or when
  // it throws — on the primary's.
  template <typename Reader>
  auto Read(Reader read) {
    return ReadUnless(read, [](const auto&) { return false; });
  }

  // The same for a read of one row (a std::optional): a row the replica does
  // not have yet is read from the primary.
  template <typename Reader>
  auto ReadRow(Reader read) {
    return ReadUnless(read, [](const auto& found) { return !found; });
  }

 private:
  // Read, where the primary is also asked when the replica's answer is `wanting`.
  template <typename Reader, typename Wanting>
  auto ReadUnless(Reader& read, Wanting wanting) {
    if (Stores* replica = Replica()) {
      try {
        auto answer = read(*replica);
        ++replica_reads_;
        MarkUp();
        if (!wanting(answer)) return answer;
      } catch (const std::exception& e) {
        if (is_outage_(e)) MarkDown(e.what());
      }
    }
    ++primary_reads_;
    return read(primary_);
  }

  class Views;

  // The replica's stores, or nullptr while it is down (and not due a retry) or
  // being opened by another thread.
  Stores* Replica();
  void MarkUp();
  void MarkDown(const std::string& error);

  Stores& primary_;
  const std::string where_;
  const Opener open_;
  const std::chrono::milliseconds retry_interval_;
  const IsOutage is_outage_;

  std::atomic<bool> up_{false};
  std::atomic<Stores*> replica_view_{nullptr};
  std::atomic<std::int64_t> replica_reads_{0};
  std::atomic<std::int64_t> primary_reads_{0};
  mutable std::mutex mutex_;         // guards what follows
  std::unique_ptr<Stores> replica_;  // set once opened, never reset: replica_view_ stays valid
  bool opening_ = false;
  std::string error_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::unique_ptr<Views> views_;
};

}  // namespace herald::store
