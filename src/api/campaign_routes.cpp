#include "api/campaign_routes.hpp"

#include <algorithm>
#include <functional>
#include <future>
#include <set>

#include "api/campaign_json.hpp"
#include "api/contact_json.hpp"
#include "api/message_json.hpp"
#include "api/pagination.hpp"
#include "domain/recipient.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 1 << 20;
constexpr std::size_t kMaxCustomerIds = 100000;
constexpr std::size_t kMaxSkippedListed = 100;  // the answer names at most this many skipped contacts
constexpr int kCampaignPriority = 1;            // "normal", like an API message without a priority
// Contacts read, rendered and stored at a time by a send: bounds its memory, and
// lets delivery start after the first page.
constexpr std::size_t kContactsPerPage = 1000;

ApiError CampaignNotFound(std::int64_t id) {
  return ApiError::NotFound("CAMPAIGN_NOT_FOUND", "campaign " + std::to_string(id) + " does not exist");
}

std::string IdempotencyKey(std::int64_t campaign_id, std::int64_t contact_id) {
  return "campaign:" + std::to_string(campaign_id) + ":contact:" + std::to_string(contact_id);
}

// customer_ids of a send: absent or null means every contact of the owner.
std::variant<std::optional<std::vector<std::int64_t>>, ApiError> ParseCustomerIds(const json& body) {
  if (!body.is_object()) return ApiError::Unprocessable("body: must be a JSON object");
  const auto it = body.find("customer_ids");
  if (it == body.end() || it->is_null()) return std::optional<std::vector<std::int64_t>>{};
  if (!it->is_array() || it->empty() || it->size() > kMaxCustomerIds) {
    return ApiError::Unprocessable("customer_ids: must be a non-empty array of at most " +
                                   std::to_string(kMaxCustomerIds) + " contact ids");
  }
  std::vector<std::int64_t> ids;
  std::set<std::int64_t> seen;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& id = (*it)[i];
    if (!id.is_number_integer() || id.get<std::int64_t>() < 1) {
      return ApiError::Unprocessable("customer_ids[" + std::to_string(i) + "]: must be a positive whole number");
    }
    if (seen.insert(id.get<std::int64_t>()).second) ids.push_back(id.get<std::int64_t>());
  }
  return std::optional<std::vector<std::int64_t>>(std::move(ids));
}

}  // namespace

class CampaignRoutes::Impl {
 public:
  Impl(ApiContext& context, store::ContactStore& contacts, store::TemplateStore& templates,
       store::CampaignStore& campaigns, MessageIntake& intake)
      : context_(context), contacts_(contacts), templates_(templates), campaigns_(campaigns), intake_(intake) {}

  void Add(Router& router) {
    for (const std::string base : {"/api/v1/campaigns", "/campaigns"}) {
      const std::string one = base + "/{id}";
      const std::string one_pattern = base + "/:id(\\d+)";
      context_.AddRoute(router, restinio::http_method_post(), base, base, true,
                        [this](auto& req, auto&, auto* c, auto& route) { Create(req, c, route); });
      context_.AddRoute(router, restinio::http_method_get(), base, base, true,
                        [this](auto& req, auto&, auto* c, auto& route) { List(req, c, route); });
      context_.AddRoute(router, restinio::http_method_get(), one_pattern, one, true,
                        [this](auto& req, auto& params, auto* c, auto& route) {
                          const auto id = restinio::cast_to<std::int64_t>(params["id"]);
                          context_.Offload(req, route, c, [this, req, route, id](const Caller* caller) {
                            Get(req, caller, route, id);
                          });
                        });
      context_.AddRoute(router, restinio::http_method_post(), one_pattern + "/send", one + "/send", true,
                        [this](auto& req, auto& params, auto* c, auto& route) {
                          Send(req, c, route, restinio::cast_to<std::int64_t>(params["id"]));
                        });
      context_.AddRoute(router, restinio::http_method_post(), one_pattern + "/retry", one + "/retry", true,
                        [this](auto& req, auto& params, auto* c, auto& route) {
                          Retry(req, c, route, restinio::cast_to<std::int64_t>(params["id"]));
                        });
      context_.AddRoute(router, restinio::http_method_post(), one_pattern + "/personalized-preview",
                        one + "/personalized-preview", true, [this](auto& req, auto& params, auto* c, auto& route) {
                          Preview(req, c, route, restinio::cast_to<std::int64_t>(params["id"]));
                        });
    }
  }

