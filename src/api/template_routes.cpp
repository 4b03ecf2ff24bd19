#include "api/template_routes.hpp"

#include "api/campaign_json.hpp"
#include "api/pagination.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 1 << 20;
constexpr const char* kBase = "/api/v1/templates";
constexpr const char* kOne = "/api/v1/templates/{id}";
constexpr const char* kOnePattern = "/api/v1/templates/:id(\\d+)";

ApiError NotFound(std::int64_t id) {
  return ApiError::NotFound("TEMPLATE_NOT_FOUND", "template " + std::to_string(id) + " does not exist");
}

}  // namespace

class TemplateRoutes::Impl {
 public:
  Impl(ApiContext& context, store::sqlite::SqliteCampaignStore& store) : context_(context), store_(store) {}

  void Add(Router& router) {
    context_.AddRoute(router, restinio::http_method_post(), kBase, kBase, true,
                      [this](auto& req, auto&, auto* c, auto& route) { Create(req, c, route); });
    context_.AddRoute(router, restinio::http_method_get(), kBase, kBase, true,
                      [this](auto& req, auto&, auto* c, auto& route) { List(req, c, route); });
    context_.AddRoute(router, restinio::http_method_get(), kOnePattern, kOne, true,
                      [this](auto& req, auto& params, auto* c, auto& route) {
                        const auto id = restinio::cast_to<std::int64_t>(params["id"]);
                        context_.Offload(req, route, c, [this, req, route, id](const Caller* caller) {
                          const auto found = store_.GetTemplate(id);
                          if (!found || !caller->MaySee(found->owner_id))
                            return context_.RespondError(req, route, NotFound(id), caller);
                          context_.RespondJson(req, route, 200, TemplateToJson(*found), caller);
                        });
                      });
    auto update = [this](bool partial) {
      return [this, partial](auto& req, auto& params, auto* c, auto& route) {
        Update(req, c, route, restinio::cast_to<std::int64_t>(params["id"]), partial);
      };
    };
    context_.AddRoute(router, restinio::http_method_patch(), kOnePattern, kOne, true, update(true));
    context_.AddRoute(router, restinio::http_method_put(), kOnePattern, kOne, true, update(false));
    context_.AddRoute(router, restinio::http_method_delete(), kOnePattern, kOne, true,
                      [this](auto& req, auto& params, auto* c, auto& route) {
                        const auto id = restinio::cast_to<std::int64_t>(params["id"]);
                        context_.Offload(req, route, c, [this, req, route, id](const Caller* caller) {
                          const auto found = store_.GetTemplate(id);
                          if (!found || !caller->MaySee(found->owner_id) || !store_.DeleteTemplate(id)) {
                            return context_.RespondError(req, route, NotFound(id), caller);
                          }
                          context_.Respond(req, route, 204, "", caller);
                        });
                      });
  }

 private:
  void Create(const Request& req, const Caller* caller, const std::string& route) {
    auto body = context_.ParseBody(req, route, caller, kMaxBodyBytes);
    if (!body) return;
    auto parsed = ParseTemplateRequest(*body, caller->key.id);
    if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller,
                     [this, req, route, record = std::move(std::get<store::TemplateRecord>(parsed))](const Caller* c) {
                       context_.RespondJson(req, route, 201,
                                            TemplateToJson(store_.CreateTemplate(record, context_.NowMs())), c);
                     });
  }

  void Update(const Request& req, const Caller* caller, const std::string& route, std::int64_t id, bool partial) {
    auto body = context_.ParseBody(req, route, caller, kMaxBodyBytes);
    if (!body) return;
    context_.Offload(req, route, caller, [this, req, route, id, partial, body = std::move(*body)](const Caller* c) {
      const auto existing = store_.GetTemplate(id);
      if (!existing || !c->MaySee(existing->owner_id)) return context_.RespondError(req, route, NotFound(id), c);
      auto parsed = ParseTemplateRequest(body, existing->owner_id, partial ? &*existing : nullptr);
      if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, c);
      auto& record = std::get<store::TemplateRecord>(parsed);
      record.id = id;
      record.owner_id = existing->owner_id;
      if (!store_.UpdateTemplate(record, context_.NowMs())) return context_.RespondError(req, route, NotFound(id), c);
      context_.RespondJson(req, route, 200, TemplateToJson(*store_.GetTemplate(id)), c);
    });
  }

  void List(const Request& req, const Caller* caller, const std::string& route) {
    auto query = ParsePageQuery(restinio::parse_query(req->header().query()), *caller);
    if (auto* error = std::get_if<ApiError>(&query)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller, [this, req, route, q = std::get<store::PageQuery>(query)](const Caller* c) {
      const auto page = store_.ListTemplates(q);
      json data = json::array();
      for (const auto& record : page.rows) data.push_back(TemplateToJson(record));
      context_.RespondJson(
          req, route, 200,
          json{{"data", std::move(data)}, {"pagination", PaginationJson(q, page.total_count, page.as_of_id)}}, c);
    });
  }

  ApiContext& context_;
  store::sqlite::SqliteCampaignStore& store_;
};

TemplateRoutes::TemplateRoutes(ApiContext& context, store::sqlite::SqliteCampaignStore& store)
    : impl_(std::make_unique<Impl>(context, store)) {}

TemplateRoutes::~TemplateRoutes() = default;

void TemplateRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
