#include "api/message_routes.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include "api/message_json.hpp"
#include "store/campaign_store.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

constexpr int kMaxPageSize = 500;

}  // namespace

class MessageRoutes::Impl {
 public:
  Impl(ApiContext& context, app::MessageIntake& intake, MessageRouteSettings settings)
      : context_(context), intake_(intake), settings_(settings) {}

  void UseTemplates(store::TemplateStore& templates) { templates_ = &templates; }

  void Add(Router& router) {
    context_.AddRoute(router, restinio::http_method_post(), "/api/v1/messages/bulk", "/api/v1/messages/bulk", true,
                      [this](auto& req, auto&, auto* c, auto& route) { PostBulk(req, c, route); });
    context_.AddRoute(router, restinio::http_method_post(), "/api/v1/messages", "/api/v1/messages", true,
                      [this](auto& req, auto&, auto* c, auto& route) { PostMessage(req, c, route); });
    context_.AddRoute(router, restinio::http_method_get(), "/api/v1/messages/:id(\\d+)", "/api/v1/messages/{id}", true,
                      [this](auto& req, auto& params, auto* c, auto& route) {
                        const auto id = IdParam(params);
                        if (!id) return context_.RespondError(req, route, NotFound(params["id"]), c);
                        context_.Offload(req, route, c, [this, req, route, id = *id](const Caller* caller) {
                          const auto message = context_.message_reads().GetMessage(id);
                          if (!message || !caller->MaySee(message->owner_id)) {
                            return context_.RespondError(req, route, NotFound(id), caller);
                          }
                          context_.RespondJson(req, route, 200, MessageToJson(*message, context_.NowMs()), caller);
                        });
                      });
    context_.AddRoute(router, restinio::http_method_delete(), "/api/v1/messages/:id(\\d+)", "/api/v1/messages/{id}",
                      true, [this](auto& req, auto& params, auto* c, auto& route) {
                        const auto id = IdParam(params);
                        if (!id) return context_.RespondError(req, route, NotFound(params["id"]), c);
                        context_.Offload(req, route, c, [this, req, route, id = *id](const Caller* caller) {
                          CancelMessage(req, route, caller, id);
                        });
                      });
    context_.AddRoute(router, restinio::http_method_post(), "/api/v1/messages/:id(\\d+)/retry",
                      "/api/v1/messages/{id}/retry", true, [this](auto& req, auto& params, auto* c, auto& route) {
                        const auto id = IdParam(params);
                        if (!id) return context_.RespondError(req, route, NotFound(params["id"]), c);
                        RetryMessage(req, route, c, *id);
                      });
    context_.AddRoute(router, restinio::http_method_get(), "/api/v1/messages", "/api/v1/messages", true,
                      [this](auto& req, auto&, auto* c, auto& route) { ListMessages(req, c, route); });
  }

 private:
  static ApiError NotFound(std::string_view id) {
    return ApiError::NotFound("MESSAGE_NOT_FOUND", "message " + std::string(id) + " does not exist");
  }
  static ApiError NotFound(std::int64_t id) { return NotFound(std::to_string(id)); }

  static json AcceptedJson(const store::MessageRecord& message, std::int64_t now_ms) {
    json recipients = json::array();
    for (const auto& r : message.recipients) {
      recipients.push_back({{"id", r.id}, {"channel", r.channel}, {"to", r.address}, {"status", r.status}});
    }
    json out{{"id", message.id}, {"status", MessageStatus(message, now_ms)}, {"recipients", std::move(recipients)}};
    if (message.scheduled_at_ms) out["scheduled_at"] = FormatTimestamp(*message.scheduled_at_ms);
    return out;
  }

  void PostMessage(const Request& req, const Caller* caller, const std::string& route) {
    auto body = context_.ParseBody(req, route, caller, settings_.max_body_bytes);
    if (!body) return;
    if (const auto* key = req->header().try_get_field("Idempotency-Key")) {
      // Checked at the door: a stored key is echoed in every list that holds its message.
      const bool printable = std::all_of(key->begin(), key->end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
      if (key->empty() || key->size() > 255 || !printable) {
        return context_.RespondError(
            req, route,
            ApiError::BadRequest("INVALID_HEADER", "Idempotency-Key: must be 1 to 255 printable ASCII characters"),
            caller);
      }
      if (body->is_object()) (*body)["idempotency_key"] = *key;
    }
    // Reading a template is store work, which stays off the I/O threads.
    const bool reads_store = templates_ != nullptr && NamesTemplate(*body);
    auto accept = [this, req, route, reads_store, body = std::move(*body)](const Caller* c) {
      auto parsed =
          ParseMessageRequest(body, c->key.id, context_.NowMs(), "", reads_store ? TemplatesFor(*c) : TemplateLookup());
      if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, c);
      std::vector<store::NewMessage> messages;
      messages.push_back(std::move(std::get<store::NewMessage>(parsed)));
      intake_.Submit(std::move(messages), [this, req, route, copy = *c](std::vector<store::AcceptedMessage> stored,
                                                                        std::exception_ptr failure) {
        if (failure) {
          try {
            std::rethrow_exception(failure);
          } catch (const std::exception& e) {
            return context_.RespondInternal(req, route, e, &copy);
          }
        }
        const auto& accepted = stored.at(0);
        Headers headers;
        if (!accepted.created) headers.emplace_back("Idempotent-Replayed", "true");
        context_.Respond(req, route, 202, JsonText(AcceptedJson(accepted.message, context_.NowMs())), &copy, headers);
      });
    };
    if (reads_store) return context_.Offload(req, route, caller, std::move(accept));
    accept(caller);
  }