 private:
  // The campaign when the caller may see it.
  std::optional<store::CampaignRecord> Visible(std::int64_t id, const Caller& caller) {
    auto campaign = campaigns_.GetCampaign(id);
    if (!campaign || !caller.MaySee(campaign->owner_id)) return std::nullopt;
    return campaign;
  }

  void Create(const Request& req, const Caller* caller, const std::string& route) {
    auto body = context_.ParseBody(req, route, caller, kMaxBodyBytes);
    if (!body) return;
    auto parsed = ParseCampaignRequest(*body, caller->key.id, context_.NowMs());
    if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(
        req, route, caller, [this, req, route, campaign = std::get<store::CampaignRecord>(parsed)](const Caller* c) {
          if (campaign.template_id) {
            const auto linked = templates_.GetTemplate(*campaign.template_id);
            if (!linked || !c->MaySee(linked->owner_id)) {
              return context_.RespondError(
                  req, route,
                  ApiError::NotFound(
                      "TEMPLATE_NOT_FOUND",
                      "template_id: template " + std::to_string(*campaign.template_id) + " does not exist"),
                  c);
            }
            if (linked->channel && *linked->channel != campaign.channel) {
              return context_.RespondError(
                  req, route,
                  ApiError::Unprocessable("template_id: template " + std::to_string(linked->id) + " is for " +
                                          *linked->channel + ", the campaign for " + campaign.channel),
                  c);
            }
          }
          auto stored = campaigns_.CreateCampaign(campaign, context_.NowMs());
          auto out = CampaignToJson(stored);
          out["stats"] = StatsToJson({});
          context_.RespondJson(req, route, 201, out, c);
        });
  }

  void Get(const Request& req, const Caller* caller, const std::string& route, std::int64_t id) {
    const auto campaign = Visible(id, *caller);
    if (!campaign) return context_.RespondError(req, route, CampaignNotFound(id), caller);
    auto out = CampaignToJson(*campaign);
    out["stats"] = StatsToJson(campaigns_.Stats(id));
    context_.RespondJson(req, route, 200, out, caller);
  }

  void List(const Request& req, const Caller* caller, const std::string& route) {
    const auto query = restinio::parse_query(req->header().query());
    auto page = ParsePageQuery(query, *caller);
    if (auto* error = std::get_if<ApiError>(&page)) return context_.RespondError(req, route, *error, caller);
    store::CampaignFilter filter;
    if (const auto channel = query.get_param("channel")) filter.channel = std::string(*channel);
    if (const auto status = query.get_param("status")) filter.status = std::string(*status);
    static const std::vector<std::string> kStatuses = {"draft", "scheduled", "sending", "sent", "failed"};
    if (!filter.status.empty() && std::find(kStatuses.begin(), kStatuses.end(), filter.status) == kStatuses.end()) {
      return context_.RespondError(
          req, route,
          ApiError::BadRequest("INVALID_QUERY", "status: must be one of draft, scheduled, sending, sent, failed"),
          caller);
    }
    if (!filter.channel.empty() && !domain::ParseChannel(filter.channel)) {
      return context_.RespondError(
          req, route, ApiError::BadRequest("INVALID_QUERY", "channel: must be one of sms, whatsapp, email, telegram"),
          caller);
    }
    if (!filter.channel.empty()) filter.channel = domain::ToString(*domain::ParseChannel(filter.channel));
    context_.Offload(
        req, route, caller, [this, req, route, q = std::get<store::PageQuery>(page), filter](const Caller* c) {
          const auto result = campaigns_.ListCampaigns(q, filter);
          json data = json::array();
          for (const auto& campaign : result.rows) data.push_back(CampaignToJson(campaign));
          context_.RespondJson(
              req, route, 200,
              json{{"data", std::move(data)}, {"pagination", PaginationJson(q, result.total_count, result.as_of_id)}},
              c);
        });
  }

