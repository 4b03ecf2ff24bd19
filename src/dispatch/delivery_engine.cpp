// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "dispatch/delivery_engine.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "common/offload.hpp"
#include "metrics/registry.hpp"

namespace herald::dispatch {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using SteadyTime = std::chrono::steady_clock::time_point;
using domain::DeliveryStatus;

SteadyTime SteadyNow() { return std::chrono::steady_clock::now(); }

// Wakes one waiting coroutine; a Notify that comes before the wait is kept.
// Notify resumes the waiter directly; the timer only bounds the wait, and is
// reprogrammed only when a wait needs an earlier wake than the one it is set
// for (a wake that comes early just makes the loop look again). Setting a timer
// for every wait would cost a timerfd system call per commit. I/O thread only.
class Signal {
 public:
  explicit Signal(const asio::any_io_executor& executor) : executor_(executor), timer_(executor) {}

  void Notify() {
    pending_ = true;
    Resume();
  }

  awaitable<void> WaitUntil(SteadyTime until) {
    if (!pending_) {
      if (!timer_armed_ || until < armed_for_) Arm(until);
      co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
          [this](auto handler) { waiter_ = std::make_unique<Waiter<decltype(handler)>>(std::move(handler)); },
          asio::use_awaitable);
    }
    pending_ = false;
  }

 private:
  struct WaiterBase {
    virtual ~WaiterBase() = default;
    virtual void Post(const asio::any_io_executor& executor) = 0;
  };
  template <typename Handler>
  struct Waiter final : WaiterBase {
    explicit Waiter(Handler h) : handler(std::move(h)) {}
    void Post(const asio::any_io_executor& executor) override { asio::post(executor, std::move(handler)); }
    Handler handler;
  };

  void Resume() {
    if (!waiter_) return;
    auto waiter = std::move(waiter_);
    waiter->Post(executor_);
  }

  void Arm(SteadyTime until) {
    timer_armed_ = true;
    armed_for_ = until;
    timer_.expires_at(until);  // a wait set for a later time ends as aborted
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      timer_armed_ = false;
      pending_ = true;
      Resume();
    });
  }

  asio::any_io_executor executor_;
  asio::steady_timer timer_;
  std::unique_ptr<WaiterBase> waiter_;
  bool pending_ = false;
  bool timer_armed_ = false;
  SteadyTime armed_for_{};
};

}  // namespace

// The engine's per-lane families, declared once.
struct DeliveryEngine::Metrics {
  explicit Metrics(metrics::Registry& registry)
      : claimed(registry.AddCounterFamily("delivery_claimed_total",
                                          "Deliveries claimed (marked sending) before their send", {"lane"})),
        outcomes(registry.AddCounterFamily(
            "delivery_outcomes_total",
            "Deliveries recorded, by the state they went to (queued means a retry was scheduled)",
            {"lane", "status"})),
        send_seconds(registry.AddHistogramFamily("delivery_send_duration_seconds",
                                                 "Time from handing a batch to its channel to its outcomes",
                                                 {"lane"})) {}
  metrics::CounterFamily& claimed;
  metrics::CounterFamily& outcomes;
  metrics::HistogramFamily& send_seconds;
};

// The in-flight budget of one channel, shared by every lane that sends through
// it: the bound on unknown outcomes after a crash is per channel, however many
// lanes (events, message channels) feed it. I/O thread only.
struct DeliveryEngine::ChannelShare {
  int limit = 1;
  int in_flight = 0;
  std::vector<LaneRunner*> lanes;
  std::string description;
  // Read by /health from any thread.
  mutable std::mutex health_mutex;
  int consecutive_failures = 0;
  std::string last_failure;

  // A channel whose sends keep failing for reasons of its own (refused
  // connections, timeouts, 4xx/5xx server trouble, answers lost) is degraded
  // until one gets through. A recipient refused for good, or a request to slow
  // down, still proves the provider answers.
  void Note(const domain::DeliveryOutcome& outcome) {
    std::lock_guard lock(health_mutex);
    if (outcome.kind == domain::OutcomeKind::kTransient || outcome.kind == domain::OutcomeKind::kUnknown) {
      ++consecutive_failures;
      last_failure = outcome.detail;
    } else {
      consecutive_failures = 0;
    }
  }
};

