// MessageStore: the messages of the API (seed 004) and of campaigns, each with
// its per-recipient deliveries, as the HTTP side accepts, reads, cancels and
// retries them. The delivery engine's side of the same rows is
// MessageDeliveryStore.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/api_records.hpp"

namespace herald::store {

class MessageStore {
 public:
  virtual ~MessageStore() = default;

  // Stores every message with its recipients in one transaction, durable before
  // it returns. A message whose (owner, idempotency key) exists already is not
  // stored again: the earlier one is returned with created = false.
  virtual std::vector<AcceptedMessage> Accept(std::vector<NewMessage> messages, std::int64_t now_ms) = 0;
  virtual std::optional<MessageRecord> GetMessage(std::int64_t id) = 0;
  // Newest first; a page cut from the snapshot `filter.as_of_id` (or the newest
  // id when unset), so pages neither repeat nor skip while messages arrive.
  virtual MessagePage ListMessages(const MessageFilter& filter, int page, int page_size) = 0;
  // Cancels the recipients not yet claimed for sending.
  virtual CancelResult CancelMessage(std::int64_t id, std::int64_t now_ms) = 0;
  // Puts the message's recipients in `statuses` (failed, dead, unknown) back in
  // their lane, due now, with a fresh count of attempts. Returns how many.
  virtual std::int64_t RetryMessage(std::int64_t id, const std::vector<std::string>& statuses,
                                    std::int64_t now_ms) = 0;
  // Recipients per (lane, status), for metrics and health. A lane is named
  // after its channel, except the paced sender's ("paced", over SMS).
  virtual std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> CountByLaneAndStatus() = 0;
};

}  // namespace herald::store
