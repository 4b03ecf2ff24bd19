// The paced sender's messages (seed 001) on PostgreSQL: messages of one
// recipient in the lane 'paced' of the message tables, as on SQLite.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "store/pacing_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace herald::store::postgres {

class PgPacingStore final : public PacingStore {
 public:
  explicit PgPacingStore(PgPool& pool) : pool_(pool) {}

  std::vector<PacedMessage> Enqueue(const std::vector<NewPacedMessage>& messages, std::int64_t now_ms) override;
  std::optional<PacedMessage> Get(std::int64_t id) override;
  PacedPage ListSent(std::optional<std::int64_t> owner_id, int page, int page_size) override;

 private:
  PgPool& pool_;
};

}  // namespace herald::store::postgres
