// The "file" channel: each e-mail becomes <outbox>/<message id>.eml, written
// atomically and synced. It is the default when no SMTP server is configured, so
// the whole pipeline runs on a machine with no mail server, and its output can
// be opened in any mail client or handed to `sendmail` later. The file system
// work runs on a blocking pool; a batch shares one directory sync.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <string>

#include "channels/channel.hpp"

namespace herald::channels::file {

class OutboxChannel final : public Channel {
 public:
  // Creates the folder if missing; throws std::runtime_error naming it if it cannot.
  OutboxChannel(std::string outbox_dir, boost::asio::thread_pool& blocking);

  boost::asio::awaitable<std::vector<domain::DeliveryOutcome>> Send(std::span<const RenderedMessage> messages,
                                                                    Deadline deadline) override;
  ChannelLimits Limits() const override { return {32, 16}; }
  std::string Describe() const override { return "outbox:" + dir_; }

  // The work of Send, on the calling thread.
  std::vector<domain::DeliveryOutcome> Write(std::span<const RenderedMessage> messages);

 private:
  std::string dir_;
  boost::asio::thread_pool& blocking_;
};

// A file name safe on any file system, derived from the Message-ID.
std::string OutboxFileName(const std::string& message_id);

}  // namespace herald::channels::file
