#include "api/campaign_routes.hpp"

#include <algorithm>
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

ApiError CampaignNotFound(std::string_view id) {
  return ApiError::NotFound("CAMPAIGN_NOT_FOUND", "campaign " + std::string(id) + " does not exist");
}
ApiError CampaignNotFound(std::int64_t id) { return CampaignNotFound(std::to_string(id)); }

// customer_ids of a send: absent or null means every contact of the owner.
std::variant<std::optional<std::vector<std::int64_t>>, ApiError> ParseCustomerIds(const json& body) {
  if (!body.is_object()) return ApiError::Invalid("body: must be a JSON object");
  const auto it = body.find("customer_ids");
  if (it == body.end() || it->is_null()) return std::optional<std::vector<std::int64_t>>{};
  if (!it->is_array() || it->empty() || it->size() > kMaxCustomerIds) {
    return ApiError::Invalid("customer_ids: must be a non-empty array of at most " +
                                   std::to_string(kMaxCustomerIds) + " contact ids");
  }
  std::vector<std::int64_t> ids;
  std::set<std::int64_t> seen;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& id = (*it)[i];
    if (!id.is_number_integer() || id.get<std::int64_t>() < 1) {
      return ApiError::Invalid("customer_ids[" + std::to_string(i) + "]: must be a positive whole number");
    }
    if (seen.insert(id.get<std::int64_t>()).second) ids.push_back(id.get<std::int64_t>());
  }
  return std::optional<std::vector<std::int64_t>>(std::move(ids));
}

}  // namespace