class DeliveryEngine::LaneRunner {
 public:
  LaneRunner(DeliveryEngine& engine, Lane& lane, channels::Channel& channel, ChannelShare& share, LaneOptions options)
      : finished_future(done.get_future().share()),
        engine_(engine),
        lane_(lane),
        channel_(channel),
        share_(share),
        options_(std::move(options)),
        signal_(engine.runtime_.executor()),
        random_(std::random_device{}()) {
    const auto limits = channel_.Limits();
    max_in_flight_ = std::max(1, options_.max_in_flight > 0 ? std::min(options_.max_in_flight, limits.max_in_flight)
                                                            : limits.max_in_flight);
    max_batch_ = std::clamp(options_.max_batch > 0 ? std::min(options_.max_batch, limits.max_batch) : limits.max_batch,
                            1, max_in_flight_);
    render_chunk_ = std::max(1, options_.render_chunk);
    render_ahead_ = options_.render_ahead > 0 ? options_.render_ahead : 2 * max_in_flight_;
  }

  const std::string& name() const { return lane_.Name(); }

  awaitable<void> Run(bool until_done, std::chrono::milliseconds give_up_after) {
    until_done_ = until_done;
    auto last_progress = SteadyNow();
    while (true) {
      const bool stopping = engine_.stopping_.load() || !failure_.empty();
      if (!stopping) MaybeTake();
      if (!finished_.empty() || (!stopping && Claimable() > 0)) {
        if (SteadyNow() >= retry_commit_at_) {
          co_await Commit(stopping);
          last_progress = SteadyNow();
          continue;
        }
      }
      const bool busy = taking_ || rendering_ > 0 || in_flight_ > 0 || !finished_.empty();
      if (!stopping && !ready_.empty() && finished_.empty() && Shaped()) co_await Release();
      if (stopping && !busy) {
        co_await Release();
        co_return;
      }
      if (until_done && !busy && ready_.empty() && take_found_nothing_) {
        bool open = true;
        try {
          open = co_await Offload(engine_.runtime_.blocking(), [this] { return lane_.HasOpenWork(); });
        } catch (const std::exception& e) {
          spdlog::error("lane={} cannot read its open work: {}", name(), e.what());
        }
        if (!open) co_return;
        if (SteadyNow() - last_progress > give_up_after) {
          spdlog::warn("lane={} has open deliveries but none came within {} s; leaving them queued for the next run",
                       name(), std::chrono::duration_cast<std::chrono::seconds>(give_up_after).count());
          co_return;
        }
      }
      co_await signal_.WaitUntil(WakeTime());
    }
  }

  // From any thread: new work was stored.
  void Wake() {
    asio::post(engine_.runtime_.executor(), [this] {
      wake_requested_ = true;
      signal_.Notify();
    });
  }
  void Notify() {
    asio::post(engine_.runtime_.executor(), [this] { signal_.Notify(); });
  }

  // Why a batch run gave the lane up, or empty. Read after the lane ended.
  const std::string& failure() const { return failure_; }

  LaneStats Stats() const { return {in_flight_stat_.load(), claimed_stat_.load(), recorded_stat_.load()}; }

  std::promise<void> done;
  std::shared_future<void> finished_future;

 private:
  struct Ready {
    std::shared_ptr<WorkItem> item;
    channels::RenderedMessage message;
  };

  // Claims the next commit may make: rendered items, up to the free in-flight
  // slots (counting the ones its recorded outcomes free) and the shaping rule.
  int Claimable() { return ready_.empty() ? 0 : ClaimsFor(SlotsFreedBy(finished_)); }

  // Sends among `finished` whose record frees their in-flight slot.
  static int SlotsFreedBy(std::span<const Finished> finished) {
    return static_cast<int>(
        std::count_if(finished.begin(), finished.end(), [](const Finished& f) { return f.kind == Finished::Kind::kSent; }));
  }

