// SentCache: seed 001's cache of what the paced sender sent - the provider's
// message id and the sent time of each message - kept beside the store (in
// Redis) so the sent list is answered without reading them from every row.
// Never the only copy: the store has both, so a cache that cannot answer only
// costs the shortcut.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herald::store {

struct SentEntry {
  std::int64_t message_id = 0;
  std::string provider_message_id;
  std::int64_t sent_at_ms = 0;
};

class SentCache {
 public:
  virtual ~SentCache() = default;
  // Remembers the sends; best effort (a failure shows in Health(), never thrown).
  virtual void Remember(const std::vector<SentEntry>& sent) = 0;
  // One lookup for all of `message_ids`: the entry of each, or nullopt where
  // none is cached. nullopt as a whole when the cache cannot answer.
  virtual std::optional<std::vector<std::optional<SentEntry>>> Recall(const std::vector<std::int64_t>& message_ids) = 0;
  // Empty while the cache answers; else why it does not.
  virtual std::string Health() = 0;
};

}  // namespace herald::store