class CampaignRoutes::Impl {
 public:
  Impl(ApiContext& context, store::CampaignStore& campaigns, store::CampaignStore& reads,
       app::CampaignService& service)
      : context_(context), campaigns_(campaigns), reads_(reads), service_(service) {}

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
                          const auto id = IdParam(params);
                          if (!id) return context_.RespondError(req, route, CampaignNotFound(params["id"]), c);
                          context_.Offload(req, route, c, [this, req, route, id](const Caller* caller) {
                            Get(req, caller, route, *id);
                          });
                        });
      context_.AddRoute(router, restinio::http_method_post(), one_pattern + "/send", one + "/send", true,
                        [this](auto& req, auto& params, auto* c, auto& route) {
                          const auto id = IdParam(params);
                          if (!id) return context_.RespondError(req, route, CampaignNotFound(params["id"]), c);
                          Send(req, c, route, *id);
                        });
      context_.AddRoute(router, restinio::http_method_post(), one_pattern + "/retry", one + "/retry", true,
                        [this](auto& req, auto& params, auto* c, auto& route) {
                          const auto id = IdParam(params);
                          if (!id) return context_.RespondError(req, route, CampaignNotFound(params["id"]), c);
                          Retry(req, c, route, *id);
                        });
      context_.AddRoute(router, restinio::http_method_post(), one_pattern + "/personalized-preview",
                        one + "/personalized-preview", true, [this](auto& req, auto& params, auto* c, auto& route) {
                          const auto id = IdParam(params);
                          if (!id) return context_.RespondError(req, route, CampaignNotFound(params["id"]), c);
                          Preview(req, c, route, *id);
                        });
    }
  }

 private:
  // The campaign when the caller may see it, read from `from`.
  static std::optional<store::CampaignRecord> Visible(store::CampaignStore& from, std::int64_t id,
                                                      const Caller& caller) {
    auto campaign = from.GetCampaign(id);
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
          auto created = service_.Create(campaign, [c](std::int64_t owner) { return c->MaySee(owner); });
          if (auto* failure = std::get_if<app::Failure>(&created)) {
            return context_.RespondError(req, route, ApiError::From(*failure), c);
          }
          auto out = CampaignToJson(std::get<store::CampaignRecord>(created));
          out["stats"] = StatsToJson({});
          context_.RespondJson(req, route, 201, out, c);
        });
  }

  void Get(const Request& req, const Caller* caller, const std::string& route, std::int64_t id) {
    const auto campaign = Visible(reads_, id, *caller);
    if (!campaign) return context_.RespondError(req, route, CampaignNotFound(id), caller);
    auto out = CampaignToJson(*campaign);
    out["stats"] = StatsToJson(reads_.Stats(id));
    context_.RespondJson(req, route, 200, out, caller);
  }

  void List(const Request& req, const Caller* caller, const std::string& route) {
    const auto parsed = ParseQuery(req);
    if (const auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    const auto& query = std::get<restinio::query_string_params_t>(parsed);
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
          const auto result = reads_.ListCampaigns(q, filter);
          json data = json::array();
          for (const auto& campaign : result.rows) data.push_back(CampaignToJson(campaign));
          context_.RespondJson(
              req, route, 200,
              json{{"data", std::move(data)}, {"pagination", PaginationJson(q, result.total_count, result.as_of_id)}},
              c);
        });
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

  void SendOffloaded(const Request& req, const Caller* caller, const std::string& route, std::int64_t id,
                     const std::optional<std::vector<std::int64_t>>& ids) {
    const auto campaign = Visible(campaigns_, id, *caller);
    if (!campaign) return context_.RespondError(req, route, CampaignNotFound(id), caller);
    app::Outcome<app::SendReport> sent;
    try {
      sent = service_.Send(*campaign, ids);
    } catch (const std::exception& e) {
      // What was stored stays stored; sending again adds only the rest.
      return context_.RespondInternal(req, route, e, caller);
    }
    if (auto* failure = std::get_if<app::Failure>(&sent)) {
      return context_.RespondError(req, route, ApiError::From(*failure), caller);
    }
    const auto& report = std::get<app::SendReport>(sent);
    json skipped = json::array();
    for (const auto& s : report.skipped_listed) skipped.push_back({{"customer_id", s.contact_id}, {"reason", s.reason}});
    context_.RespondJson(req, route, 202,
                         json{{"campaign_id", campaign->id},
                              {"messages_queued", report.created},
                              {"already_queued", report.already_queued},
                              {"skipped", report.skipped},
                              {"skipped_customers", std::move(skipped)},
                              {"status", report.status}},
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
                       if (!Visible(campaigns_, id, *c)) return context_.RespondError(req, route, CampaignNotFound(id), c);
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
      return context_.RespondError(req, route, ApiError::Invalid("body: must be a JSON object"), caller);
    const auto customer = body->find("customer_id");
    if (customer == body->end() || !customer->is_number_integer() || customer->get<std::int64_t>() < 1) {
      return context_.RespondError(req, route, ApiError::Invalid("customer_id: must be a positive whole number"),
                                   caller);
    }
    std::optional<std::string> override_template;
    if (const auto it = body->find("override_template"); it != body->end() && !it->is_null()) {
      if (!it->is_string() || it->get<std::string>().empty()) {
        return context_.RespondError(req, route,
                                     ApiError::Invalid("override_template: must be a non-empty string"), caller);
      }
      override_template = it->get<std::string>();
    }
    context_.Offload(
        req, route, caller,
        [this, req, route, id, customer_id = customer->get<std::int64_t>(), override_template](const Caller* c) {
          const auto campaign = Visible(campaigns_, id, *c);
          if (!campaign) return context_.RespondError(req, route, CampaignNotFound(id), c);
          auto preview = service_.Preview(*campaign, customer_id, override_template,
                                          [c](std::int64_t owner) { return c->MaySee(owner); });
          if (auto* failure = std::get_if<app::Failure>(&preview)) {
            return context_.RespondError(req, route, ApiError::From(*failure), c);
          }
          const auto& shown = std::get<app::CampaignPreview>(preview);
          json out{{"campaign_id", campaign->id},
                   {"channel", campaign->channel},
                   {"rendered_message", shown.message},
                   {"used_template", shown.used_template},
                   {"customer", ContactToJson(shown.contact)}};
          if (!shown.subject.empty()) out["rendered_subject"] = shown.subject;
          context_.RespondJson(req, route, 200, out, c);
        });
  }

  ApiContext& context_;
  store::CampaignStore& campaigns_;
  store::CampaignStore& reads_;  // GET lists and details
  app::CampaignService& service_;
};

CampaignRoutes::CampaignRoutes(ApiContext& context, store::CampaignStore& campaigns, store::CampaignStore& reads,
                               app::CampaignService& service)
    : impl_(std::make_unique<Impl>(context, campaigns, reads, service)) {}

CampaignRoutes::~CampaignRoutes() = default;

void CampaignRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
