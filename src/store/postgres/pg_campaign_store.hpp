// The campaign side of the API service on PostgreSQL: contacts, templates,
// campaigns and which message a campaign sent to which contact, beside
// PgApiStore's messages, whose message_recipients table Stats, Settle and
// RetryCampaign read and write.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/campaign_store.hpp"
#include "store/postgres/pg_pool.hpp"

namespace herald::store::postgres {

class PgCampaignStore final : public ContactStore, public TemplateStore, public CampaignStore {
 public:
  // relay_outbox: requeued recipients get outbox rows (pg_outbox.hpp).
  PgCampaignStore(PgPool& pool, bool relay_outbox) : pool_(pool), relay_outbox_(relay_outbox) {}

  std::vector<ContactRecord> CreateContacts(std::vector<ContactRecord> contacts, std::int64_t now_ms) override;
  std::optional<ContactRecord> GetContact(std::int64_t id) override;
  Page<ContactRecord> ListContacts(const PageQuery& query) override;
  bool UpdateContact(const ContactRecord& contact, std::int64_t now_ms) override;
  bool DeleteContact(std::int64_t id) override;
  std::vector<ContactRecord> ContactsOf(std::int64_t owner_id, const std::vector<std::int64_t>& ids) override;
  std::vector<ContactRecord> ContactsAfter(std::int64_t owner_id, std::int64_t after_id, int limit) override;

  TemplateRecord CreateTemplate(TemplateRecord record, std::int64_t now_ms) override;
  std::optional<TemplateRecord> GetTemplate(std::int64_t id) override;
  Page<TemplateRecord> ListTemplates(const PageQuery& query) override;
  bool UpdateTemplate(const TemplateRecord& record, std::int64_t now_ms) override;
  bool DeleteTemplate(std::int64_t id) override;

  CampaignRecord CreateCampaign(CampaignRecord record, std::int64_t now_ms) override;
  std::optional<CampaignRecord> GetCampaign(std::int64_t id) override;
  Page<CampaignRecord> ListCampaigns(const PageQuery& query, const CampaignFilter& filter) override;
  bool SetCampaignStatus(std::int64_t id, const std::vector<std::string>& from, const std::string& status,
                         std::int64_t now_ms) override;
  std::int64_t Settle(std::int64_t now_ms) override;
  void LinkMessages(std::int64_t campaign_id, const std::vector<CampaignMessageLink>& links) override;
  std::int64_t RetryCampaign(std::int64_t campaign_id, const std::vector<std::string>& statuses,
                             std::int64_t now_ms) override;
  CampaignStats Stats(std::int64_t campaign_id) override;

 private:
  PgPool& pool_;
  const bool relay_outbox_;
};

}  // namespace herald::store::postgres
