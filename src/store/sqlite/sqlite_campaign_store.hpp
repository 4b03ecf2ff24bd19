// The campaign side of the API service on SQLite: contacts, templates,
// campaigns and which message a campaign sent to which contact. Its own tables
// and connections on the data dir's herald.db; the messages themselves live in
// SqliteApiStore, whose message_recipients table CampaignStats reads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/campaign_records.hpp"
#include "store/sqlite/database.hpp"

namespace herald::store::sqlite {

class SqliteCampaignStore {
 public:
  // Opens (creating if needed) the file and the tables. Throws std::runtime_error
  // naming the file when it cannot.
  explicit SqliteCampaignStore(const std::string& path);
  SqliteCampaignStore(const SqliteCampaignStore&) = delete;
  SqliteCampaignStore& operator=(const SqliteCampaignStore&) = delete;

  // --- contacts ---
  // Stores all in one transaction; returns them with ids and times.
  std::vector<ContactRecord> CreateContacts(std::vector<ContactRecord> contacts, std::int64_t now_ms);
  std::optional<ContactRecord> GetContact(std::int64_t id);
  Page<ContactRecord> ListContacts(const PageQuery& query);
  // Replaces every field but id, owner and created_at; false when it does not exist.
  bool UpdateContact(const ContactRecord& contact, std::int64_t now_ms);
  bool DeleteContact(std::int64_t id);
  // The owner's contacts among `ids`, by id ascending.
  std::vector<ContactRecord> ContactsOf(std::int64_t owner_id, const std::vector<std::int64_t>& ids);
  // Up to `limit` of the owner's contacts with ids above `after_id`, ascending:
  // a whole list is read a page at a time.
  std::vector<ContactRecord> ContactsAfter(std::int64_t owner_id, std::int64_t after_id, int limit);

  // --- templates ---
  TemplateRecord CreateTemplate(TemplateRecord record, std::int64_t now_ms);
  std::optional<TemplateRecord> GetTemplate(std::int64_t id);
  Page<TemplateRecord> ListTemplates(const PageQuery& query);
  bool UpdateTemplate(const TemplateRecord& record, std::int64_t now_ms);
  bool DeleteTemplate(std::int64_t id);

  // --- campaigns ---
  CampaignRecord CreateCampaign(CampaignRecord record, std::int64_t now_ms);
  std::optional<CampaignRecord> GetCampaign(std::int64_t id);
  Page<CampaignRecord> ListCampaigns(const PageQuery& query, const CampaignFilter& filter);
  // Moves the campaign to `status` only when it is in one of `from`; true when it moved.
  bool SetCampaignStatus(std::int64_t id, const std::vector<std::string>& from, const std::string& status,
                         std::int64_t now_ms);
  // Brings stored states up to date with the messages: a scheduled campaign
  // with messages whose time has come is "sending"; a sending one with no
  // message left pending is "sent" (or "failed" when none was sent). Returns how
  // many campaigns changed. Reads SqliteApiStore's message_recipients.
  std::int64_t Settle(std::int64_t now_ms);
  // Remembers the messages a send stored; links that exist already are kept.
  void LinkMessages(std::int64_t campaign_id, const std::vector<CampaignMessageLink>& links);
  // Puts the campaign's recipients in `statuses` (failed, dead, unknown) back in
  // their lanes, due now, with a fresh count of attempts, and the campaign back
  // to sending when any was. Returns how many (writes SqliteApiStore's table).
  std::int64_t RetryCampaign(std::int64_t campaign_id, const std::vector<std::string>& statuses, std::int64_t now_ms);
  // Counts the campaign's messages by delivery state (reads SqliteApiStore's tables).
  CampaignStats Stats(std::int64_t campaign_id);

 private:
  std::string path_;
  std::mutex writer_mutex_;
  Database writer_;  // synchronous=FULL: a 201 means on disk
  std::mutex reader_mutex_;
  Database reader_;
};

}  // namespace herald::store::sqlite
