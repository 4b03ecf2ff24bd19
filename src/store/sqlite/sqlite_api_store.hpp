// The API service's store on SQLite (the data dir's herald.db): API keys,
// messages and per-recipient deliveries, behind KeyStore, MessageStore and
// MessageDeliveryStore. The recipients table is also the
// embedded work queue: lanes claim due rows by lane and priority (the paced
// lane in arrival order), so a message and its queued work are written in one
// transaction.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/api_records.hpp"
#include "store/key_store.hpp"
#include "store/message_store.hpp"
#include "store/message_delivery_store.hpp"
#include "store/sqlite/shared_database.hpp"
#include "store/tracking_store.hpp"

namespace herald::store::sqlite {

class SqliteApiStore final : public KeyStore, public MessageStore, public MessageDeliveryStore, public TrackingStore {
 public:
  explicit SqliteApiStore(SharedDatabase& db);
  // On a SharedDatabase of its own (migrating the file): for tools and tests
  // that open one store. Throws std::runtime_error naming the file when it cannot.
  explicit SqliteApiStore(const std::string& path);
  ~SqliteApiStore() override;
  SqliteApiStore(const SqliteApiStore&) = delete;
  SqliteApiStore& operator=(const SqliteApiStore&) = delete;

  ApiKeyRecord CreateKey(const std::string& name, const std::string& role, const std::string& tier,
                         const std::string& key_hash, const std::string& key_prefix, std::int64_t now_ms) override;
  IssuedKey IssueKey(const std::string& name, const std::string& role, const std::string& tier,
                     std::int64_t now_ms) override;
  std::optional<ApiKeyRecord> FindActiveKey(const std::string& key_hash) override;
  std::vector<ApiKeyRecord> ListKeys() override;
  bool RevokeKey(std::int64_t id, std::int64_t now_ms) override;

  std::vector<AcceptedMessage> Accept(std::vector<NewMessage> messages, std::int64_t now_ms) override;
  std::optional<MessageRecord> GetMessage(std::int64_t id) override;
  MessagePage ListMessages(const MessageFilter& filter, int page, int page_size) override;
  CancelResult CancelMessage(std::int64_t id, std::int64_t now_ms) override;
  std::int64_t RetryMessage(std::int64_t id, const std::vector<std::string>& statuses, std::int64_t now_ms) override;
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> CountByLaneAndStatus() override;

  std::vector<EventRecorded> RecordEvents(const std::vector<ProviderEvent>& events, std::int64_t now_ms) override;
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> CountEventsByProviderAndKind() override;

  const std::string& claimant() const override { return claimant_; }
  void Heartbeat(std::int64_t now_ms) override;
  std::int64_t ResolveAbandoned(std::int64_t now_ms, std::int64_t alive_since_ms) override;
  std::optional<std::int64_t> NextDueAt(const std::string& lane) override;
  std::vector<ClaimedDelivery> TakeDue(const std::string& lane, TakeOrder order, int max, std::int64_t now_ms,
                                       const std::set<std::int64_t>& held) override;
  std::vector<bool> RecordAndClaimMany(const std::vector<DeliveryResult>& finished,
                                       const std::vector<std::int64_t>& claims, std::int64_t now_ms,
                                       const std::optional<LaneSchedule>& schedule) override;
  bool HasOpen(const std::string& lane) override;
  std::vector<UnpublishedDelivery> TakeUnpublished(int max, std::int64_t now_ms) override;
  void MarkPublished(const std::vector<UnpublishedDelivery>& published) override;
  std::int64_t ForgetPublished(const std::string& lane, std::int64_t due_before_ms) override;
  std::vector<ClaimedDelivery> LoadDeliveries(const std::vector<std::int64_t>& recipient_ids) override;
  LaneSchedule LoadSchedule() override;
  void SaveSchedule(const LaneSchedule& schedule, std::int64_t now_ms) override;

 private:
  std::vector<RecipientRecord> RecipientsOf(Database& db, std::int64_t message_id);
  std::optional<MessageRecord> LoadMessage(Database& db, std::int64_t id);
  void AttachEvents(Database& db, MessageRecord& message);
  // On `db`, the Fast() writer, in its transaction.
  void RecordLocked(Database& db, const std::vector<DeliveryResult>& finished, std::int64_t now_ms);
  void SaveScheduleLocked(Database& db, const LaneSchedule& schedule, std::int64_t now_ms);

  std::unique_ptr<SharedDatabase> owned_;  // set by the path constructor only
  // Acceptances, keys and cancels go through its Durable() writer, on disk
  // before the caller hears "stored". The engine's claims and outcomes go
  // through Fast(): committed to the WAL without waiting for the disk, so a
  // round trip costs microseconds, not an fsync. That survives a killed process
  // (the promise) and the next acceptance's fsync makes it durable; a power cut
  // may lose the last few (see docs/ARCHITECTURE.md).
  SharedDatabase& db_;
  const std::string claimant_;
};

}  // namespace herald::store::sqlite
