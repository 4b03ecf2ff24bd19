// Rendering with a bound on each certificate: SVG to PDF runs in worker
// processes (`herald render-worker`), each under an address-space limit, and a
// render that takes longer than its deadline has its worker killed. A poison
// certificate (a render that would take minutes or gigabytes, or makes librsvg
// abort) then fails on its own, with a reason, and the next one gets a fresh
// worker; the job, its other rows and its summary are unaffected.
//
// The request and answer travel over a Unix socket pair that is the worker's
// stdin and stdout: a request is the SVG and the PDF title, each as a 32-bit
// length and its bytes; an answer is one status byte (0: the PDF follows,
// 1: an error code and message follow, split by a newline) and its bytes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "certificates/pdf_renderer.hpp"

namespace herald::certificates {

struct RenderLimits {
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // one certificate, from request to answer
  std::size_t memory_bytes = std::size_t{1} << 30;              // each worker's address space
};

class IsolatedPdfRenderer final : public PdfRenderer {
 public:
  // `worker_command`: how to start a worker, e.g. {"/proc/self/exe", "render-worker"};
  // "--memory-limit <bytes> --render-seconds <n>" is appended. Up to `max_workers` run at once (one
  // per concurrent Render); they start when first needed.
  IsolatedPdfRenderer(std::vector<std::string> worker_command, int max_workers, RenderLimits limits);
  ~IsolatedPdfRenderer() override;
  IsolatedPdfRenderer(const IsolatedPdfRenderer&) = delete;
  IsolatedPdfRenderer& operator=(const IsolatedPdfRenderer&) = delete;

  // pdf.render_timeout when the deadline passed, pdf.render_crashed when the
  // worker died (its memory limit, most often), pdf.render_worker when none
  // could be started; otherwise what the in-process renderer answers.
  Result<std::string> Render(std::string_view svg, const PdfMetadata& metadata = {}) const override;

  // Workers started so far, replacements included (for tests and the summary).
  int WorkersStarted() const;

 private:
  struct Worker {
    pid_t pid = -1;
    int socket = -1;
  };
  Result<Worker> Start() const;
  int RenderSeconds() const;  // the deadline in whole seconds, rounded up
  int Stop(Worker& worker) const;  // kills and reaps it; its wait status
  Result<std::string> Exchange(Worker& worker, std::string_view request, bool& reusable) const;

  const std::vector<std::string> command_;
  const int max_workers_;
  const RenderLimits limits_;
  mutable std::mutex mutex_;
  mutable std::condition_variable idle_changed_;
  mutable std::vector<Worker> idle_;
  mutable int running_ = 0;  // idle and busy
  mutable int started_ = 0;
};

// The worker's side: sets the address-space limit, then answers requests on
// the socket it got as stdin and stdout until herald closes it; a render past
// `render_seconds` (and a few more) ends the worker even when herald is gone.
// Returns the process's exit code.
int RunRenderWorker(std::size_t memory_limit_bytes, int render_seconds);

}  // namespace herald::certificates