  void PostBulk(const Request& req, const Caller* caller, const std::string& route) {
    context_.WithJsonBody(req, route, caller, settings_.max_bulk_body_bytes,
                          [this, req, route](json body, const Caller* c) { CheckBulk(req, c, route, std::move(body)); });
  }

  void CheckBulk(const Request& req, const Caller* caller, const std::string& route, json body) {
    if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) {
      return context_.RespondError(req, route, ApiError::Invalid("messages: must be an array of message objects"),
                                   caller);
    }
    const auto& items = body["messages"];
    if (items.size() > static_cast<std::size_t>(settings_.max_bulk_messages)) {
      return context_.RespondError(req, route,
                                   {413, "PAYLOAD_TOO_LARGE",
                                    "messages: at most " + std::to_string(settings_.max_bulk_messages) +
                                        " per request, got " + std::to_string(items.size())},
                                   caller);
    }
    const bool reads_store = templates_ != nullptr &&
                             std::any_of(items.begin(), items.end(), [](const json& m) { return NamesTemplate(m); });
    auto accept = [this, req, route, body = std::move(body)](const Caller* c) {
      AcceptBulk(req, route, c, body.at("messages"));
    };
    if (reads_store) return context_.Offload(req, route, caller, std::move(accept));
    accept(caller);
  }

  void AcceptBulk(const Request& req, const std::string& route, const Caller* caller, const json& items) {
    const auto now = context_.NowMs();
    std::vector<store::NewMessage> messages;
    messages.reserve(items.size());
    json rejected = json::array();
    // One read per template, however many messages name it.
    std::map<std::int64_t, std::optional<store::TemplateRecord>> seen;
    TemplateLookup templates;
    if (auto lookup = TemplatesFor(*caller)) {
      templates = [&seen, lookup = std::move(lookup)](std::int64_t id) {
        auto [it, added] = seen.try_emplace(id);
        if (added) it->second = lookup(id);
        return it->second;
      };
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto parsed =
          ParseMessageRequest(items[i], caller->key.id, now, "messages[" + std::to_string(i) + "].", templates);
      if (auto* error = std::get_if<ApiError>(&parsed)) {
        rejected.push_back({{"index", i}, {"error", {{"code", error->code}, {"message", error->message}}}});
      } else {
        messages.push_back(std::move(std::get<store::NewMessage>(parsed)));
      }
    }
    if (messages.empty()) {
      return context_.Respond(req, route, 400,
                              JsonText(json{{"accepted", 0}, {"rejected", rejected}, {"ids", json::array()}}), caller);
    }
    intake_.Submit(std::move(messages), [this, req, route, copy = *caller, rejected = std::move(rejected)](
                                            std::vector<store::AcceptedMessage> stored, std::exception_ptr failure) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          return context_.RespondInternal(req, route, e, &copy);
        }
      }
      json ids = json::array();
      for (const auto& accepted : stored) ids.push_back(accepted.message.id);
      context_.Respond(req, route, 202,
                       JsonText(json{{"accepted", stored.size()}, {"rejected", rejected}, {"ids", std::move(ids)}}),
                       &copy);
    });
  }

  static bool NamesTemplate(const json& message) {
    if (!message.is_object()) return false;
    const auto it = message.find("template_id");
    return it != message.end() && !it->is_null();
  }

  // Templates the caller may use: its own, or any for an admin. Empty when the
  // server has no template store.
  TemplateLookup TemplatesFor(const Caller& caller) const {
    if (templates_ == nullptr) return {};
    return [store = templates_, caller](std::int64_t id) -> std::optional<store::TemplateRecord> {
      auto found = store->GetTemplate(id);
      if (!found || !caller.MaySee(found->owner_id)) return std::nullopt;
      return found;
    };
  }

  void ListMessages(const Request& req, const Caller* caller, const std::string& route) {
    const auto parsed = ParseQuery(req);
    if (const auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    const auto& query = std::get<restinio::query_string_params_t>(parsed);
    const auto page = QueryNumber(query, "page", 1, 1, 1000000);
    const auto page_size = QueryNumber(query, "page_size", 20, 1, kMaxPageSize);
    const auto as_of = QueryNumber(query, "as_of", 0, 1, INT64_MAX);
    for (const auto* value : {&page, &page_size, &as_of}) {
      if (const auto* error = std::get_if<ApiError>(value)) return context_.RespondError(req, route, *error, caller);
    }
    store::MessageFilter filter;
    if (!caller->IsAdmin()) filter.owner_id = caller->key.id;
    if (const auto status = query.get_param("status")) filter.status = std::string(*status);
    if (const auto channel = query.get_param("channel")) filter.channel = std::string(*channel);
    if (query.has("as_of")) filter.as_of_id = std::get<std::int64_t>(as_of);
    static const std::vector<std::string> kStatuses = {"queued", "sending", "sent",     "failed",
                                                       "dead",   "unknown", "cancelled"};
    static const std::vector<std::string> kChannels = {"sms", "whatsapp", "email", "telegram"};
    if (!filter.status.empty() && std::find(kStatuses.begin(), kStatuses.end(), filter.status) == kStatuses.end()) {
      return context_.RespondError(
          req, route,
          ApiError::BadRequest("INVALID_QUERY",
                               "status: must be one of queued, sending, sent, failed, dead, unknown, cancelled"),
          caller);
    }
    if (!filter.channel.empty() && std::find(kChannels.begin(), kChannels.end(), filter.channel) == kChannels.end()) {
      return context_.RespondError(
          req, route, ApiError::BadRequest("INVALID_QUERY", "channel: must be one of sms, whatsapp, email, telegram"),
          caller);
    }
    const int page_number = static_cast<int>(std::get<std::int64_t>(page));
    const int size = static_cast<int>(std::get<std::int64_t>(page_size));
    context_.Offload(req, route, caller, [this, req, route, filter, page_number, size](const Caller* c) {
      const auto result = context_.message_reads().ListMessages(filter, page_number, size);
      const auto now = context_.NowMs();
      json data = json::array();
      for (const auto& message : result.messages) data.push_back(MessageToJson(message, now));
      json body{{"data", std::move(data)},
                {"pagination",
                 {{"page", page_number},
                  {"page_size", size},
                  {"total_count", result.total_count},
                  {"total_pages", (result.total_count + size - 1) / size},
                  {"as_of", result.as_of_id}}}};
      context_.Respond(req, route, 200, JsonText(body), c);
    });
  }

  void CancelMessage(const Request& req, const std::string& route, const Caller* caller, std::int64_t id) {
    const auto message = context_.messages().GetMessage(id);
    if (!message || !caller->MaySee(message->owner_id)) return context_.RespondError(req, route, NotFound(id), caller);
    const auto result = context_.messages().CancelMessage(id, context_.NowMs());
    if (result.cancelled == 0) {
      return context_.RespondError(
          req, route,
          {409, "MESSAGE_NOT_CANCELLABLE",
           "message " + std::to_string(id) + " has nothing left to cancel: every recipient is being sent or done"},
          caller);
    }
    auto body = MessageToJson(*context_.messages().GetMessage(id), context_.NowMs());
    body["cancelled_recipients"] = result.cancelled;
    context_.Respond(req, route, 200, JsonText(body), caller);
  }

  // Failed, dead (and, when named, unknown) recipients go back to their lanes.
  void RetryMessage(const Request& req, const std::string& route, const Caller* caller, std::int64_t id) {
    nlohmann::json body;
    if (!req->body().empty()) {
      auto parsed = context_.ParseBody(req, route, caller, 64 << 10);
      if (!parsed) return;
      body = std::move(*parsed);
    }
    auto statuses = ParseRetryStatuses(body);
    if (auto* error = std::get_if<ApiError>(&statuses)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller,
                     [this, req, route, id, statuses = std::get<std::vector<std::string>>(statuses)](const Caller* c) {
                       const auto message = context_.messages().GetMessage(id);
                       if (!message || !c->MaySee(message->owner_id)) {
                         return context_.RespondError(req, route, NotFound(id), c);
                       }
                       const auto requeued = context_.messages().RetryMessage(id, statuses, context_.NowMs());
                       if (requeued == 0) {
                         return context_.RespondError(
                             req, route,
                             NothingToRetry("message " + std::to_string(id) + " has no recipient", statuses), c);
                       }
                       auto out = MessageToJson(*context_.messages().GetMessage(id), context_.NowMs());
                       out["requeued_recipients"] = requeued;
                       context_.RespondJson(req, route, 202, out, c);
                     });
  }

  ApiContext& context_;
  app::MessageIntake& intake_;
  const MessageRouteSettings settings_;
  store::TemplateStore* templates_ = nullptr;  // set by UseTemplates
};

MessageRoutes::MessageRoutes(ApiContext& context, app::MessageIntake& intake, MessageRouteSettings settings)
    : impl_(std::make_unique<Impl>(context, intake, settings)) {}

MessageRoutes::~MessageRoutes() = default;

void MessageRoutes::Add(Router& router) { impl_->Add(router); }
void MessageRoutes::UseTemplates(store::TemplateStore& templates) { impl_->UseTemplates(templates); }

}  // namespace herald::api
