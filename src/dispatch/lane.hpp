// Lane: what a job gives the delivery engine for one stream of work (one
// event's certificates, one channel's API messages, the paced lane): where
// ready deliveries come from, how one is rendered, and how outcomes and claims
// are stored. The engine owns the order of things (take, shape, render, claim,
// send, decide, record, settle) and the concurrency; a lane only answers.
// Lane methods block (store, queue, renderer) and may be called from several
// pool threads at once, never from an I/O thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "dispatch/shaper.hpp"
#include "domain/delivery_state.hpp"
#include "domain/retry_policy.hpp"

namespace herald::dispatch {

// One delivery on its way through the engine. Jobs derive from it to carry
// their own row or queue lease.
struct WorkItem {
  virtual ~WorkItem() = default;
  std::string delivery_id;  // stable: for logs, metrics and the provider's idempotency key
  std::string recipient;    // for the one log line of a failed delivery
  int attempts = 0;         // sends made before this one
};

// What became of one taken item, handed to Lane::Commit and then Lane::Settle.
struct Finished {
  enum class Kind {
    kSent,          // it was claimed and sent: `decision` is its next state
    kRenderFailed,  // never claimed: rendering failed, `decision` says failed and why
    kSkipped,       // no longer queued when it came to the claim (cancelled, or final already)
    kReleased,      // not attempted (the engine is stopping): still queued, give it back
  };
  std::shared_ptr<WorkItem> item;
  Kind kind = Kind::kSent;
  domain::Decision decision;
  domain::DeliveryOutcome outcome;  // what the channel said, for kSent
  std::string message_id;           // the Message-ID that was sent, for kSent e-mail
  std::chrono::steady_clock::duration send_time{};
};

class Lane {
 public:
  virtual ~Lane() = default;
  virtual const std::string& Name() const = 0;

  // Up to `max` deliveries due now, oldest (or highest priority) first, none of
  // those taken before and not yet settled. Empty when nothing is due.
  virtual std::vector<std::shared_ptr<WorkItem>> Take(int max) = 0;
  // The message for one item; may be slow (a PDF). An error fails the delivery
  // for good with its reason, without a claim.
  virtual Result<channels::RenderedMessage> Render(WorkItem& item) = 0;
  // In one transaction: records `finished` (kSent: sending -> its decision;
  // kRenderFailed: queued -> failed; others: nothing) and claims `claims`
  // (queued -> sending, one more attempt). Returns, per claim, whether it was
  // claimed; false means it is no longer queued.
  virtual std::vector<bool> Commit(std::span<const Finished> finished,
                                   std::span<const std::shared_ptr<WorkItem>> claims) = 0;
  // After Commit recorded them: the queue's part (acknowledge, redeliver later,
  // dead-letter) and forgetting them as taken. Items of kReleased go back as
  // they were.
  virtual void Settle(std::span<const Finished> finished) = 0;
  // When Take found nothing: the earliest time work becomes due, if the lane knows.
  virtual std::optional<Clock::TimePoint> NextDue() = 0;
  // Whether any delivery of the lane is queued or being sent; a run of a batch
  // job ends when no lane has any.
  virtual bool HasOpenWork() = 0;
};

// How the engine runs one lane.
struct LaneOptions {
  domain::RetryPolicy retry;
  int max_in_flight = 0;  // 0: the channel's limit
  int max_batch = 0;      // messages per Send call; 0: the channel's limit
  int render_chunk = 16;  // items one render task does (1 for slow renders such as PDFs)
  int render_ahead = 0;   // rendered or rendering items kept ready; 0: twice the in-flight limit
  std::chrono::milliseconds render_timeout{60000};  // a render running longer fails its delivery
  std::chrono::milliseconds send_timeout{120000};   // deadline handed to the channel
  std::chrono::milliseconds idle_poll{200};         // longest sleep when nothing is due
  Shaper* shaper = nullptr;  // borrowed, outlives the run; none: as fast as the channel goes
};

}  // namespace herald::dispatch