  // The content a campaign sends, or the error that stops it (its template was deleted).
  std::variant<CampaignContent, ApiError> ContentOf(const store::CampaignRecord& campaign) {
    std::optional<store::TemplateRecord> linked;
    if (campaign.template_id) linked = templates_.GetTemplate(*campaign.template_id);
    auto content = CampaignContentOf(campaign, linked ? &*linked : nullptr);
    if (auto* error = std::get_if<ApiError>(&content); error && error->code == "TEMPLATE_NOT_FOUND") {
      return ApiError{409, "CAMPAIGN_NOT_SENDABLE", error->message + "; create a campaign with another template"};
    }
    return content;
  }

  void Send(const Request& req, const Caller* caller, const std::string& route, std::int64_t id) {
    json body = json::object();
    if (!req->body().empty()) {
      auto parsed = context_.ParseBody(req, route, caller, kMaxBodyBytes);
      if (!parsed) return;
      body = std::move(*parsed);
    }
    auto ids = ParseCustomerIds(body);
    if (auto* error = std::get_if<ApiError>(&ids)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller, [this, req, route, id, ids = std::get<0>(ids)](const Caller* c) {
      SendOffloaded(req, c, route, id, ids);
    });
  }

  // The messages of one page of contacts; the contacts it cannot send to are skipped with their reason.
  struct PageOfMessages {
    std::vector<store::NewMessage> messages;
    std::vector<std::int64_t> contact_of;  // contact id per message
  };

