// The paced sender's messages (seed 001) on SQLite: messages of one recipient
// in the lane 'paced' of herald.db's message tables.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/message_delivery_store.hpp"
#include "store/pacing_store.hpp"
#include "store/sqlite/shared_database.hpp"

namespace herald::store::sqlite {

class SqlitePacingStore final : public PacingStore {
 public:
  explicit SqlitePacingStore(SharedDatabase& db);
  // On a SharedDatabase of its own (migrating the file), for tools and tests.
  explicit SqlitePacingStore(const std::string& path);
  SqlitePacingStore(const SqlitePacingStore&) = delete;
  SqlitePacingStore& operator=(const SqlitePacingStore&) = delete;

  std::vector<PacedMessage> Enqueue(const std::vector<NewPacedMessage>& messages, std::int64_t now_ms) override;
  std::optional<PacedMessage> Get(std::int64_t id) override;
  PacedPage ListSent(std::optional<std::int64_t> owner_id, int page, int page_size) override;

 private:
  std::unique_ptr<SharedDatabase> owned_;  // set by the path constructor only
  SharedDatabase& db_;
};

}  // namespace herald::store::sqlite
