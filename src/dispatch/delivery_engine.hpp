// DeliveryEngine: the one delivery loop of every job. Each lane runs as a
// coroutine on the runtime's I/O thread:
//
//   take (store/queue, blocking pool) -> shape (token buckets) -> render
//   (render pool) -> claim (one transaction) -> channel.Send (many in flight,
//   batched) -> Decide -> record (one transaction, with the next claims) ->
//   settle (queue acknowledgements)
//
// Claims and outcomes are group-committed: one store transaction records every
// outcome that arrived since the last one and claims as many rendered messages
// as free in-flight slots allow. A message is durably "sending" before any of it
// reaches the channel, and a lane never has more than its in-flight limit in that
// state, so a killed process leaves at most that many outcomes unknown.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "common/io_runtime.hpp"
#include "dispatch/lane.hpp"
#include "dispatch/shaper.hpp"
#include "domain/retry_policy.hpp"

namespace herald::metrics {
class Registry;
}

namespace herald::dispatch {


// Called on the I/O thread after each commit with what it recorded, per lane.
using RecordObserver = std::function<void(const std::string& lane, std::span<const Finished> finished)>;

// Render threads beyond this only add memory (callers validate their own limit
// first; this one keeps a wrong value from starting thousands of threads).
inline constexpr int kMaxRenderThreads = 64;

struct EngineSettings {
  int render_threads = 0;  // 0: one per core; more than kMaxRenderThreads are not started
};

class DeliveryEngine {
 public:
  // metrics, when given, gets the engine's per-lane families (declared here once).
  DeliveryEngine(IoRuntime& runtime, const Clock& clock, EngineSettings settings = {},
                 metrics::Registry* metrics = nullptr);
  ~DeliveryEngine();
  DeliveryEngine(const DeliveryEngine&) = delete;
  DeliveryEngine& operator=(const DeliveryEngine&) = delete;

  // Before Start or Run. The lane and the channel must outlive the engine's run.
  // Lanes on the same channel share its in-flight limit.
  void AddLane(Lane& lane, channels::Channel& channel, LaneOptions options);
  void SetObserver(RecordObserver observer);

  // Serves every lane until Stop.
  void Start();
  // Serves every lane until none has open work (a lane whose open work stays out
  // of reach for `give_up_after` ends too) or `stop` is set; then like Stop.
  // Returns why a lane was given up when its store or queue kept failing.
  std::optional<std::string> RunUntilDone(const std::atomic<bool>& stop, std::chrono::milliseconds give_up_after);
  // New work was stored for the lane: look now rather than at the next poll. Any thread.
  void Wake(const std::string& lane);
  // Stops taking work; sends in flight finish (within their deadline) and are
  // recorded; rendered but unclaimed items are given back. Returns when every
  // lane has ended. Idempotent.
  void Stop();

  struct LaneStats {
    std::int64_t in_flight = 0;
    std::int64_t claimed = 0;
    std::int64_t recorded = 0;
  };
  // For health and tests; any thread.
  std::map<std::string, LaneStats> Stats() const;

  // Whether a lane stopped with sends whose outcome it could not record (the
  // store kept failing while stopping): their rows are still this process's
  // claims, and a later engine of the same process must not take them for its
  // own. Any thread; meaningful once Stop returned.
  bool LeftClaimsUnrecorded() const { return left_claims_unrecorded_.load(); }

  // What the latest sends of one channel say about it.
  struct ChannelHealth {
    std::string channel;              // its Describe()
    bool degraded = false;            // the last kFailuresForDegraded sends all failed
    int consecutive_failures = 0;     // sends since the last accepted one
    std::string last_failure;         // the latest failure's reason
  };
  static constexpr int kFailuresForDegraded = 5;
  std::vector<ChannelHealth> Health() const;

 private:
  class LaneRunner;
  struct ChannelShare;
  void Launch(bool until_done, std::chrono::milliseconds give_up_after);

  IoRuntime& runtime_;
  const Clock& clock_;
  boost::asio::thread_pool render_pool_;
  RecordObserver observer_;
  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
  std::map<const channels::Channel*, std::unique_ptr<ChannelShare>> shares_;
  std::vector<std::unique_ptr<LaneRunner>> lanes_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> left_claims_unrecorded_{false};
  bool started_ = false;
};

}  // namespace herald::dispatch
