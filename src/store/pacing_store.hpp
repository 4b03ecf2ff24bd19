// PacingStore: the paced sender of seed 001 as its API sees it - SMS messages
// stored for the paced lane, one recipient each, read back one at a time and as
// the list of sent messages. They are messages like the API's (one table of
// deliveries, one state machine); the paced lane of the delivery engine takes
// them through MessageDeliveryStore, oldest first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herald::store {

// One paced message: its id is the message id. States are the delivery states
// every job shares: queued -> sending -> sent | failed | unknown | dead, or
// cancelled; a transient failure puts it back to queued for a later release.
struct PacedMessage {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;
  std::string to;  // E.164, normalised by the caller
  std::string content;
  std::string status;
  int attempts = 0;
  std::string provider_message_id;
  std::string last_error;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::optional<std::int64_t> sent_at_ms;
};

struct NewPacedMessage {
  std::int64_t owner_id = 0;
  std::string to;
  std::string content;
};

struct PacedPage {
  std::vector<PacedMessage> messages;
  std::int64_t total_count = 0;
};

class PacingStore {
 public:
  virtual ~PacingStore() = default;

  // Stores the messages as queued in the paced lane in one transaction, durable
  // before it returns; returns them with their ids.
  virtual std::vector<PacedMessage> Enqueue(const std::vector<NewPacedMessage>& messages, std::int64_t now_ms) = 0;
  // A message of the paced lane; nullopt for any other message id.
  virtual std::optional<PacedMessage> Get(std::int64_t id) = 0;
  // Sent messages, newest sent first; owner nullopt: everyone's.
  virtual PacedPage ListSent(std::optional<std::int64_t> owner_id, int page, int page_size) = 0;
};

}  // namespace herald::store
