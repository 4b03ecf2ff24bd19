#include "api/key_routes.hpp"

#include <algorithm>
#include <string>

#include "api/message_json.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 64 << 10;
constexpr std::size_t kMaxNameBytes = 200;

ApiError KeyNotFound(std::string_view id) {
  return ApiError::NotFound("KEY_NOT_FOUND", "no active key with id " + std::string(id));
}

json KeyToJson(const store::ApiKeyRecord& key) {
  json out{{"id", key.id},
           {"name", key.name},
           {"role", key.role},
           {"tier", key.tier},
           {"key_prefix", key.key_prefix},
           {"created_at", FormatTimestamp(key.created_at_ms)}};
  if (key.revoked_at_ms) out["revoked_at"] = FormatTimestamp(*key.revoked_at_ms);
  return out;
}

struct KeyRequest {
  std::string name;
  std::string role = "user";
  std::string tier = "free";
};

std::variant<KeyRequest, ApiError> ParseKeyRequest(const json& body) {
  if (!body.is_object()) return ApiError::Invalid("body: must be a JSON object {\"name\", \"role\", \"tier\"}");
  KeyRequest request;
  const auto name = body.find("name");
  if (name == body.end() || !name->is_string() || name->get<std::string>().empty() ||
      name->get<std::string>().size() > kMaxNameBytes) {
    return ApiError::Invalid("name: must be a string of 1 to " + std::to_string(kMaxNameBytes) + " bytes");
  }
  request.name = name->get<std::string>();
  // Names show up in `herald keys list` (tab-separated) and operators' terminals.
  if (std::any_of(request.name.begin(), request.name.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return ApiError::Invalid("name: must not contain control characters (tabs, line breaks, escapes)");
  }
  const auto one_of = [&](const char* field, std::initializer_list<const char*> allowed,
                          std::string& out) -> std::optional<ApiError> {
    const auto it = body.find(field);
    if (it == body.end() || it->is_null()) return std::nullopt;
    std::string choices;
    for (const char* value : allowed) {
      if (it->is_string() && it->get<std::string>() == value) {
        out = value;
        return std::nullopt;
      }
      choices += (choices.empty() ? "" : ", ") + std::string(value);
    }
    return ApiError::Invalid(std::string(field) + ": must be one of " + choices);
  };
  if (auto error = one_of("role", {"admin", "user"}, request.role)) return *error;
  if (auto error = one_of("tier", {"free", "basic", "premium"}, request.tier)) return *error;
  return request;
}

}  // namespace

class KeyRoutes::Impl {
 public:
  explicit Impl(ApiContext& context) : context_(context) {}

  // Users get 403 before anything is read or parsed.
  template <typename Handler>
  auto AdminOnly(Handler handler) {
    return [this, handler = std::move(handler)](auto& req, auto& params, const Caller* caller, auto& route) {
      if (!caller->IsAdmin()) {
        return context_.RespondError(req, route, {403, "FORBIDDEN", "only an admin key may manage API keys"}, caller);
      }
      handler(req, params, caller, route);
    };
  }

  void Add(Router& router) {
    context_.AddRoute(router, restinio::http_method_get(), "/api/v1/keys", "/api/v1/keys", true,
                      AdminOnly([this](auto& req, auto&, auto* c, auto& route) { List(req, c, route); }));
    context_.AddRoute(router, restinio::http_method_post(), "/api/v1/keys", "/api/v1/keys", true,
                      AdminOnly([this](auto& req, auto&, auto* c, auto& route) { Create(req, c, route); }));
    context_.AddRoute(router, restinio::http_method_delete(), "/api/v1/keys/:id(\\d+)", "/api/v1/keys/{id}", true,
                      AdminOnly([this](auto& req, auto& params, auto* c, auto& route) {
                        const auto id = IdParam(params);
                        if (!id) return context_.RespondError(req, route, KeyNotFound(params["id"]), c);
                        Revoke(req, c, route, *id);
                      }));
  }

 private:
  void List(const Request& req, const Caller* caller, const std::string& route) {
    context_.Offload(req, route, caller, [this, req, route](const Caller* c) {
      json data = json::array();
      for (const auto& key : context_.keys().ListKeys()) data.push_back(KeyToJson(key));
      context_.RespondJson(req, route, 200, json{{"data", std::move(data)}}, c);
    });
  }

  void Create(const Request& req, const Caller* caller, const std::string& route) {
    auto body = context_.ParseBody(req, route, caller, kMaxBodyBytes);
    if (!body) return;
    auto parsed = ParseKeyRequest(*body);
    if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller, [this, req, route, request = std::get<KeyRequest>(parsed)](const Caller* c) {
      auto issued = context_.keys().IssueKey(request.name, request.role, request.tier, context_.NowMs());
      auto out = KeyToJson(issued.record);
      out["key"] = issued.key;  // shown once; only its hash is stored
      // The only answer that ever holds the key: no cache may keep it.
      context_.Respond(req, route, 201, JsonText(out), c, {{"Cache-Control", "no-store"}});
    });
  }

  void Revoke(const Request& req, const Caller* caller, const std::string& route, std::int64_t id) {
    if (id == caller->key.id) {
      return context_.RespondError(req, route, {409, "KEY_IN_USE", "a key cannot revoke itself; use another admin key"},
                                   caller);
    }
    context_.Offload(req, route, caller, [this, req, route, id](const Caller* c) {
      if (!context_.keys().RevokeKey(id, context_.NowMs())) {
        return context_.RespondError(
            req, route, KeyNotFound(std::to_string(id)), c);
      }
      context_.ForgetKey(id);
      context_.Respond(req, route, 204, "", c);
    });
  }

  ApiContext& context_;
};

KeyRoutes::KeyRoutes(ApiContext& context) : impl_(std::make_unique<Impl>(context)) {}
KeyRoutes::~KeyRoutes() = default;
void KeyRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
