// The paced sender's store (seed 001) on SQLite, in the data dir's herald.db.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

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
  std::vector<PacedMessage> TakeDue(int max, std::int64_t now_ms, const std::set<std::int64_t>& held) override;
  std::vector<bool> RecordAndClaimMany(const std::vector<PacedOutcome>& finished, const std::vector<std::int64_t>& claims,
                                       const std::optional<PacerState>& state, std::int64_t now_ms) override;
  std::optional<std::int64_t> NextDueAt() override;
  bool HasOpen() override;
  std::int64_t ResolveAbandoned(std::int64_t now_ms) override;
  std::vector<std::pair<std::string, std::int64_t>> CountByStatus() override;
  PacerState LoadState() override;
  void SaveState(const PacerState& state, std::int64_t now_ms) override;

 private:
  // On the Durable() writer `db`, in its transaction.
  void RecordLocked(Database& db, const PacedOutcome& finished, std::int64_t now_ms);
  void SaveStateLocked(Database& db, const PacerState& state, std::int64_t now_ms);

  std::unique_ptr<SharedDatabase> owned_;  // set by the path constructor only
  SharedDatabase& db_;  // Durable() writes: a claim is on disk before its send
};

}  // namespace herald::store::sqlite
