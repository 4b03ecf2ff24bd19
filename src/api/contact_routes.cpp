#include "api/contact_routes.hpp"

#include "api/contact_json.hpp"
#include "api/pagination.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 64 << 10;
constexpr std::size_t kMaxCsvBytes = 16 << 20;

ApiError NotFound(std::int64_t id) {
  return ApiError::NotFound("CONTACT_NOT_FOUND", "contact " + std::to_string(id) + " does not exist");
}

}  // namespace

class ContactRoutes::Impl {
 public:
  Impl(ApiContext& context, store::sqlite::SqliteCampaignStore& store) : context_(context), store_(store) {}

  void Add(Router& router) {
    for (const std::string base : {"/api/v1/contacts", "/api/v1/customers"}) {
      const std::string one = base + "/{id}";
      const std::string one_pattern = base + "/:id(\\d+)";
      context_.AddRoute(router, restinio::http_method_post(), base + "/import", base + "/import", true,
                        [this](auto& req, auto&, auto* c, auto& route) { Import(req, c, route); });
      context_.AddRoute(router, restinio::http_method_post(), base, base, true,
                        [this](auto& req, auto&, auto* c, auto& route) { Create(req, c, route); });
      context_.AddRoute(router, restinio::http_method_get(), base, base, true,
                        [this](auto& req, auto&, auto* c, auto& route) { List(req, c, route); });
      context_.AddRoute(router, restinio::http_method_get(), one_pattern, one, true,
                        [this](auto& req, auto& params, auto* c, auto& route) {
                          const auto id = restinio::cast_to<std::int64_t>(params["id"]);
                          context_.Offload(req, route, c, [this, req, route, id](const Caller* caller) {
                            const auto contact = store_.GetContact(id);
                            if (!contact || !caller->MaySee(contact->owner_id))
                              return context_.RespondError(req, route, NotFound(id), caller);
                            context_.RespondJson(req, route, 200, ContactToJson(*contact), caller);
                          });
                        });
      auto update = [this](bool partial) {
        return [this, partial](auto& req, auto& params, auto* c, auto& route) {
          Update(req, c, route, restinio::cast_to<std::int64_t>(params["id"]), partial);
        };
      };
      context_.AddRoute(router, restinio::http_method_patch(), one_pattern, one, true, update(true));
      context_.AddRoute(router, restinio::http_method_put(), one_pattern, one, true, update(false));
      context_.AddRoute(router, restinio::http_method_delete(), one_pattern, one, true,
                        [this](auto& req, auto& params, auto* c, auto& route) {
                          const auto id = restinio::cast_to<std::int64_t>(params["id"]);
                          context_.Offload(req, route, c, [this, req, route, id](const Caller* caller) {
                            const auto contact = store_.GetContact(id);
                            if (!contact || !caller->MaySee(contact->owner_id) || !store_.DeleteContact(id)) {
                              return context_.RespondError(req, route, NotFound(id), caller);
                            }
                            context_.Respond(req, route, 204, "", caller);
                          });
                        });
    }
  }

 private:
  void Create(const Request& req, const Caller* caller, const std::string& route) {
    auto body = context_.ParseBody(req, route, caller, kMaxBodyBytes);
    if (!body) return;
    auto parsed = ParseContact(*body, caller->key.id);
    if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller,
                     [this, req, route, contact = std::move(std::get<store::ContactRecord>(parsed))](const Caller* c) {
                       auto stored = store_.CreateContacts({contact}, context_.NowMs());
                       context_.RespondJson(req, route, 201, ContactToJson(stored.at(0)), c);
                     });
  }

  void Update(const Request& req, const Caller* caller, const std::string& route, std::int64_t id, bool partial) {
    auto body = context_.ParseBody(req, route, caller, kMaxBodyBytes);
    if (!body) return;
    context_.Offload(req, route, caller, [this, req, route, id, partial, body = std::move(*body)](const Caller* c) {
      const auto existing = store_.GetContact(id);
      if (!existing || !c->MaySee(existing->owner_id)) return context_.RespondError(req, route, NotFound(id), c);
      auto parsed = ParseContact(body, existing->owner_id, partial ? &*existing : nullptr);
      if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, c);
      auto& contact = std::get<store::ContactRecord>(parsed);
      contact.id = id;
      contact.owner_id = existing->owner_id;
      if (!store_.UpdateContact(contact, context_.NowMs())) return context_.RespondError(req, route, NotFound(id), c);
      context_.RespondJson(req, route, 200, ContactToJson(*store_.GetContact(id)), c);
    });
  }

  void List(const Request& req, const Caller* caller, const std::string& route) {
    auto query = ParsePageQuery(restinio::parse_query(req->header().query()), *caller);
    if (auto* error = std::get_if<ApiError>(&query)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller, [this, req, route, q = std::get<store::PageQuery>(query)](const Caller* c) {
      const auto page = store_.ListContacts(q);
      json data = json::array();
      for (const auto& contact : page.rows) data.push_back(ContactToJson(contact));
      context_.RespondJson(
          req, route, 200,
          json{{"data", std::move(data)}, {"pagination", PaginationJson(q, page.total_count, page.as_of_id)}}, c);
    });
  }

  // Valid rows are stored (in one transaction) even when others are rejected;
  // 201 when at least one was stored, else 422 with the same body.
  void Import(const Request& req, const Caller* caller, const std::string& route) {
    if (req->body().size() > kMaxCsvBytes) {
      return context_.RespondError(
          req, route, {413, "PAYLOAD_TOO_LARGE", "the CSV is larger than " + std::to_string(kMaxCsvBytes) + " bytes"},
          caller);
    }
    context_.Offload(req, route, caller, [this, req, route](const Caller* c) {
      auto parsed = ParseContactsCsv(req->body(), c->key.id);
      if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, c);
      auto& import = std::get<CsvImport>(parsed);
      json rejected = json::array();
      for (const auto& row : import.rejected) rejected.push_back({{"line", row.line}, {"error", row.message}});
      json ids = json::array();
      if (!import.contacts.empty()) {
        for (const auto& contact : store_.CreateContacts(std::move(import.contacts), context_.NowMs())) {
          ids.push_back(contact.id);
        }
      }
      const int status = ids.empty() ? 422 : 201;
      context_.RespondJson(req, route, status,
                           json{{"imported", ids.size()}, {"rejected", std::move(rejected)}, {"ids", std::move(ids)}},
                           c);
    });
  }

  ApiContext& context_;
  store::sqlite::SqliteCampaignStore& store_;
};

ContactRoutes::ContactRoutes(ApiContext& context, store::sqlite::SqliteCampaignStore& store)
    : impl_(std::make_unique<Impl>(context, store)) {}

ContactRoutes::~ContactRoutes() = default;

void ContactRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