  // Free slots once `freed` of this lane's sends are recorded: the lane's own
  // limit, the channel's budget shared with other lanes, and the shaping rule.
  int ClaimsFor(int freed) {
    int n = std::min({static_cast<int>(ready_.size()), max_in_flight_ - (in_flight_ - freed),
                      share_.limit - (share_.in_flight - freed)});
    if (n > 0 && options_.shaper) n = std::min(n, options_.shaper->Available(engine_.clock_.Now()));
    return std::max(0, n);
  }

  SteadyTime ToSteady(Clock::TimePoint at) const {
    const auto now = engine_.clock_.Now();
    return SteadyNow() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::max(at - now, Clock::TimePoint::duration::zero()));
  }

  SteadyTime WakeTime() {
    const auto now = SteadyNow();
    auto wake = now + options_.idle_poll;
    // Only a take that could start then is worth waking for; the end of a send,
    // render or take wakes the loop by itself.
    if (TakeWanted() > 0 && next_take_at_ > now && next_take_at_ < wake) wake = next_take_at_;
    if (retry_commit_at_ > now && retry_commit_at_ < wake) wake = retry_commit_at_;
    if (Shaped()) {
      const auto shaped = ToSteady(options_.shaper->NextAvailable(engine_.clock_.Now()));
      if (shaped < wake) wake = shaped;
    }
    return wake;
  }

  // How many items a take would ask for now; 0 while there is no room for a
  // useful amount (taking one at a time as slots free up would cost a store
  // round trip per message).
  int TakeWanted() const {
    if (taking_ || Shaped()) return 0;
    const int want = render_ahead_ - static_cast<int>(ready_.size()) - rendering_;
    return want >= std::min(render_ahead_, std::max(render_chunk_, max_batch_)) ? want : 0;
  }

  // The shaping rule allows no send now: nothing is taken or kept rendered
  // meanwhile, so what the lane serves first (oldest, retries first, highest
  // priority) is decided when sending may resume, not before.
  bool Shaped() const { return options_.shaper && options_.shaper->Available(engine_.clock_.Now()) == 0; }

  void MaybeTake() {
    const int want = TakeWanted();
    if (want == 0) return;
    if (!wake_requested_ && SteadyNow() < next_take_at_) return;
    wake_requested_ = false;
    taking_ = true;
    asio::co_spawn(engine_.runtime_.executor(), TakeMore(want), asio::detached);
  }

  awaitable<void> TakeMore(int want) {
    std::vector<std::shared_ptr<WorkItem>> items;
    std::optional<Clock::TimePoint> due;
    bool failed = false;
    try {
      items = co_await Offload(engine_.runtime_.blocking(), [this, want] { return lane_.Take(want); });
      if (items.empty()) due = co_await Offload(engine_.runtime_.blocking(), [this] { return lane_.NextDue(); });
    } catch (const std::exception& e) {
      // The store or broker is unreachable: look again shortly, keep what is in flight.
      spdlog::error("lane={} cannot take work: {}", name(), e.what());
      failed = true;
      Failed(e.what());
    }
    if (!failed) consecutive_failures_ = 0;
    taking_ = false;
    const auto now = SteadyNow();
    if (failed) {
      next_take_at_ = now + std::chrono::milliseconds(500);
    } else if (items.empty()) {
      take_found_nothing_ = true;
      next_take_at_ = now + options_.idle_poll;
      if (due) next_take_at_ = std::min(next_take_at_, ToSteady(*due));
    } else {
      take_found_nothing_ = false;
      // A short batch means the lane is drained for now; new work comes with a Wake.
      next_take_at_ = static_cast<int>(items.size()) < want ? now + options_.idle_poll : now;
      for (std::size_t start = 0; start < items.size(); start += static_cast<std::size_t>(render_chunk_)) {
        const auto end = std::min(items.size(), start + static_cast<std::size_t>(render_chunk_));
        std::vector<std::shared_ptr<WorkItem>> chunk(items.begin() + static_cast<long>(start),
                                                     items.begin() + static_cast<long>(end));
        rendering_ += static_cast<int>(chunk.size());
        auto watch = std::make_shared<RenderWatch>(engine_.runtime_.executor(), std::move(chunk));
        asio::co_spawn(engine_.runtime_.executor(), Render(std::move(watch)), asio::detached);
      }
    }
    signal_.Notify();
  }

  // One render task's items and its deadline, shared by the task and its timer.
  struct RenderWatch {
    RenderWatch(const asio::any_io_executor& executor, std::vector<std::shared_ptr<WorkItem>> items)
        : timer(executor), chunk(std::move(items)) {}
    asio::steady_timer timer;
    std::vector<std::shared_ptr<WorkItem>> chunk;
    bool finished = false;
    bool timed_out = false;
  };

  void FailRender(const std::shared_ptr<WorkItem>& item, const std::string& reason) {
    Finished failure;
    failure.item = item;
    failure.kind = Finished::Kind::kRenderFailed;
    failure.decision = {DeliveryStatus::kFailed, {}, "render: " + reason};
    spdlog::warn("delivery={} lane={} recipient={} status=failed reason=\"render: {}\"", item->delivery_id, name(),
                 item->recipient, reason);
    finished_.push_back(std::move(failure));
  }

  // On the I/O thread, when a render thread has begun the chunk: the clock of
  // its deadline starts now, not while it waited for a thread.
  void ArmRenderDeadline(const std::shared_ptr<RenderWatch>& watch) {
    if (watch->finished) return;
    watch->timer.expires_after(options_.render_timeout);
    watch->timer.async_wait([this, watch](const boost::system::error_code& ec) {
      if (ec || watch->finished) return;
      watch->timed_out = true;
      rendering_ -= static_cast<int>(watch->chunk.size());
      for (const auto& item : watch->chunk) {
        FailRender(item, "took longer than " + std::to_string(options_.render_timeout.count() / 1000) +
                             " s; the rest of the lane goes on");
      }
      signal_.Notify();
    });
  }

  static std::vector<Result<channels::RenderedMessage>> RenderAll(Lane& lane, const RenderWatch& watch) {
    std::vector<Result<channels::RenderedMessage>> out;
    out.reserve(watch.chunk.size());
    for (const auto& item : watch.chunk) {
      try {
        out.push_back(lane.Render(*item));
      } catch (const std::exception& e) {
        out.push_back(MakeError("render.exception", e.what()));
      }
    }
    return out;
  }

  awaitable<void> Render(std::shared_ptr<RenderWatch> watch) {
    std::vector<Result<channels::RenderedMessage>> results;
    try {
      auto render = [this, watch] {
        asio::post(engine_.runtime_.executor(), [this, watch] { ArmRenderDeadline(watch); });
        return RenderAll(lane_, *watch);
      };
      results = co_await Offload(engine_.render_pool_, std::move(render));
    } catch (const std::exception& e) {
      results.clear();
      for (std::size_t i = 0; i < watch->chunk.size(); ++i) {
        results.push_back(MakeError("render.exception", e.what()));
      }
    }
    if (watch->timed_out) co_return;  // reported as failed already; this late result is dropped
    watch->finished = true;
    watch->timer.cancel();
    rendering_ -= static_cast<int>(watch->chunk.size());
    for (std::size_t i = 0; i < watch->chunk.size(); ++i) {
      if (results[i]) {
        ready_.push_back({watch->chunk[i], std::move(results[i]).value()});
      } else {
        FailRender(watch->chunk[i], results[i].error().message);
      }
    }
    signal_.Notify();
  }

  awaitable<void> Commit(bool stopping) {
    std::vector<Finished> batch;
    batch.swap(finished_);
    const int freed = SlotsFreedBy(batch);
    const int n = stopping ? 0 : ClaimsFor(freed);
    // The slots are taken now, before the commit: lanes sharing the channel
    // must not count them as free while this transaction runs.
    in_flight_ += n;
    share_.in_flight += n;
    // So is the shaping rule's share: a rule whose state is saved with the
    // claims (the paced sender) must see it spent before the transaction, and a
    // failed commit just sends less, never more, than the rule allows.
    if (n > 0 && options_.shaper) options_.shaper->Consume(n, engine_.clock_.Now());
    std::vector<Ready> claiming;
    std::vector<std::shared_ptr<WorkItem>> claims;
    for (int i = 0; i < n; ++i) {
      claims.push_back(ready_.front().item);
      claiming.push_back(std::move(ready_.front()));
      ready_.pop_front();
    }
    std::vector<bool> claimed;
    std::string settle_failure;
    try {
      // Settling rides on the same pool hop: it only follows a commit that succeeded.
      auto commit = [this, &batch, &claims, &settle_failure] {
        auto result = lane_.Commit(batch, claims);
        try {
          lane_.Settle(batch);
        } catch (const std::exception& e) {
          settle_failure = e.what();
        }
        return result;
      };
      claimed = co_await Offload(engine_.runtime_.blocking(), std::move(commit));
      if (claimed.size() != claims.size()) throw std::logic_error("the lane answered the wrong number of claims");
    } catch (const std::exception& e) {
      // Nothing of the transaction happened: keep the outcomes for the next
      // commit and the rendered items for the next claim.
      for (auto it = claiming.rbegin(); it != claiming.rend(); ++it) ready_.push_front(std::move(*it));
      ReleaseSlots(n);
      if (stopping && ++failed_commits_while_stopping_ >= 3) {
        // Their rows stay "sending": the next start reports them unknown, never resends them.
        spdlog::error("lane={} cannot record {} outcome(s) while stopping: {}; the next start reports them as unknown",
                      name(), batch.size(), e.what());
        engine_.left_claims_unrecorded_ = true;
        ReleaseSlots(freed);
        co_return;
      }
      spdlog::error("lane={} cannot record {} outcome(s) and claim {}: {}; trying again", name(), batch.size(),
                    claims.size(), e.what());
      Failed(e.what());
      for (auto& f : batch) finished_.push_back(std::move(f));
      retry_commit_at_ = SteadyNow() + std::chrono::milliseconds(500);
      co_return;
    }
    consecutive_failures_ = 0;
    ReleaseSlots(freed);
    recorded_stat_ += static_cast<std::int64_t>(batch.size());
    Observe(batch);
    if (!settle_failure.empty()) {
      // Recorded already; an unacknowledged queue item comes back and is skipped as final.
      spdlog::error("lane={} cannot settle {} queue item(s): {}", name(), batch.size(), settle_failure);
    }

    std::vector<Ready> to_send;
    for (std::size_t i = 0; i < claiming.size(); ++i) {
      if (claimed[i]) {
        to_send.push_back(std::move(claiming[i]));
      } else {
        Finished skipped;
        skipped.item = std::move(claiming[i].item);
        skipped.kind = Finished::Kind::kSkipped;
        finished_.push_back(std::move(skipped));
      }
    }
    ReleaseSlots(n - static_cast<int>(to_send.size()));  // claims the store refused
    claimed_stat_ += static_cast<std::int64_t>(to_send.size());
    in_flight_stat_ = in_flight_;
    if (engine_.metrics_ && !to_send.empty()) {
      engine_.metrics_->claimed.WithLabels({name()}).Increment(static_cast<double>(to_send.size()));
    }
    for (std::size_t start = 0; start < to_send.size(); start += static_cast<std::size_t>(max_batch_)) {
      const auto end = std::min(to_send.size(), start + static_cast<std::size_t>(max_batch_));
      std::vector<Ready> chunk;
      for (auto i = start; i < end; ++i) chunk.push_back(std::move(to_send[i]));
      asio::co_spawn(engine_.runtime_.executor(), Send(std::move(chunk)), asio::detached);
    }
  }

  void Observe(std::span<const Finished> batch) {
    if (engine_.metrics_) {
      for (const auto& f : batch) {
        if (f.kind == Finished::Kind::kSent || f.kind == Finished::Kind::kRenderFailed) {
          engine_.metrics_->outcomes.WithLabels({name(), domain::ToString(f.decision.status)}).Increment();
        } else if (f.kind == Finished::Kind::kSkipped) {
          engine_.metrics_->outcomes.WithLabels({name(), "skipped"}).Increment();
        }
      }
    }
    if (engine_.observer_ && !batch.empty()) engine_.observer_(name(), batch);
  }

  awaitable<void> Send(std::vector<Ready> chunk) {
    std::vector<channels::RenderedMessage> messages;
    messages.reserve(chunk.size());
    for (auto& ready : chunk) messages.push_back(std::move(ready.message));
    const auto started = SteadyNow();
    auto outcomes = co_await channels::SendNoThrow(channel_, messages, started + options_.send_timeout);
    const auto elapsed = SteadyNow() - started;
    if (engine_.metrics_) {
      engine_.metrics_->send_seconds.WithLabels({name()}).Observe(std::chrono::duration<double>(elapsed).count());
    }
    const auto now = engine_.clock_.Now();
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      Finished done;
      done.item = std::move(chunk[i].item);
      done.kind = Finished::Kind::kSent;
      done.decision = domain::Decide(options_.retry, done.item->attempts + 1, outcomes[i], now, unit(random_));
      done.message_id = messages[i].message_id;
      done.send_time = elapsed;
      if (outcomes[i].kind == domain::OutcomeKind::kThrottled && options_.shaper) {
        options_.shaper->OnThrottled(now, outcomes[i].retry_after);
      }
      share_.Note(outcomes[i]);
      if (done.decision.status != DeliveryStatus::kSent) {
        const auto level = done.decision.status == DeliveryStatus::kQueued ? spdlog::level::info : spdlog::level::warn;
        spdlog::log(level, "delivery={} lane={} recipient={} attempt={} status={} reason=\"{}\"",
                    done.item->delivery_id, name(), done.item->recipient, done.item->attempts + 1,
                    domain::ToString(done.decision.status), done.decision.detail);
      }
      done.outcome = std::move(outcomes[i]);
      finished_.push_back(std::move(done));
    }
    signal_.Notify();
  }

  // A batch run gives up on a lane whose store or queue keeps failing (a
  // server ends it by stopping; it keeps trying until then).
  void Failed(const std::string& reason) {
    if (until_done_ && ++consecutive_failures_ >= kFailuresBeforeGivingUp && failure_.empty()) {
      failure_ = "lane " + name() + ": " + reason;
    }
  }

  void ReleaseSlots(int freed) {
    if (freed == 0) return;
    in_flight_ -= freed;
    share_.in_flight -= freed;
    in_flight_stat_ = in_flight_;
    // Lanes waiting for the channel may claim now.
    for (auto* other : share_.lanes) {
      if (other != this) other->signal_.Notify();
    }
  }

  // Stopping: rendered items that were never claimed go back untouched.
  awaitable<void> Release() {
    if (ready_.empty()) co_return;
    std::vector<Finished> released;
    for (auto& ready : ready_) {
      Finished f;
      f.item = std::move(ready.item);
      f.kind = Finished::Kind::kReleased;
      released.push_back(std::move(f));
    }
    ready_.clear();
    try {
      co_await Offload(engine_.runtime_.blocking(), [this, &released] { lane_.Settle(released); });
    } catch (const std::exception& e) {
      spdlog::error("lane={} cannot give back {} unclaimed item(s): {}", name(), released.size(), e.what());
    }
  }

  DeliveryEngine& engine_;
  Lane& lane_;
  channels::Channel& channel_;
  ChannelShare& share_;
  const LaneOptions options_;
  int max_in_flight_ = 1;
  int max_batch_ = 1;
  int render_chunk_ = 1;
  int render_ahead_ = 2;

  // I/O thread only.
  Signal signal_;
  std::deque<Ready> ready_;         // rendered, waiting for a claim
  std::vector<Finished> finished_;  // waiting for the next commit
  int rendering_ = 0;
  int in_flight_ = 0;  // claimed ("sending") and not yet recorded
  bool taking_ = false;
  bool take_found_nothing_ = false;
  bool wake_requested_ = true;
  SteadyTime next_take_at_{};
  SteadyTime retry_commit_at_{};
  int failed_commits_while_stopping_ = 0;
  static constexpr int kFailuresBeforeGivingUp = 20;  // about 10 s of retries
  int consecutive_failures_ = 0;
  bool until_done_ = false;
  std::string failure_;
  std::mt19937_64 random_;

  std::atomic<std::int64_t> in_flight_stat_{0};
  std::atomic<std::int64_t> claimed_stat_{0};
  std::atomic<std::int64_t> recorded_stat_{0};
};

