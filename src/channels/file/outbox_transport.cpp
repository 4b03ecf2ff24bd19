#include "channels/file/outbox_transport.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/hash.hpp"

namespace herald::channels::file {
namespace {

bool WriteAll(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string OutboxFileName(const std::string& message_id) {
  std::string name;
  for (char c : message_id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '@') {
      name += c;
    } else {
      name += '_';
    }
  }
  if (name.empty() || name.front() == '.') name = "m" + name;
  if (name.size() > 180) name = name.substr(0, 160) + "-" + Sha256Hex(message_id).substr(0, 16);
  return name + ".eml";
}

OutboxTransport::OutboxTransport(std::string outbox_dir) : dir_(std::move(outbox_dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("cannot create outbox folder " + dir_ + ": " + ec.message());
}

domain::DeliveryOutcome OutboxTransport::Send(const OutgoingEmail& email) {
  static std::atomic<unsigned long> sequence{0};
  const auto name = OutboxFileName(email.message_id.empty() ? RandomHex(12) : email.message_id);
  const auto final_path = std::filesystem::path(dir_) / name;
  const auto temporary = std::filesystem::path(dir_) /
                         ("." + name + "." + std::to_string(getpid()) + "." + std::to_string(sequence++) + ".tmp");
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return domain::DeliveryOutcome::Transient("cannot create " + temporary.string() + ": " + std::strerror(errno));
  // Written and synced under a temporary name, then renamed: a reader never sees
  // half a message, and a message reported as sent survives a power cut.
  const bool ok = WriteAll(fd, email.data) && fsync(fd) == 0;
  const int saved_errno = errno;
  close(fd);
  if (!ok) {
    std::filesystem::remove(temporary);
    return domain::DeliveryOutcome::Transient("cannot write " + temporary.string() + ": " + std::strerror(saved_errno));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, final_path, ec);
  if (ec) return domain::DeliveryOutcome::Transient("cannot rename into " + final_path.string() + ": " + ec.message());
  return domain::DeliveryOutcome::Accepted(name, "written to " + final_path.string());
}

}  // namespace herald::channels::file
