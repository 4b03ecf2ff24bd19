// The paced sender's store (seed 001) on SQLite, in the data dir's herald.db.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/pacing_store.hpp"
#include "store/sqlite/database.hpp"

namespace herald::store::sqlite {

class SqlitePacingStore final : public PacingStore {
 public:
  // Opens (creating if needed) the file and the pacing tables. Throws
  // std::runtime_error naming the file when it cannot.
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
  void RecordLocked(const PacedOutcome& finished, std::int64_t now_ms);  // writer_, in a transaction
  void SaveStateLocked(const PacerState& state, std::int64_t now_ms);   // writer_

  std::mutex writer_mutex_;
  Database writer_;  // synchronous=FULL: a claim is on disk before its send
  std::mutex reader_mutex_;
  Database reader_;  // WAL: reads never wait for a claim's commit
};

}  // namespace herald::store::sqlite