DeliveryEngine::DeliveryEngine(IoRuntime& runtime, const Clock& clock, EngineSettings settings,
                               metrics::Registry* metrics)
    : runtime_(runtime),
      clock_(clock),
      render_pool_(static_cast<std::size_t>(
          std::min(kMaxRenderThreads, settings.render_threads > 0
                                          ? settings.render_threads
                                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))))) {
  if (metrics) {
    metrics_ = std::make_unique<Metrics>(*metrics);
    metrics->AddCallbackGaugeFamily("delivery_in_flight", "Deliveries claimed and not yet recorded", {"lane"},
                                    [this] {
                                      std::vector<metrics::LabeledValue> values;
                                      for (const auto& [lane, stats] : Stats()) {
                                        values.push_back({{lane}, static_cast<double>(stats.in_flight)});
                                      }
                                      return values;
                                    });
  }
}

DeliveryEngine::~DeliveryEngine() {
  Stop();
  render_pool_.join();
}

void DeliveryEngine::AddLane(Lane& lane, channels::Channel& channel, LaneOptions options) {
  if (started_) throw std::logic_error("DeliveryEngine::AddLane after the engine started");
  auto& share = shares_[&channel];
  if (!share) {
    share = std::make_unique<ChannelShare>();
    share->limit = std::max(1, channel.Limits().max_in_flight);
    share->description = channel.Describe();
  }
  lanes_.push_back(std::make_unique<LaneRunner>(*this, lane, channel, *share, std::move(options)));
  share->lanes.push_back(lanes_.back().get());
}

