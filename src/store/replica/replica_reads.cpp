#include "store/replica/replica_reads.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace herald::store {
namespace {

class MessageReads final : public MessageStore {
 public:
  MessageReads(ReplicaReads& reads, MessageStore& primary) : reads_(reads), primary_(primary) {}

  std::vector<AcceptedMessage> Accept(std::vector<NewMessage> messages, std::int64_t now_ms) override {
    return primary_.Accept(std::move(messages), now_ms);
  }
  std::optional<MessageRecord> GetMessage(std::int64_t id) override {
    return reads_.ReadRow([&](Stores& s) { return s.messages().GetMessage(id); });
  }
  MessagePage ListMessages(const MessageFilter& filter, int page, int page_size) override {
    return reads_.Read([&](Stores& s) { return s.messages().ListMessages(filter, page, page_size); });
  }
  CancelResult CancelMessage(std::int64_t id, std::int64_t now_ms) override {
    return primary_.CancelMessage(id, now_ms);
  }
  std::int64_t RetryMessage(std::int64_t id, const std::vector<std::string>& statuses, std::int64_t now_ms) override {
    return primary_.RetryMessage(id, statuses, now_ms);
  }
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> CountByLaneAndStatus() override {
    return reads_.Read([](Stores& s) { return s.messages().CountByLaneAndStatus(); });
  }

 private:
  ReplicaReads& reads_;
  MessageStore& primary_;
};

class ContactReads final : public ContactStore {
 public:
  ContactReads(ReplicaReads& reads, ContactStore& primary) : reads_(reads), primary_(primary) {}

  std::vector<ContactRecord> CreateContacts(std::vector<ContactRecord> contacts, std::int64_t now_ms) override {
    return primary_.CreateContacts(std::move(contacts), now_ms);
  }
  std::optional<ContactRecord> GetContact(std::int64_t id) override {
    return reads_.ReadRow([&](Stores& s) { return s.contacts().GetContact(id); });
  }
  Page<ContactRecord> ListContacts(const PageQuery& query) override {
    return reads_.Read([&](Stores& s) { return s.contacts().ListContacts(query); });
  }
  bool UpdateContact(const ContactRecord& contact, std::int64_t now_ms) override {
    return primary_.UpdateContact(contact, now_ms);
  }
  bool DeleteContact(std::int64_t id) override { return primary_.DeleteContact(id); }
  std::vector<ContactRecord> ContactsOf(std::int64_t owner_id, const std::vector<std::int64_t>& ids) override {
    return reads_.Read([&](Stores& s) { return s.contacts().ContactsOf(owner_id, ids); });
  }
  std::vector<ContactRecord> ContactsAfter(std::int64_t owner_id, std::int64_t after_id, int limit) override {
    return reads_.Read([&](Stores& s) { return s.contacts().ContactsAfter(owner_id, after_id, limit); });
  }

 private:
  ReplicaReads& reads_;
  ContactStore& primary_;
};

class TemplateReads final : public TemplateStore {
 public:
  TemplateReads(ReplicaReads& reads, TemplateStore& primary) : reads_(reads), primary_(primary) {}

  TemplateRecord CreateTemplate(TemplateRecord record, std::int64_t now_ms) override {
    return primary_.CreateTemplate(std::move(record), now_ms);
  }
  std::optional<TemplateRecord> GetTemplate(std::int64_t id) override {
    return reads_.ReadRow([&](Stores& s) { return s.templates().GetTemplate(id); });
  }
  Page<TemplateRecord> ListTemplates(const PageQuery& query) override {
    return reads_.Read([&](Stores& s) { return s.templates().ListTemplates(query); });
  }
  bool UpdateTemplate(const TemplateRecord& record, std::int64_t now_ms) override {
    return primary_.UpdateTemplate(record, now_ms);
  }
  bool DeleteTemplate(std::int64_t id) override { return primary_.DeleteTemplate(id); }

 private:
  ReplicaReads& reads_;
  TemplateStore& primary_;
};

class CampaignReads final : public CampaignStore {
 public:
  CampaignReads(ReplicaReads& reads, CampaignStore& primary) : reads_(reads), primary_(primary) {}

