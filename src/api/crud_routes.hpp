// The routes every owned resource shares (contacts, templates): POST and GET on
// `base`, GET, PUT, PATCH and DELETE on `base`/{id}. A user reaches only its own
// rows, anything else is the resource's 404; admins reach every row. Store work
// runs on the read pool.
//
// `Resource` says what differs, as members:
//   using Record = ...;                            // has id and owner_id
//   static constexpr std::size_t kMaxBodyBytes;
//   std::optional<Record> Get(std::int64_t id);   // before a write, and its answer
//   std::optional<Record> Read(std::int64_t id);  // GET: may be a read replica
//   std::variant<Record, ApiError> Parse(const nlohmann::json& body, std::int64_t owner_id,
//                                        const Record* existing);  // existing: PATCH
//   Record Create(Record record, std::int64_t now_ms);
//   bool Update(const Record& record, std::int64_t now_ms);
//   bool Delete(std::int64_t id);
//   store::Page<Record> List(const store::PageQuery& query);  // may be a read replica
//   nlohmann::json ToJson(const Record& record);
//   ApiError NotFound(std::string_view id);  // the id as the path wrote it
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <variant>

#include "api/api_context.hpp"
#include "api/pagination.hpp"

namespace herald::api {

template <typename Resource>
class CrudRoutes {
 public:
  using Record = typename Resource::Record;

  CrudRoutes(ApiContext& context, Resource& resource) : context_(context), resource_(resource) {}

  void Add(Router& router, const std::string& base) {
    const std::string one = base + "/{id}";
    const std::string one_pattern = base + "/:id(\\d+)";
    context_.AddRoute(router, restinio::http_method_post(), base, base, true,
                      [this](auto& req, auto&, auto* c, auto& route) { Create(req, c, route); });
    context_.AddRoute(router, restinio::http_method_get(), base, base, true,
                      [this](auto& req, auto&, auto* c, auto& route) { List(req, c, route); });
    context_.AddRoute(router, restinio::http_method_get(), one_pattern, one, true,
                      [this](auto& req, auto& params, auto* c, auto& route) {
                        WithOwnRecord(req, c, route, params, &Resource::Read,
                                      [this, req, route](const Record& found, const Caller* caller) {
                                        context_.RespondJson(req, route, 200, resource_.ToJson(found), caller);
                                      });
                      });
    auto update = [this](bool partial) {
      return [this, partial](auto& req, auto& params, auto* c, auto& route) {
        const auto id = IdParam(params);
        if (!id) return context_.RespondError(req, route, resource_.NotFound(params["id"]), c);
        Update(req, c, route, *id, partial);
      };
    };
    context_.AddRoute(router, restinio::http_method_patch(), one_pattern, one, true, update(true));
    context_.AddRoute(router, restinio::http_method_put(), one_pattern, one, true, update(false));
    context_.AddRoute(router, restinio::http_method_delete(), one_pattern, one, true,
                      [this](auto& req, auto& params, auto* c, auto& route) {
                        WithOwnRecord(
                            req, c, route, params, &Resource::Get,
                            [this, req, route](const Record& found, const Caller* caller) {
                              if (!resource_.Delete(found.id)) {
                                return context_.RespondError(req, route, resource_.NotFound(std::to_string(found.id)), caller);
                              }
                              context_.Respond(req, route, 204, "", caller);
                            });
                      });
  }

 private:
  // Reads the {id} row on the read pool with `read` (Resource::Get or Read)
  // and hands it on if the caller may see it.
  template <typename Then>
  void WithOwnRecord(const Request& req, const Caller* caller, const std::string& route, RouteParams& params,
                     std::optional<Record> (Resource::*read)(std::int64_t), Then then) {
    const auto id = IdParam(params);
    if (!id) return context_.RespondError(req, route, resource_.NotFound(params["id"]), caller);
    context_.Offload(req, route, caller, [this, req, route, id = *id, read, then = std::move(then)](const Caller* c) {
      const auto found = (resource_.*read)(id);
      if (!found || !c->MaySee(found->owner_id)) {
        return context_.RespondError(req, route, resource_.NotFound(std::to_string(id)), c);
      }
      then(*found, c);
    });
  }

  void Create(const Request& req, const Caller* caller, const std::string& route) {
    auto body = context_.ParseBody(req, route, caller, Resource::kMaxBodyBytes);
    if (!body) return;
    auto parsed = resource_.Parse(*body, caller->key.id, nullptr);
    if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(
        req, route, caller, [this, req, route, record = std::move(std::get<Record>(parsed))](const Caller* c) {
          context_.RespondJson(req, route, 201, resource_.ToJson(resource_.Create(record, context_.NowMs())), c);
        });
  }

  void Update(const Request& req, const Caller* caller, const std::string& route, std::int64_t id, bool partial) {
    auto body = context_.ParseBody(req, route, caller, Resource::kMaxBodyBytes);
    if (!body) return;
    context_.Offload(req, route, caller, [this, req, route, id, partial, body = std::move(*body)](const Caller* c) {
      const auto existing = resource_.Get(id);
      if (!existing || !c->MaySee(existing->owner_id)) {
        return context_.RespondError(req, route, resource_.NotFound(std::to_string(id)), c);
      }
      auto parsed = resource_.Parse(body, existing->owner_id, partial ? &*existing : nullptr);
      if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, c);
      auto& record = std::get<Record>(parsed);
      record.id = id;
      record.owner_id = existing->owner_id;
      if (!resource_.Update(record, context_.NowMs())) {
        return context_.RespondError(req, route, resource_.NotFound(std::to_string(id)), c);
      }
      context_.RespondJson(req, route, 200, resource_.ToJson(*resource_.Get(id)), c);
    });
  }

  void List(const Request& req, const Caller* caller, const std::string& route) {
    const auto parsed = ParseQuery(req);
    if (const auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    auto query = ParsePageQuery(std::get<restinio::query_string_params_t>(parsed), *caller);
    if (auto* error = std::get_if<ApiError>(&query)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller, [this, req, route, q = std::get<store::PageQuery>(query)](const Caller* c) {
      const auto page = resource_.List(q);
      nlohmann::json data = nlohmann::json::array();
      for (const auto& record : page.rows) data.push_back(resource_.ToJson(record));
      context_.RespondJson(
          req, route, 200,
          nlohmann::json{{"data", std::move(data)}, {"pagination", PaginationJson(q, page.total_count, page.as_of_id)}},
          c);
    });
  }

  ApiContext& context_;
  Resource& resource_;
};

}  // namespace herald::api
