#include "certificates/render_worker.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

extern char** environ;

namespace herald::certificates {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::uint32_t kMaxMessageBytes = 256u << 20;  // far beyond any SVG or PDF certificate
constexpr char kAnswerPdf = 0;
constexpr char kAnswerError = 1;

void PutLength(std::string& out, std::size_t length) {
  const auto n = static_cast<std::uint32_t>(length);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xFF));
}

std::uint32_t GetLength(const char* bytes) {
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  return n;
}

int MillisUntil(SteadyClock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

enum class Io { kDone, kTimedOut, kClosed };

// Waits until `socket` is ready for `events` (POLLIN, POLLOUT) or the deadline passes.
Io WaitReady(int socket, short events, SteadyClock::time_point deadline) {
  while (true) {
    pollfd ready{socket, events, 0};
    const int polled = ::poll(&ready, 1, MillisUntil(deadline));
    if (polled > 0) return Io::kDone;
    if (polled == 0) return Io::kTimedOut;
    if (errno != EINTR) return Io::kClosed;
  }
}

Io SendAll(int socket, std::string_view bytes, SteadyClock::time_point deadline) {
  for (std::size_t sent = 0; sent < bytes.size();) {
    if (const auto ready = WaitReady(socket, POLLOUT, deadline); ready != Io::kDone) return ready;
    const auto n = ::send(socket, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return Io::kClosed;
    sent += static_cast<std::size_t>(n);
  }
  return Io::kDone;
}

Io ReceiveExactly(int socket, char* out, std::size_t length, SteadyClock::time_point deadline) {
  for (std::size_t got = 0; got < length;) {
    if (const auto ready = WaitReady(socket, POLLIN, deadline); ready != Io::kDone) return ready;
    const auto n = ::recv(socket, out + got, length - got, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return Io::kClosed;
    got += static_cast<std::size_t>(n);
  }
  return Io::kDone;
}

// The worker's blocking reads and writes on its stdin and stdout.
bool ReadExactly(int fd, char* out, std::size_t length) {
  for (std::size_t got = 0; got < length;) {
    const auto n = ::read(fd, out + got, length - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

bool WriteAll(int fd, std::string_view bytes) {
  for (std::size_t written = 0; written < bytes.size();) {
    const auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::string> ReadMessage(int fd) {
  char length[4];
  if (!ReadExactly(fd, length, sizeof length)) return std::nullopt;
  const auto n = GetLength(length);
  if (n > kMaxMessageBytes) return std::nullopt;
  std::string out(n, '\0');
  if (!ReadExactly(fd, out.data(), n)) return std::nullopt;
  return out;
}

std::string Mebibytes(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

IsolatedPdfRenderer::IsolatedPdfRenderer(std::vector<std::string> worker_command, int max_workers, RenderLimits limits)
    : command_(std::move(worker_command)), max_workers_(std::max(1, max_workers)), limits_(limits) {}

IsolatedPdfRenderer::~IsolatedPdfRenderer() {
  std::lock_guard lock(mutex_);
  for (auto& worker : idle_) Stop(worker);
}

int IsolatedPdfRenderer::WorkersStarted() const {
  std::lock_guard lock(mutex_);
  return started_;
}

Result<IsolatedPdfRenderer::Worker> IsolatedPdfRenderer::Start() const {
  int sockets[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return MakeError("pdf.render_worker", std::string("cannot create a socket for a render worker: ") +
                                              std::strerror(errno));
  }
  std::vector<std::string> args = command_;
  args.push_back("--memory-limit");
  args.push_back(std::to_string(limits_.memory_bytes));
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copies, so only the child's end reaches the worker.
  posix_spawn_file_actions_adddup2(&actions, sockets[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, sockets[1], STDOUT_FILENO);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(sockets[1]);
  if (spawned != 0) {
    ::close(sockets[0]);
    return MakeError("pdf.render_worker", "cannot start the render worker " + command_.front() + ": " +
                                              std::strerror(spawned));
  }
  return Worker{pid, sockets[0]};
}

void IsolatedPdfRenderer::Stop(Worker& worker) const {
  if (worker.socket >= 0) ::close(worker.socket);
  if (worker.pid > 0) {
    ::kill(worker.pid, SIGKILL);
    while (::waitpid(worker.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  worker = {};
}

Result<std::string> IsolatedPdfRenderer::Exchange(Worker& worker, std::string_view request, bool& reusable) const {
  reusable = false;
  const auto deadline = SteadyClock::now() + limits_.timeout;
  const auto timed_out = [&] {
    return MakeError("pdf.render_timeout",
                     "rendering took longer than " +
                         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limits_.timeout).count()) +
                         " s (certificates.render_timeout_seconds); this certificate was not made");
  };
  const auto died = [&] {
    // Reaped here so the reason can be told; Stop then has nothing left to wait for.
    ::close(worker.socket);
    worker.socket = -1;
    int status = 0;
    ::kill(worker.pid, SIGKILL);
    while (::waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
    }
    worker.pid = -1;
    const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                : "exited with status " + std::to_string(WEXITSTATUS(status));
    return MakeError("pdf.render_crashed", "the renderer " + how + " while rendering this certificate, most likely " +
                                               "out of its " + Mebibytes(limits_.memory_bytes) +
                                               " (certificates.render_memory_mb)");
  };
  if (const auto sent = SendAll(worker.socket, request, deadline); sent != Io::kDone) {
    return sent == Io::kTimedOut ? timed_out() : died();
  }
  char head[5];
  if (const auto got = ReceiveExactly(worker.socket, head, sizeof head, deadline); got != Io::kDone) {
    return got == Io::kTimedOut ? timed_out() : died();
  }
  const auto length = GetLength(head + 1);
  if (length > kMaxMessageBytes) return died();
  std::string body(length, '\0');
  if (const auto got = ReceiveExactly(worker.socket, body.data(), length, deadline); got != Io::kDone) {
    return got == Io::kTimedOut ? timed_out() : died();
  }
  reusable = true;
  if (head[0] == kAnswerPdf) return body;
  const auto split = body.find('\n');
  return MakeError(body.substr(0, split), split == std::string::npos ? "" : body.substr(split + 1));
}

Result<std::string> IsolatedPdfRenderer::Render(std::string_view svg, const PdfMetadata& metadata) const {
  if (svg.size() > kMaxMessageBytes) return MakeError("pdf.invalid_svg", "the SVG is larger than 256 MiB");
  Worker worker;
  {
    std::unique_lock lock(mutex_);
    idle_changed_.wait(lock, [&] { return !idle_.empty() || running_ < max_workers_; });
    if (!idle_.empty()) {
      worker = idle_.back();
      idle_.pop_back();
    } else {
      ++running_;
      ++started_;
      lock.unlock();
      auto started = Start();
      if (!started) {
        lock.lock();
        --running_;
        idle_changed_.notify_one();
        return Unexpected<Error>(started.error());
      }
      worker = *started;
    }
  }
  std::string request;
  request.reserve(svg.size() + metadata.title.size() + 8);
  PutLength(request, svg.size());
  request.append(svg);
  PutLength(request, metadata.title.size());
  request.append(metadata.title);
  bool reusable = false;
  auto result = Exchange(worker, request, reusable);
  if (!reusable) Stop(worker);
  std::lock_guard lock(mutex_);
  if (reusable) {
    idle_.push_back(worker);
  } else {
    --running_;
  }
  idle_changed_.notify_one();
  return result;
}

int RunRenderWorker(std::size_t memory_limit_bytes) {
  // Ctrl-C reaches the whole process group; it is for herald, which finishes the
  // renders in flight before it stops. A worker ends when herald closes its socket.
  ::signal(SIGINT, SIG_IGN);
  if (memory_limit_bytes > 0) {
    const rlimit limit{memory_limit_bytes, memory_limit_bytes};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) return 3;
  }
  InProcessPdfRenderer renderer;
  while (true) {
    auto svg = ReadMessage(STDIN_FILENO);
    if (!svg) return 0;  // herald closed the socket: done
    auto title = ReadMessage(STDIN_FILENO);
    if (!title) return 0;
    const auto pdf = renderer.Render(*svg, PdfMetadata{.title = std::move(*title)});
    std::string answer(1, pdf ? kAnswerPdf : kAnswerError);
    const std::string body = pdf ? *pdf : pdf.error().code + "\n" + pdf.error().message;
    PutLength(answer, body.size());
    if (!WriteAll(STDOUT_FILENO, answer) || !WriteAll(STDOUT_FILENO, body)) return 0;
  }
}

}  // namespace herald::certificates
