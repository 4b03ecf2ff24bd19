#include "certificates/render_worker.hpp"

#include "common/files.hpp"

#include <fcntl.h>
#include <malloc.h>
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
#include <exception>
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
  args.push_back("--render-seconds");
  args.push_back(std::to_string(RenderSeconds()));
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copies, so only the child's end reaches the worker.
  posix_spawn_file_actions_adddup2(&actions, sockets[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, sockets[1], STDOUT_FILENO);
  // Nothing else of herald's reaches a worker (Asio's sockets are not close-on-exec).
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  // herald blocks SIGINT and SIGTERM to handle them on a thread of its own. A
  // worker gets SIGTERM back, so it can be stopped, and keeps SIGINT blocked from
  // its first instruction: a Ctrl-C is for herald, which finishes its renders.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  posix_spawnattr_setsigmask(&attributes, &blocked);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  ::close(sockets[1]);
  if (spawned != 0) {
    ::close(sockets[0]);
    return MakeError("pdf.render_worker", "cannot start the render worker " + command_.front() + ": " +
                                              std::strerror(spawned));
  }
  return Worker{pid, sockets[0]};
}

int IsolatedPdfRenderer::Stop(Worker& worker) const {
  int status = 0;
  if (worker.socket >= 0) ::close(worker.socket);
  if (worker.pid > 0) {
    ::kill(worker.pid, SIGKILL);
    while (::waitpid(worker.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  worker = {};
  return status;
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
    // Reaped here so the reason can be told (a worker that is already dead keeps
    // the status it died with); the caller's Stop then has nothing left to do.
    const int status = Stop(worker);
    if (WIFEXITED(status)) {
      return MakeError("pdf.render_crashed", "the renderer exited with status " + std::to_string(WEXITSTATUS(status)) +
                                                 " while rendering this certificate; see its message above");
    }
    const int signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    const std::string why = signal == SIGALRM ? "past its own deadline"
                            : signal == SIGKILL || signal == SIGTERM ? "from outside (the system or a person)"
                                                : "most likely out of its " + Mebibytes(limits_.memory_bytes) +
                                                      " (certificates.render_memory_mb)";
    return MakeError("pdf.render_crashed", "the renderer was stopped by signal " + std::to_string(signal) + " (" +
                                               strsignal(signal) + ") while rendering this certificate, " + why);
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
  if (head[0] != kAnswerPdf && head[0] != kAnswerError) return died();  // out of step: do not trust it again
  reusable = true;
  if (head[0] == kAnswerPdf) return body;
  const auto split = body.find('\n');
  return MakeError(body.substr(0, split), split == std::string::npos ? "" : body.substr(split + 1));
}

// An idle worker has nothing to say: readable (an end of file) means it died
// meanwhile, and the certificate that would have gone to it goes to a new one.
static bool StillAlive(int socket) {
  pollfd ready{socket, POLLIN, 0};
  return ::poll(&ready, 1, 0) == 0;
}

Result<std::string> IsolatedPdfRenderer::Render(std::string_view svg, const PdfMetadata& metadata) const {
  if (svg.size() > kMaxMessageBytes || metadata.title.size() > kMaxMessageBytes) {
    return MakeError("pdf.invalid_svg", "the SVG or its title is larger than 256 MiB");
  }
  Worker worker;
  {
    std::unique_lock lock(mutex_);
    while (true) {
      idle_changed_.wait(lock, [&] { return !idle_.empty() || running_ < max_workers_; });
      if (idle_.empty()) break;
      worker = idle_.back();
      idle_.pop_back();
      if (StillAlive(worker.socket)) break;
      Stop(worker);
      --running_;
    }
    if (worker.pid < 0) {
      ++running_;
      ++started_;
      lock.unlock();
      std::optional<Result<Worker>> started;
      std::exception_ptr failure;
      try {
        started.emplace(Start());
      } catch (...) {
        failure = std::current_exception();
      }
      if (failure || !*started) {
        lock.lock();
        --running_;
        idle_changed_.notify_one();
        if (failure) std::rethrow_exception(failure);
        return Unexpected<Error>(started->error());
      }
      worker = **started;
    }
  }
  // Whatever happens below, the slot comes back: to the idle list, or freed.
  bool reusable = false;
  struct SlotReturn {
    const IsolatedPdfRenderer& self;
    Worker& worker;
    bool& reusable;
    ~SlotReturn() {
      if (!reusable) self.Stop(worker);
      std::lock_guard lock(self.mutex_);
      if (reusable) {
        self.idle_.push_back(worker);
      } else {
        --self.running_;
      }
      self.idle_changed_.notify_one();
    }
  } slot{*this, worker, reusable};
  std::string request;
  request.reserve(svg.size() + metadata.title.size() + 8);
  PutLength(request, svg.size());
  request.append(svg);
  PutLength(request, metadata.title.size());
  request.append(metadata.title);
  return Exchange(worker, request, reusable);
}

int IsolatedPdfRenderer::RenderSeconds() const {
  return static_cast<int>(std::max<long long>(
      1, std::chrono::duration_cast<std::chrono::seconds>(limits_.timeout + std::chrono::milliseconds(999)).count()));
}

int RunRenderWorker(std::size_t memory_limit_bytes, int render_seconds) {
  // Ctrl-C reaches the whole process group; it is for herald, which finishes the
  // renders in flight before it stops. A worker ends when herald closes its socket.
  ::signal(SIGINT, SIG_IGN);
  // The socket moves off stdin and stdout: a library printing to stdout (fontconfig
  // with FC_DEBUG, GLib with G_MESSAGES_DEBUG) reaches stderr, not the answers.
  const int channel = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (channel < 0) return 3;
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  if (const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC); null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  // Fewer malloc arenas: the address-space limit counts what each one reserves.
  ::mallopt(M_ARENA_MAX, 2);
  if (memory_limit_bytes > 0) {
    const rlimit limit{memory_limit_bytes, memory_limit_bytes};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) return 3;
  }
  InProcessPdfRenderer renderer;
  while (true) {
    auto svg = ReadMessage(channel);
    if (!svg) return 0;  // herald closed the socket: done
    auto title = ReadMessage(channel);
    if (!title) return 0;
    // Herald kills a worker past the deadline; this bound holds when herald is gone.
    if (render_seconds > 0) ::alarm(static_cast<unsigned>(render_seconds) + 5);
    const auto pdf = renderer.Render(*svg, PdfMetadata{.title = std::move(*title)});
    ::alarm(0);
    const bool fits = !pdf || pdf->size() <= kMaxMessageBytes;
    std::string answer(1, pdf && fits ? kAnswerPdf : kAnswerError);
    const std::string body = !pdf   ? pdf.error().code + "\n" + pdf.error().message
                             : fits ? *pdf
                                    : std::string("pdf.too_large\nthe PDF is larger than 256 MiB");
    PutLength(answer, body.size());
    if (!WriteAll(channel, answer) || !WriteAll(channel, body)) return 0;
  }
}

}  // namespace herald::certificates
