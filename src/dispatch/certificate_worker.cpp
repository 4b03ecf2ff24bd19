#include "dispatch/certificate_worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "certificates/certificate_job.hpp"

namespace herald::dispatch {

struct CertificateWorker::Served {
  Served(certificates::CompiledJob compiled, const certificates::PdfRenderer& renderer, const Clock& clock,
         store::CertificateStore& store, queue::Queue& broker, const store::EventLane& lane, std::string out_dir,
         const std::string& claimant)
      : composer(std::move(compiled.templates), std::move(compiled.from), renderer, clock),
        lane(store, broker, composer, {lane.event_name, lane.slug}, std::move(out_dir), claimant, clock) {}
  certificates::CertificateComposer composer;
  CertificateLane lane;
};

namespace {

bool SameLanes(const std::vector<store::EventLane>& a, const std::vector<store::EventLane>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.slug == y.slug && x.event_name == y.event_name && x.queue_name == y.queue_name && x.job == y.job;
  });
}

}  // namespace

CertificateWorker::CertificateWorker(store::CertificateStore& store, queue::Queue& broker, channels::Channel& email,
                                     IoRuntime& runtime, const certificates::PdfRenderer& renderer, const Clock& clock,
                                     std::string claimant, CertificateWorkerOptions options)
    : store_(store),
      broker_(broker),
      email_(email),
      runtime_(runtime),
      renderer_(renderer),
      clock_(clock),
      claimant_(std::move(claimant)),
      options_(std::move(options)) {}

CertificateWorker::~CertificateWorker() { Stop(); }

void CertificateWorker::Start() {
  try {
    Refresh();
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    last_error_ = e.what();
    spdlog::error("certificates: cannot read the event lanes: {}", e.what());
  }
  thread_ = std::thread([this] { Run(); });
}

void CertificateWorker::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  StopEngine();
}

void CertificateWorker::Run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, options_.refresh, [this] { return stopping_; })) {
    lock.unlock();
    try {
      Refresh();
    } catch (const std::exception& e) {
      std::lock_guard error_lock(mutex_);
      if (last_error_ != e.what()) spdlog::error("certificates: cannot read the event lanes: {}", e.what());
      last_error_ = e.what();
    }
    lock.lock();
  }
}

void CertificateWorker::StopEngine() {
  std::unique_ptr<DeliveryEngine> engine;
  {
    std::lock_guard lock(mutex_);
    engine = std::move(engine_);
    lane_names_.clear();
  }
  if (engine) {
    engine->Stop();
    if (engine->LeftClaimsUnrecorded()) own_unrecorded_ = true;
  }
  engine.reset();
  served_.clear();
}

int CertificateWorker::Refresh() {
  auto lanes = store_.Lanes();
  // A lane without a job is delivered only by the run that queued it (an embedded queue).
  std::erase_if(lanes, [](const store::EventLane& lane) { return lane.job.empty(); });
  if (looked_ && SameLanes(lanes, served_lanes_)) {
    std::lock_guard lock(mutex_);
    last_error_ = job_errors_;  // a lane whose job cannot be used stays reported until it changes
    return static_cast<int>(served_.size());
  }
  StopEngine();
  // Until the new engine runs, the next look starts over (the broker may have failed meanwhile).
  looked_ = false;
  if (own_unrecorded_) {
    // The new engine claims under the same id, and would take those rows for
    // its own claims: they are resolved first (a store still failing throws,
    // and the next look tries again).
    const auto resolved = store_.ResolveOwnUnrecorded(claimant_);
    own_unrecorded_ = false;
    spdlog::warn("certificates: {} send(s) whose outcome could not be recorded are reported unknown", resolved);
  }
  try {
    StartEngine(lanes);
  } catch (...) {
    StopEngine();
    throw;
  }
  looked_ = true;
  served_lanes_ = std::move(lanes);
  return static_cast<int>(served_.size());
}

void CertificateWorker::StartEngine(const std::vector<store::EventLane>& lanes) {
  std::string job_errors;
  for (const auto& lane : lanes) {
    auto job = certificates::ParseCertificateJob(lane.job);
    auto compiled = job ? certificates::Compile(*job) : Result<certificates::CompiledJob>(Unexpected<Error>(job.error()));
    if (!compiled) {
      // Left alone: its items wait in the broker for a run that stores a usable job.
      const auto reason = "event \"" + lane.event_name + "\": " + compiled.error().message;
      spdlog::error("certificates: {}; its lane is not delivered here", reason);
      job_errors += (job_errors.empty() ? "" : "; ") + reason;
      continue;
    }
    broker_.EnsureLane(lane.queue_name);
    served_.push_back(std::make_unique<Served>(std::move(*compiled), renderer_, clock_, store_, broker_, lane,
                                               job->out_dir, claimant_));
  }
  std::vector<std::string> names;
  std::string listed;
  if (!served_.empty()) {
    auto engine = std::make_unique<DeliveryEngine>(runtime_, clock_, EngineSettings{.render_threads = options_.render_threads});
    for (auto& served : served_) {
      LaneOptions lane_options;
      lane_options.retry = options_.retry;
      lane_options.render_chunk = 1;  // a PDF takes milliseconds: one per render task
      lane_options.idle_poll = options_.idle_poll;
      engine->AddLane(served->lane, email_, lane_options);
      names.push_back(served->lane.event().name);
      listed += (listed.empty() ? ": " : ", ") + served->lane.event().name;
    }
    if (options_.observer) engine->SetObserver(options_.observer);
    engine->Start();
    std::lock_guard lock(mutex_);
    engine_ = std::move(engine);
  }
  spdlog::info("certificates: delivering {} event lane(s){}", served_.size(), listed);
  std::lock_guard lock(mutex_);
  lane_names_ = std::move(names);
  job_errors_ = job_errors;
  last_error_ = std::move(job_errors);
}

std::vector<std::string> CertificateWorker::lanes() const {
  std::lock_guard lock(mutex_);
  return lane_names_;
}

std::string CertificateWorker::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::map<std::string, DeliveryEngine::LaneStats> CertificateWorker::Stats() const {
  std::lock_guard lock(mutex_);
  return engine_ ? engine_->Stats() : std::map<std::string, DeliveryEngine::LaneStats>{};
}

}  // namespace herald::dispatch