void DeliveryEngine::SetObserver(RecordObserver observer) { observer_ = std::move(observer); }

void DeliveryEngine::Launch(bool until_done, std::chrono::milliseconds give_up_after) {
  if (started_) throw std::logic_error("DeliveryEngine started twice");
  started_ = true;
  for (auto& runner : lanes_) {
    asio::co_spawn(runtime_.executor(), runner->Run(until_done, give_up_after),
                   [runner = runner.get()](std::exception_ptr failure) {
                     if (failure) {
                       try {
                         std::rethrow_exception(failure);
                       } catch (const std::exception& e) {
                         spdlog::error("lane={} stopped: {}", runner->name(), e.what());
                       }
                     }
                     runner->done.set_value();
                   });
  }
}

void DeliveryEngine::Start() { Launch(false, std::chrono::milliseconds::max()); }

std::optional<std::string> DeliveryEngine::RunUntilDone(const std::atomic<bool>& stop,
                                                        std::chrono::milliseconds give_up_after) {
  if (stop.load()) stopping_ = true;  // stopped before it began: claim nothing
  Launch(true, give_up_after);
  std::optional<std::string> failure;
  for (auto& runner : lanes_) {
    while (runner->finished_future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      if (stop.load() && !stopping_.exchange(true)) {
        for (auto& other : lanes_) other->Notify();
      }
    }
    if (!failure && !runner->failure().empty()) failure = runner->failure();
  }
  stopping_ = true;
  return failure;
}

