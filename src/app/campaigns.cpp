#include "app/campaigns.hpp"

#include <algorithm>
#include <future>

#include "domain/recipient.hpp"

namespace herald::app {
namespace {

constexpr int kCampaignPriority = 1;  // "normal", like an API message without a priority

std::string IdempotencyKey(std::int64_t campaign_id, std::int64_t contact_id) {
  return "campaign:" + std::to_string(campaign_id) + ":contact:" + std::to_string(contact_id);
}

}  // namespace

CampaignService::CampaignService(store::ContactStore& contacts, store::TemplateStore& templates,
                                 store::CampaignStore& campaigns, MessageIntake& intake, const Clock& clock)
    : contacts_(contacts), templates_(templates), campaigns_(campaigns), intake_(intake), clock_(clock) {}

Outcome<store::CampaignRecord> CampaignService::Create(const store::CampaignRecord& campaign, const MaySee& may_see) {
  if (campaign.template_id) {
    const auto linked = templates_.GetTemplate(*campaign.template_id);
    if (!linked || !may_see(linked->owner_id)) {
      return Failure::NotFound("TEMPLATE_NOT_FOUND", "template_id: template " + std::to_string(*campaign.template_id) +
                                                         " does not exist");
    }
    if (linked->channel && *linked->channel != campaign.channel) {
      return Failure::Invalid("template_id: template " + std::to_string(linked->id) + " is for " + *linked->channel +
                              ", the campaign for " + campaign.channel);
    }
  }
  return campaigns_.CreateCampaign(campaign, NowMs());
}

Outcome<CampaignContent> CampaignService::ContentOf(const store::CampaignRecord& campaign) {
  std::optional<store::TemplateRecord> linked;
  if (campaign.template_id) linked = templates_.GetTemplate(*campaign.template_id);
  auto content = CampaignContentOf(campaign, linked ? &*linked : nullptr);
  if (auto* failure = std::get_if<Failure>(&content); failure && failure->code == "TEMPLATE_NOT_FOUND") {
    return Failure::Conflict("CAMPAIGN_NOT_SENDABLE", failure->message + "; create a campaign with another template");
  }
  return content;
}

CampaignService::PageOfMessages CampaignService::RenderPage(const store::CampaignRecord& campaign,
                                                            const CampaignContent& prepared,
                                                            const std::vector<store::ContactRecord>& contacts,
                                                            std::int64_t now_ms, SendReport& report) {
  const auto channel = domain::ParseChannel(campaign.channel).value();
  auto skip = [&report](std::int64_t contact_id, std::string reason) {
    ++report.skipped;
    if (report.skipped_listed.size() < kMaxSkippedListed) report.skipped_listed.push_back({contact_id, std::move(reason)});
  };
  PageOfMessages page;
  page.messages.reserve(contacts.size());
  for (const auto& contact : contacts) {
    const auto address = AddressFor(contact, campaign.channel);
    if (!address) {
      skip(contact.id, "no address for " + campaign.channel);
      continue;
    }
    auto normalised = domain::NormalizeRecipient(channel, *address);
    if (!normalised) {
      skip(contact.id, normalised.error().message);
      continue;
    }
    store::NewMessage message;
    message.owner_id = campaign.owner_id;
    message.idempotency_key = IdempotencyKey(campaign.id, contact.id);
    auto rendering = RenderContent(prepared, ValuesOf(contact));
    if (auto* failure = std::get_if<Failure>(&rendering)) {
      skip(contact.id, failure->message);
      continue;
    }
    auto& rendered = std::get<RenderedContent>(rendering);
    message.subject = std::move(rendered.subject);
    message.content = std::move(rendered.content);
    if (channel == domain::Channel::kEmail) message.html = std::move(rendered.html);
    if (message.html.size() > domain::kMaxEmailBodyBytes) {
      skip(contact.id, "html: the rendered HTML is " + std::to_string(message.html.size()) + " bytes; the limit is " +
                           std::to_string(domain::kMaxEmailBodyBytes));
      continue;
    }
    if (auto valid = domain::ValidateContent(channel, message.subject, message.content); !valid) {
      skip(contact.id, valid.error().message);
      continue;
    }
    message.priority = kCampaignPriority;
    if (campaign.scheduled_at_ms && *campaign.scheduled_at_ms > now_ms) message.scheduled_at_ms = campaign.scheduled_at_ms;
    message.recipients.push_back({campaign.channel, std::move(*normalised)});
    page.messages.push_back(std::move(message));
    page.contact_of.push_back(contact.id);
  }
  return page;
}

// Stores one page through the group-commit intake and waits for it; its
// messages are then in their lanes, and delivery starts while the next page is
// rendered. Returns how many were new.
std::int64_t CampaignService::StorePage(std::int64_t campaign_id, PageOfMessages page) {
  std::promise<std::vector<store::AcceptedMessage>> stored_promise;
  auto stored_future = stored_promise.get_future();
  intake_.Submit(std::move(page.messages),
                 [&stored_promise](std::vector<store::AcceptedMessage> stored, std::exception_ptr failure) {
                   if (failure) {
                     stored_promise.set_exception(failure);
                   } else {
                     stored_promise.set_value(std::move(stored));
                   }
                 });
  const auto stored = stored_future.get();
  std::vector<store::CampaignMessageLink> links;
  links.reserve(stored.size());
  std::int64_t created = 0;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    links.push_back({page.contact_of[i], stored[i].message.id});
    if (stored[i].created) ++created;
  }
  campaigns_.LinkMessages(campaign_id, links);
  return created;
}

