// The campaign use cases of seeds 002 and 003, whatever asks for them (the HTTP
// API today, CLI commands later): create a campaign, send it, preview it for
// one contact. Callers check who may see what; these check everything else.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/campaign_content.hpp"
#include "app/failure.hpp"
#include "app/message_intake.hpp"
#include "common/clock.hpp"
#include "store/campaign_store.hpp"

namespace herald::app {

struct SkippedContact {
  std::int64_t contact_id = 0;
  std::string reason;
};

struct SendReport {
  std::int64_t created = 0;         // messages this send queued
  std::int64_t already_queued = 0;  // stored by an earlier send of the same campaign to the same contact
  std::int64_t skipped = 0;         // contacts it cannot send to
  std::vector<SkippedContact> skipped_listed;  // the first kMaxSkippedListed of them, with the reason
  std::string status;                          // the campaign's status afterwards
};

struct CampaignPreview {
  store::ContactRecord contact;
  std::string message;
  std::string subject;  // empty when the campaign has none
  std::string used_template;
};

// Whether the caller may see rows of this owner.
using MaySee = std::function<bool(std::int64_t owner_id)>;

class CampaignService {
 public:
  static constexpr std::size_t kMaxSkippedListed = 100;
  // Contacts read, rendered and stored at a time by a send: bounds its memory,
  // and lets delivery start after the first page.
  static constexpr std::size_t kContactsPerPage = 1000;

  CampaignService(store::ContactStore& contacts, store::TemplateStore& templates, store::CampaignStore& campaigns,
                  MessageIntake& intake, const Clock& clock);

  // Stores a new campaign. A template it names must exist, be visible to the
  // caller and fit the campaign's channel.
  Outcome<store::CampaignRecord> Create(const store::CampaignRecord& campaign, const MaySee& may_see);

  // What the campaign sends, parsed; a conflict when its template was deleted.
  Outcome<CampaignContent> ContentOf(const store::CampaignRecord& campaign);

  // Queues one message per contact: the owner's whole list, or `contact_ids`
  // (all of which must be the owner's). Contacts are read, rendered and stored
  // a page at a time, so a list of any size costs the memory of one page and the
  // first messages go out while the rest are prepared. Sending again stores
  // nothing twice (one idempotency key per campaign and contact). A store
  // failure throws; what was stored by then stays stored.
  Outcome<SendReport> Send(const store::CampaignRecord& campaign,
                           const std::optional<std::vector<std::int64_t>>& contact_ids);

  // The campaign (or `override_template`) rendered for one of the caller's contacts.
  Outcome<CampaignPreview> Preview(const store::CampaignRecord& campaign, std::int64_t contact_id,
                                   const std::optional<std::string>& override_template, const MaySee& may_see);

 private:
  struct PageOfMessages {
    std::vector<store::NewMessage> messages;
    std::vector<std::int64_t> contact_of;  // contact id per message
  };
  PageOfMessages RenderPage(const store::CampaignRecord& campaign, const CampaignContent& prepared,
                            const std::vector<store::ContactRecord>& contacts, std::int64_t now_ms,
                            SendReport& report);
  std::int64_t StorePage(std::int64_t campaign_id, PageOfMessages page);
  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  store::ContactStore& contacts_;
  store::TemplateStore& templates_;
  store::CampaignStore& campaigns_;
  MessageIntake& intake_;
  const Clock& clock_;
};

}  // namespace herald::app
