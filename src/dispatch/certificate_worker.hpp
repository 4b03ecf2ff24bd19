// CertificateWorker: `herald worker --lanes certificates`. Delivers the event
// lanes that `herald certificates` runs leave on the broker, with the job each
// run stored beside its lane (templates, sender, output folder): any number of
// workers, on any machine that sees the store, the broker and the output folder.
//
// The lanes are read again every few seconds. When they change (a run listed a
// new event, removed one, or brought new templates), the certificate engine
// stops — sends in flight finish and are recorded, what was taken goes back to
// the broker — and starts again on the new set.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "certificates/certificate_composer.hpp"
#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "common/io_runtime.hpp"
#include "dispatch/certificate_lane.hpp"
#include "dispatch/delivery_engine.hpp"
#include "queue/queue.hpp"
#include "store/certificate_store.hpp"

namespace herald::dispatch {

struct CertificateWorkerOptions {
  domain::RetryPolicy retry;
  int render_threads = 0;                    // PDFs rendered at once; 0: one per core
  std::chrono::milliseconds refresh{2000};   // how often the lanes are read again
  std::chrono::milliseconds idle_poll{20};   // a broker lane with nothing for us looks again this soon
  RecordObserver observer;                   // what each commit recorded, per lane (optional)
};

class CertificateWorker {
 public:
  // `claimant`: this process's claimant id (its heartbeat keeps its sends its own).
  CertificateWorker(store::CertificateStore& store, queue::Queue& broker, channels::Channel& email,
                    IoRuntime& runtime, const certificates::PdfRenderer& renderer, const Clock& clock,
                    std::string claimant, CertificateWorkerOptions options);
  ~CertificateWorker();
  CertificateWorker(const CertificateWorker&) = delete;
  CertificateWorker& operator=(const CertificateWorker&) = delete;

  // Reads the lanes now, then again every `refresh` in the background.
  void Start();
  // Sends in flight finish and are recorded; then returns. Idempotent.
  void Stop();
  // One look at the lanes; restarts the engine when they changed. Returns the
  // number of lanes delivered. Throws when the store cannot be read.
  int Refresh();

  // For /health: the lanes delivered; why the last look, or a lane's job, failed.
  std::vector<std::string> lanes() const;
  std::string last_error() const;
  std::map<std::string, DeliveryEngine::LaneStats> Stats() const;

 private:
  struct Served;
  void Run();
  // A new engine with a lane per usable job; a job that cannot be used is reported.
  void StartEngine(const std::vector<store::EventLane>& lanes);
  void StopEngine();

  store::CertificateStore& store_;
  queue::Queue& broker_;
  channels::Channel& email_;
  IoRuntime& runtime_;
  const certificates::PdfRenderer& renderer_;
  const Clock& clock_;
  const std::string claimant_;
  const CertificateWorkerOptions options_;

  // The lanes with a job as last read, and what the engine serves of them.
  bool looked_ = false;
  bool own_unrecorded_ = false;  // a stopped engine left sends of ours unrecorded
  std::vector<store::EventLane> served_lanes_;
  std::vector<std::unique_ptr<Served>> served_;
  std::unique_ptr<DeliveryEngine> engine_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::string> lane_names_;  // under mutex_
  std::string last_error_;               // under mutex_
  std::string job_errors_;               // under mutex_: the lanes left out, and why
  std::thread thread_;
};

}  // namespace herald::dispatch