  PageOfMessages RenderPage(const store::CampaignRecord& campaign, const CampaignContent& prepared,
                            const std::vector<store::ContactRecord>& contacts, std::int64_t now,
                            const std::function<void(std::int64_t, const std::string&)>& skip) {
    const auto channel = domain::ParseChannel(campaign.channel).value();
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
      if (auto* error = std::get_if<ApiError>(&rendering)) {
        skip(contact.id, error->message);
        continue;
      }
      auto& rendered = std::get<RenderedContent>(rendering);
      message.subject = std::move(rendered.subject);
      message.content = std::move(rendered.content);
      if (channel == domain::Channel::kEmail) message.html = std::move(rendered.html);
      if (message.html.size() > domain::kMaxEmailBodyBytes) {
        skip(contact.id, "html: the rendered HTML is " + std::to_string(message.html.size()) +
                             " bytes; the limit is " + std::to_string(domain::kMaxEmailBodyBytes));
        continue;
      }
      if (auto valid = domain::ValidateContent(channel, message.subject, message.content); !valid) {
        skip(contact.id, valid.error().message);
        continue;
      }
      message.priority = kCampaignPriority;
      if (campaign.scheduled_at_ms && *campaign.scheduled_at_ms > now) message.scheduled_at_ms = campaign.scheduled_at_ms;
      message.recipients.push_back({campaign.channel, std::move(*normalised)});
      page.messages.push_back(std::move(message));
      page.contact_of.push_back(contact.id);
    }
    return page;
  }

  // Stores one page through the group-commit intake and waits for it; its
  // messages are then in their lanes, and delivery starts while the next page
  // is rendered. Returns how many were new.
  std::int64_t StorePage(std::int64_t campaign_id, PageOfMessages page) {
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

  // Contacts are read, rendered and stored a page at a time, so a list of any
  // size costs the memory of one page, and the first messages go out while
  // the rest are still being prepared. Sending again stores nothing twice
  // (one idempotency key per campaign and contact).
  void SendOffloaded(const Request& req, const Caller* caller, const std::string& route, std::int64_t id,
                     const std::optional<std::vector<std::int64_t>>& ids) {
    const auto campaign = Visible(id, *caller);
    if (!campaign) return context_.RespondError(req, route, CampaignNotFound(id), caller);
    auto content = ContentOf(*campaign);
    if (auto* error = std::get_if<ApiError>(&content)) return context_.RespondError(req, route, *error, caller);
    const auto& prepared = std::get<CampaignContent>(content);
    // The campaign's owner's contacts: an admin sending a user's campaign reaches that user's list.
    auto page_of_ids = [&](std::size_t page) {
      const auto begin = std::min(ids->size(), page * kContactsPerPage);
      const auto end = std::min(ids->size(), begin + kContactsPerPage);
      return std::vector<std::int64_t>(ids->begin() + static_cast<long>(begin), ids->begin() + static_cast<long>(end));
    };
    if (ids) {
      std::string missing;
      for (std::size_t page = 0; page * kContactsPerPage < ids->size(); ++page) {
        const auto wanted = page_of_ids(page);
        const auto found = contacts_.ContactsOf(campaign->owner_id, wanted);
        for (const auto contact_id : wanted) {
          if (std::none_of(found.begin(), found.end(), [&](const auto& c) { return c.id == contact_id; })) {
            missing += (missing.empty() ? "" : ", ") + std::to_string(contact_id);
          }
        }
      }
      if (!missing.empty()) {
        return context_.RespondError(
            req, route, ApiError::NotFound("CONTACT_NOT_FOUND", "customer_ids: no contacts " + missing), caller);
      }
    }
    const auto now = context_.NowMs();
    json skipped = json::array();
    std::int64_t skipped_count = 0;
    auto skip = [&](std::int64_t contact_id, const std::string& reason) {
      ++skipped_count;
      if (skipped.size() < kMaxSkippedListed) skipped.push_back({{"customer_id", contact_id}, {"reason", reason}});
    };
    std::int64_t contacts_seen = 0;
    std::int64_t stored = 0;
    std::int64_t created = 0;
    const bool later = campaign->scheduled_at_ms && *campaign->scheduled_at_ms > now;
    bool marked = false;
    try {
      std::int64_t after = 0;
      for (std::size_t page = 0;; ++page) {
        std::vector<store::ContactRecord> contacts;
        if (ids) {
          if (page * kContactsPerPage >= ids->size()) break;
          contacts = contacts_.ContactsOf(campaign->owner_id, page_of_ids(page));
        } else {
          contacts = contacts_.ContactsAfter(campaign->owner_id, after, static_cast<int>(kContactsPerPage));
          if (contacts.empty()) break;
          after = contacts.back().id;
        }
        contacts_seen += static_cast<std::int64_t>(contacts.size());
        auto messages = RenderPage(*campaign, prepared, contacts, now, skip);
        if (messages.messages.empty()) continue;
        stored += static_cast<std::int64_t>(messages.messages.size());
        created += StorePage(campaign->id, std::move(messages));
        if (created > 0 && !marked) {
          // The first new messages are in: the campaign is sending (or scheduled) from now on.
          campaigns_.SetCampaignStatus(campaign->id, {"draft", "scheduled", "sent", "failed"},
                                   later ? "scheduled" : "sending", context_.NowMs());
          marked = true;
        }
      }
    } catch (const std::exception& e) {
      // What was stored stays stored; sending again adds only the rest.
      return context_.RespondInternal(req, route, e, caller);
    }
    if (contacts_seen == 0) {
      return context_.RespondError(
          req, route, ApiError::Unprocessable("customer_ids: the campaign has no contacts to send to"), caller);
    }
    const auto status = campaigns_.GetCampaign(campaign->id)->status;
    context_.RespondJson(req, route, 202,
                         json{{"campaign_id", campaign->id},
                              {"messages_queued", created},
                              {"already_queued", stored - created},
                              {"skipped", skipped_count},
                              {"skipped_customers", std::move(skipped)},
                              {"status", status}},
                         caller);
  }

  // The campaign's failed, dead (and, when named, unknown) recipients go back to their lanes.
  void Retry(const Request& req, const Caller* caller, const std::string& route, std::int64_t id) {
    json body;
    if (!req->body().empty()) {
      auto parsed = context_.ParseBody(req, route, caller, kMaxBodyBytes);
      if (!parsed) return;
      body = std::move(*parsed);
    }
    auto statuses = ParseRetryStatuses(body);
    if (auto* error = std::get_if<ApiError>(&statuses)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller,
                     [this, req, route, id, statuses = std::get<std::vector<std::string>>(statuses)](const Caller* c) {
                       if (!Visible(id, *c)) return context_.RespondError(req, route, CampaignNotFound(id), c);
                       const auto requeued = campaigns_.RetryCampaign(id, statuses, context_.NowMs());
                       if (requeued == 0) {
                         return context_.RespondError(
                             req, route,
                             NothingToRetry("campaign " + std::to_string(id) + " has no message", statuses), c);
                       }
                       auto out = CampaignToJson(*campaigns_.GetCampaign(id));
                       out["requeued_messages"] = requeued;
                       out["stats"] = StatsToJson(campaigns_.Stats(id));
                       context_.RespondJson(req, route, 202, out, c);
                     });
  }

  void Preview(const Request& req, const Caller* caller, const std::string& route, std::int64_t id) {
    auto body = context_.ParseBody(req, route, caller, kMaxBodyBytes);
    if (!body) return;
    if (!body->is_object())
      return context_.RespondError(req, route, ApiError::Unprocessable("body: must be a JSON object"), caller);
    const auto customer = body->find("customer_id");
    if (customer == body->end() || !customer->is_number_integer() || customer->get<std::int64_t>() < 1) {
      return context_.RespondError(req, route, ApiError::Unprocessable("customer_id: must be a positive whole number"),
                                   caller);
    }
    std::optional<std::string> override_template;
    if (const auto it = body->find("override_template"); it != body->end() && !it->is_null()) {
      if (!it->is_string() || it->get<std::string>().empty()) {
        return context_.RespondError(req, route,
                                     ApiError::Unprocessable("override_template: must be a non-empty string"), caller);
      }
      override_template = it->get<std::string>();
    }
    context_.Offload(
        req, route, caller,
        [this, req, route, id, customer_id = customer->get<std::int64_t>(), override_template](const Caller* c) {
          const auto campaign = Visible(id, *c);
          if (!campaign) return context_.RespondError(req, route, CampaignNotFound(id), c);
          const auto contact = contacts_.GetContact(customer_id);
          if (!contact || !c->MaySee(contact->owner_id)) {
            return context_.RespondError(
                req, route,
                ApiError::NotFound("CONTACT_NOT_FOUND",
                                   "customer_id: contact " + std::to_string(customer_id) + " does not exist"),
                c);
          }
          auto content = override_template
                             ? PrepareContent(*override_template, false, campaign->subject, "override_template")
                             : ContentOf(*campaign);
          if (auto* error = std::get_if<ApiError>(&content)) return context_.RespondError(req, route, *error, c);
          const auto& prepared = std::get<CampaignContent>(content);
          json out{{"campaign_id", campaign->id},
                   {"channel", campaign->channel},
                   {"rendered_message", RenderForContact(prepared.body, *contact, prepared.escaping)},
                   {"used_template", prepared.source},
                   {"customer", ContactToJson(*contact)}};
          const auto subject = RenderForContact(prepared.subject, *contact, templating::Escaping::kNone);
          if (!subject.empty()) out["rendered_subject"] = subject;
          context_.RespondJson(req, route, 200, out, c);
        });
  }

  ApiContext& context_;
  store::ContactStore& contacts_;
  store::TemplateStore& templates_;
  store::CampaignStore& campaigns_;
  MessageIntake& intake_;
};

CampaignRoutes::CampaignRoutes(ApiContext& context, store::ContactStore& contacts, store::TemplateStore& templates,
                               store::CampaignStore& campaigns, MessageIntake& intake)
    : impl_(std::make_unique<Impl>(context, contacts, templates, campaigns, intake)) {}

CampaignRoutes::~CampaignRoutes() = default;

void CampaignRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