Outcome<SendReport> CampaignService::Send(const store::CampaignRecord& campaign,
                                          const std::optional<std::vector<std::int64_t>>& contact_ids) {
  auto content = ContentOf(campaign);
  if (auto* failure = std::get_if<Failure>(&content)) return *failure;
  const auto& prepared = std::get<CampaignContent>(content);
  // The campaign's owner's contacts: an admin sending a user's campaign reaches that user's list.
  auto page_of_ids = [&](std::size_t page) {
    const auto begin = std::min(contact_ids->size(), page * kContactsPerPage);
    const auto end = std::min(contact_ids->size(), begin + kContactsPerPage);
    return std::vector<std::int64_t>(contact_ids->begin() + static_cast<long>(begin),
                                     contact_ids->begin() + static_cast<long>(end));
  };
  if (contact_ids) {
    std::string missing;
    for (std::size_t page = 0; page * kContactsPerPage < contact_ids->size(); ++page) {
      const auto wanted = page_of_ids(page);
      const auto found = contacts_.ContactsOf(campaign.owner_id, wanted);
      for (const auto contact_id : wanted) {
        if (std::none_of(found.begin(), found.end(), [&](const auto& c) { return c.id == contact_id; })) {
          missing += (missing.empty() ? "" : ", ") + std::to_string(contact_id);
        }
      }
    }
    if (!missing.empty()) return Failure::NotFound("CONTACT_NOT_FOUND", "customer_ids: no contacts " + missing);
  }
  const auto now = NowMs();
  SendReport report;
  std::int64_t contacts_seen = 0;
  std::int64_t stored = 0;
  const bool later = campaign.scheduled_at_ms && *campaign.scheduled_at_ms > now;
  bool marked = false;
  std::int64_t after = 0;
  for (std::size_t page = 0;; ++page) {
    std::vector<store::ContactRecord> contacts;
    if (contact_ids) {
      if (page * kContactsPerPage >= contact_ids->size()) break;
      contacts = contacts_.ContactsOf(campaign.owner_id, page_of_ids(page));
    } else {
      contacts = contacts_.ContactsAfter(campaign.owner_id, after, static_cast<int>(kContactsPerPage));
      if (contacts.empty()) break;
      after = contacts.back().id;
    }
    contacts_seen += static_cast<std::int64_t>(contacts.size());
    auto messages = RenderPage(campaign, prepared, contacts, now, report);
    if (messages.messages.empty()) continue;
    stored += static_cast<std::int64_t>(messages.messages.size());
    report.created += StorePage(campaign.id, std::move(messages));
    if (report.created > 0 && !marked) {
      // The first new messages are in: the campaign is sending (or scheduled) from now on.
      campaigns_.SetCampaignStatus(campaign.id, {"draft", "scheduled", "sent", "failed"},
                                   later ? "scheduled" : "sending", NowMs());
      marked = true;
    }
  }
  if (contacts_seen == 0) return Failure::Invalid("customer_ids: the campaign has no contacts to send to");
  report.already_queued = stored - report.created;
  report.status = campaigns_.GetCampaign(campaign.id)->status;
  return report;
}

Outcome<CampaignPreview> CampaignService::Preview(const store::CampaignRecord& campaign, std::int64_t contact_id,
                                                  const std::optional<std::string>& override_template,
                                                  const MaySee& may_see) {
  const auto contact = contacts_.GetContact(contact_id);
  if (!contact || !may_see(contact->owner_id)) {
    return Failure::NotFound("CONTACT_NOT_FOUND",
                             "customer_id: contact " + std::to_string(contact_id) + " does not exist");
  }
  auto content = override_template ? PrepareContent(*override_template, false, campaign.subject, "override_template")
                                   : ContentOf(campaign);
  if (auto* failure = std::get_if<Failure>(&content)) return *failure;
  const auto& prepared = std::get<CampaignContent>(content);
  return CampaignPreview{*contact, RenderForContact(prepared.body, *contact, prepared.escaping),
                         RenderForContact(prepared.subject, *contact, templating::Escaping::kNone), prepared.source};
}

}  // namespace herald::app
