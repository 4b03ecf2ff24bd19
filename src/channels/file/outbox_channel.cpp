#include "channels/file/outbox_channel.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/offload.hpp"

namespace herald::channels::file {
namespace {

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

OutboxChannel::OutboxChannel(std::string outbox_dir, boost::asio::thread_pool& blocking)
    : dir_(std::move(outbox_dir)), blocking_(blocking) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("cannot create outbox folder " + dir_ + ": " + ec.message());
}

boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> OutboxChannel::Send(
    std::span<const RenderedMessage> messages, Deadline) {
  co_return co_await Offload(blocking_, [this, messages] { return Write(messages); });
}

std::vector<domain::DeliveryOutcome> OutboxChannel::Write(std::span<const RenderedMessage> messages) {
  static std::atomic<unsigned long> sequence{0};
  std::vector<domain::DeliveryOutcome> outcomes;
  outcomes.reserve(messages.size());
  bool renamed_any = false;
  for (const auto& message : messages) {
    const auto name = OutboxFileName(message.message_id.empty() ? RandomHex(12) : message.message_id);
    const auto final_path = std::filesystem::path(dir_) / name;
    const auto temporary = std::filesystem::path(dir_) /
                           ("." + name + "." + std::to_string(getpid()) + "." + std::to_string(sequence++) + ".tmp");
    const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
      outcomes.push_back(
          domain::DeliveryOutcome::Transient("cannot create " + temporary.string() + ": " + std::strerror(errno)));
      continue;
    }
    // Written and synced under a temporary name, then renamed: a reader never sees
    // half a message, and a message reported as sent survives a power cut.
    const bool ok = WriteAll(fd, message.mime) && fdatasync(fd) == 0;
    const int saved_errno = errno;
    close(fd);
    if (!ok) {
      std::filesystem::remove(temporary);
      outcomes.push_back(domain::DeliveryOutcome::Transient("cannot write " + temporary.string() + ": " +
                                                            std::strerror(saved_errno)));
      continue;
    }
    std::error_code ec;
    std::filesystem::rename(temporary, final_path, ec);
    if (ec) {
      outcomes.push_back(
          domain::DeliveryOutcome::Transient("cannot rename into " + final_path.string() + ": " + ec.message()));
      continue;
    }
    renamed_any = true;
    outcomes.push_back(domain::DeliveryOutcome::Accepted(name, "written to " + final_path.string()));
  }
  // The renames are durable once the folder is: one sync for the batch.
  if (renamed_any) {
    const int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      fsync(dir_fd);
      close(dir_fd);
    }
  }
  return outcomes;
}

}  // namespace herald::channels::file
