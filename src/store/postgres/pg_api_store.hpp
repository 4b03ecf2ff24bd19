// The API service's store on PostgreSQL: API keys, messages and per-recipient
// deliveries, behind KeyStore, MessageStore and MessageDeliveryStore, as on
// SQLite. The recipients table is the message lanes' queue; a claim is a
// conditional UPDATE (queued -> sending), so any number of processes may take
// and claim the same lane and each recipient is claimed once.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/key_store.hpp"
#include "store/message_delivery_store.hpp"
#include "store/tracking_store.hpp"
#include "store/message_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace herald::store::postgres {

class PgApiStore final : public KeyStore, public MessageStore, public MessageDeliveryStore, public TrackingStore {
 public:
  // relay_outbox: write the outbox rows a relay publishes (pg_outbox.hpp).
  PgApiStore(PgPool& pool, bool relay_outbox)
      : pool_(pool), claimant_(NewClaimantId()), relay_outbox_(relay_outbox) {}

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
  PgPool& pool_;
  const std::string claimant_;
  const bool relay_outbox_;
};

}  // namespace herald::store::postgres