  CampaignRecord CreateCampaign(CampaignRecord record, std::int64_t now_ms) override {
    return primary_.CreateCampaign(std::move(record), now_ms);
  }
  std::optional<CampaignRecord> GetCampaign(std::int64_t id) override {
    return reads_.ReadRow([&](Stores& s) { return s.campaigns().GetCampaign(id); });
  }
  Page<CampaignRecord> ListCampaigns(const PageQuery& query, const CampaignFilter& filter) override {
    return reads_.Read([&](Stores& s) { return s.campaigns().ListCampaigns(query, filter); });
  }
  bool SetCampaignStatus(std::int64_t id, const std::vector<std::string>& from, const std::string& status,
                         std::int64_t now_ms) override {
    return primary_.SetCampaignStatus(id, from, status, now_ms);
  }
  std::int64_t Settle(std::int64_t now_ms) override { return primary_.Settle(now_ms); }
  void LinkMessages(std::int64_t campaign_id, const std::vector<CampaignMessageLink>& links) override {
    primary_.LinkMessages(campaign_id, links);
  }
  std::int64_t RetryCampaign(std::int64_t campaign_id, const std::vector<std::string>& statuses,
                             std::int64_t now_ms) override {
    return primary_.RetryCampaign(campaign_id, statuses, now_ms);
  }
  CampaignStats Stats(std::int64_t campaign_id) override {
    return reads_.Read([&](Stores& s) { return s.campaigns().Stats(campaign_id); });
  }

 private:
  ReplicaReads& reads_;
  CampaignStore& primary_;
};

}  // namespace

class ReplicaReads::Views {
 public:
  Views(ReplicaReads& reads, Stores& primary)
      : messages(reads, primary.messages()),
        contacts(reads, primary.contacts()),
        templates(reads, primary.templates()),
        campaigns(reads, primary.campaigns()) {}

  MessageReads messages;
  ContactReads contacts;
  TemplateReads templates;
  CampaignReads campaigns;
};

ReplicaReads::ReplicaReads(Stores& primary, std::string replica_where, Opener open_replica,
                           std::chrono::milliseconds retry_interval, IsOutage is_outage)
    : primary_(primary),
      where_(std::move(replica_where)),
      open_(std::move(open_replica)),
      retry_interval_(retry_interval),
      is_outage_(std::move(is_outage)),
      views_(std::make_unique<Views>(*this, primary)) {
  if (Replica() == nullptr) {
    std::lock_guard lock(mutex_);
    spdlog::warn("store replica {}: {}; reads go to the primary until it answers", where_, error_);
  }
}

ReplicaReads::~ReplicaReads() = default;

MessageStore& ReplicaReads::messages() { return views_->messages; }
ContactStore& ReplicaReads::contacts() { return views_->contacts; }
TemplateStore& ReplicaReads::templates() { return views_->templates; }
CampaignStore& ReplicaReads::campaigns() { return views_->campaigns; }

Stores* ReplicaReads::Replica() {
  if (up_.load(std::memory_order_acquire)) return replica_view_.load(std::memory_order_acquire);
  std::unique_lock lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (opening_ || now < retry_at_) return nullptr;
  // This read tries the replica; the others go on reading the primary meanwhile.
  retry_at_ = now + retry_interval_;
  if (replica_) return replica_.get();
  opening_ = true;
  lock.unlock();
  std::unique_ptr<Stores> opened;
  std::string error;
  try {
    opened = open_();
  } catch (const std::exception& e) {
    error = e.what();
  }
  lock.lock();
  opening_ = false;
  if (!opened) {
    error_ = error;
    return nullptr;
  }
  replica_ = std::move(opened);
  replica_view_.store(replica_.get(), std::memory_order_release);
  error_.clear();
  up_.store(true, std::memory_order_release);
  return replica_.get();
}

void ReplicaReads::MarkUp() {
  if (up_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  if (!up_.exchange(true)) spdlog::info("store replica {}: answering again; reads go to it", where_);
  error_.clear();
}

void ReplicaReads::MarkDown(const std::string& error) {
  std::lock_guard lock(mutex_);
  if (up_.exchange(false)) spdlog::warn("store replica {}: {}; reads go to the primary until it answers", where_, error);
  error_ = error;
  retry_at_ = std::chrono::steady_clock::now() + retry_interval_;
}

ReplicaReads::Health ReplicaReads::health() const {
  std::lock_guard lock(mutex_);
  return {.up = up_.load(),
          .where = where_,
          .error = error_,
          .replica_reads = replica_reads_.load(),
          .primary_reads = primary_reads_.load()};
}

ReplicaReads::Health ReplicaReads::Probe() {
  if (Stores* replica = Replica()) {
    try {
      // One indexed lookup of a row that never exists: the replica answers, or not.
      replica->templates().GetTemplate(0);
      MarkUp();
    } catch (const std::exception& e) {
      MarkDown(e.what());
    }
  }
  return health();
}

}  // namespace herald::store
