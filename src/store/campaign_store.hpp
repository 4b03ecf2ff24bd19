// The campaign side of the API (seeds 002 and 003): contacts, reusable
// templates and campaigns with the messages each one sent. Three interfaces,
// one per resource; a backend may implement them in one class.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/campaign_records.hpp"

namespace herald::store {

class ContactStore {
 public:
  virtual ~ContactStore() = default;

  // Stores all in one transaction; returns them with ids and times.
  virtual std::vector<ContactRecord> CreateContacts(std::vector<ContactRecord> contacts, std::int64_t now_ms) = 0;
  virtual std::optional<ContactRecord> GetContact(std::int64_t id) = 0;
  virtual Page<ContactRecord> ListContacts(const PageQuery& query) = 0;
  // Replaces every field but id, owner and created_at; false when it does not exist.
  virtual bool UpdateContact(const ContactRecord& contact, std::int64_t now_ms) = 0;
  virtual bool DeleteContact(std::int64_t id) = 0;
  // The owner's contacts among `ids`, by id ascending.
  virtual std::vector<ContactRecord> ContactsOf(std::int64_t owner_id, const std::vector<std::int64_t>& ids) = 0;
  // Up to `limit` of the owner's contacts with ids above `after_id`, ascending:
  // a whole list is read a page at a time.
  virtual std::vector<ContactRecord> ContactsAfter(std::int64_t owner_id, std::int64_t after_id, int limit) = 0;
};

class TemplateStore {
 public:
  virtual ~TemplateStore() = default;

  virtual TemplateRecord CreateTemplate(TemplateRecord record, std::int64_t now_ms) = 0;
  virtual std::optional<TemplateRecord> GetTemplate(std::int64_t id) = 0;
  virtual Page<TemplateRecord> ListTemplates(const PageQuery& query) = 0;
  virtual bool UpdateTemplate(const TemplateRecord& record, std::int64_t now_ms) = 0;
  virtual bool DeleteTemplate(std::int64_t id) = 0;
};

class CampaignStore {
 public:
  virtual ~CampaignStore() = default;

  virtual CampaignRecord CreateCampaign(CampaignRecord record, std::int64_t now_ms) = 0;
  virtual std::optional<CampaignRecord> GetCampaign(std::int64_t id) = 0;
  virtual Page<CampaignRecord> ListCampaigns(const PageQuery& query, const CampaignFilter& filter) = 0;
  // Moves the campaign to `status` only when it is in one of `from`; true when it moved.
  virtual bool SetCampaignStatus(std::int64_t id, const std::vector<std::string>& from, const std::string& status,
                                 std::int64_t now_ms) = 0;
  // Brings stored states up to date with the messages: a scheduled campaign
  // with messages whose time has come is "sending"; a sending one with no
  // message left pending is "sent" (or "failed" when none was sent). Returns how
  // many campaigns changed.
  virtual std::int64_t Settle(std::int64_t now_ms) = 0;
  // Remembers the messages a send stored; links that exist already are kept.
  virtual void LinkMessages(std::int64_t campaign_id, const std::vector<CampaignMessageLink>& links) = 0;
  // Puts the campaign's recipients in `statuses` (failed, dead, unknown) back in
  // their lanes, due now, with a fresh count of attempts, and the campaign back
  // to sending when any was. Returns how many.
  virtual std::int64_t RetryCampaign(std::int64_t campaign_id, const std::vector<std::string>& statuses,
                                     std::int64_t now_ms) = 0;
  // Counts the campaign's messages by delivery state.
  virtual CampaignStats Stats(std::int64_t campaign_id) = 0;
};

}  // namespace herald::store