void DeliveryEngine::Wake(const std::string& lane) {
  for (auto& runner : lanes_) {
    if (runner->name() == lane) runner->Wake();
  }
}

void DeliveryEngine::Stop() {
  if (!started_) return;
  stopping_ = true;
  for (auto& runner : lanes_) runner->Notify();
  for (auto& runner : lanes_) runner->finished_future.wait();
  // Wakes posted to the I/O thread before the lanes ended may not have run
  // yet; they point at the lanes. The I/O thread runs posts in order, so once
  // this one has run, none is left.
  std::promise<void> drained;
  boost::asio::post(runtime_.executor(), [&drained] { drained.set_value(); });
  drained.get_future().wait();
  started_ = false;
}

std::vector<DeliveryEngine::ChannelHealth> DeliveryEngine::Health() const {
  std::vector<ChannelHealth> health;
  for (const auto& [channel, share] : shares_) {
    std::lock_guard lock(share->health_mutex);
    health.push_back({share->description, share->consecutive_failures >= kFailuresForDegraded,
                      share->consecutive_failures, share->last_failure});
  }
  return health;
}

std::map<std::string, DeliveryEngine::LaneStats> DeliveryEngine::Stats() const {
  std::map<std::string, LaneStats> stats;
  for (const auto& runner : lanes_) stats[runner->name()] = runner->Stats();
  return stats;
}

}  // namespace herald::dispatch
