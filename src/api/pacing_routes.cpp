#include "api/pacing_routes.hpp"

#include <string>
#include <variant>
#include <vector>

#include "api/message_json.hpp"
#include "domain/recipient.hpp"

namespace herald::api {
namespace {

using nlohmann::json;
using store::NewPacedMessage;
using store::PacedMessage;

constexpr int kMaxPageSize = 500;

ApiError PacedNotFound(std::string_view id) {
  return ApiError::NotFound("PACED_MESSAGE_NOT_FOUND", "paced message " + std::string(id) + " does not exist");
}
constexpr std::size_t kMaxBulkMessages = 10000;
constexpr std::size_t kMaxBodyBytes = 1 << 20;
constexpr std::size_t kMaxBulkBodyBytes = 16 << 20;

std::variant<NewPacedMessage, ApiError> ParsePaced(const json& body, std::int64_t owner_id, const std::string& where) {
  auto invalid = [&](const std::string& field, const std::string& problem) {
    return ApiError::Invalid(where + field + ": " + problem);
  };
  if (!body.is_object()) return invalid("body", "must be a JSON object {\"to\", \"content\"}");
  const auto to = body.find("to");
  if (to == body.end() || !to->is_string()) return invalid("to", "must be an E.164 phone number such as \"+905551234567\"");
  const auto content = body.find("content");
  if (content == body.end() || !content->is_string()) return invalid("content", "must be a string");
  auto address = domain::NormalizeRecipient(domain::Channel::kSms, to->get<std::string>());
  if (!address) return invalid("to", address.error().message);
  NewPacedMessage message{owner_id, std::move(*address), content->get<std::string>()};
  if (auto valid = domain::ValidateContent(domain::Channel::kSms, "", message.content); !valid) {
    return invalid("content", valid.error().message);
  }
  return message;
}

json PacedToJson(const PacedMessage& m) {
  json out{{"id", m.id},
           {"to", m.to},
           {"content", m.content},
           {"status", m.status},
           {"attempts", m.attempts},
           {"created_at", FormatTimestamp(m.created_at_ms)},
           {"updated_at", FormatTimestamp(m.updated_at_ms)}};
  if (!m.provider_message_id.empty()) out["provider_message_id"] = m.provider_message_id;
  if (m.sent_at_ms) out["sent_at"] = FormatTimestamp(*m.sent_at_ms);
  if (!m.last_error.empty()) out["error"] = m.last_error;
  return out;
}

json StatusToJson(const dispatch::PacerStatus& status) {
  return {{"running", status.running},
          {"batch_size", status.batch_size},
          {"interval_seconds", status.interval_seconds},
          {"next_release_at", status.next_release_at_ms ? json(FormatTimestamp(*status.next_release_at_ms)) : json()}};
}

}  // namespace

class PacingRoutes::Impl {
 public:
  Impl(ApiContext& context, store::PacingStore& store, dispatch::PacingRule& pacer, store::SentCache* sent_cache)
      : context_(context), store_(store), pacer_(pacer), sent_cache_(sent_cache) {}

  void Add(Router& router) {
    const auto get = restinio::http_method_get();
    const auto post = restinio::http_method_post();
    context_.AddRoute(router, post, "/api/v1/paced-messages/bulk", "/api/v1/paced-messages/bulk", true,
                      [this](auto& req, auto&, auto* c, auto& route) { PostBulk(req, c, route); });
    context_.AddRoute(router, post, "/api/v1/paced-messages", "/api/v1/paced-messages", true,
                      [this](auto& req, auto&, auto* c, auto& route) { PostOne(req, c, route); });
    for (const char* path : {"/api/v1/paced-messages/sent", "/api/messages/sent"}) {
      context_.AddRoute(router, get, path, path, true,
                        [this](auto& req, auto&, auto* c, auto& route) { ListSent(req, c, route); });
    }
    context_.AddRoute(router, get, "/api/v1/paced-messages/:id(\\d+)", "/api/v1/paced-messages/{id}", true,
                      [this](auto& req, auto& params, auto* c, auto& route) {
                        const auto id = IdParam(params);
                        if (!id) return context_.RespondError(req, route, PacedNotFound(params["id"]), c);
                        context_.Offload(req, route, c, [this, req, route, id = *id](const Caller* caller) {
                          const auto message = store_.Get(id);
                          if (!message || !caller->MaySee(message->owner_id)) {
                            return context_.RespondError(
                                req, route,
                                PacedNotFound(std::to_string(id)),
                                caller);
                          }
                          context_.RespondJson(req, route, 200, PacedToJson(*message), caller);
                        });
                      });
    context_.AddRoute(router, get, "/api/v1/pacing", "/api/v1/pacing", true,
                      [this](auto& req, auto&, auto* c, auto& route) {
                        // Off the I/O thread: the status waits while a release saves its next slot.
                        context_.Offload(req, route, c, [this, req, route](const Caller* caller) {
                          context_.RespondJson(req, route, 200, StatusToJson(pacer_.Status()), caller);
                        });
                      });
    for (const auto& [path, running] : {std::pair{"/api/v1/pacing/start", true}, std::pair{"/api/messaging/start", true},
                                        std::pair{"/api/v1/pacing/stop", false}, std::pair{"/api/messaging/stop", false}}) {
      context_.AddRoute(router, post, path, path, true,
                        [this, running = running](auto& req, auto&, auto* c, auto& route) {
                          SetRunning(req, c, route, running);
                        });
    }
  }

 private:
  // The pacer is shared by every key: only an admin may start or stop it.
  void SetRunning(const Request& req, const Caller* caller, const std::string& route, bool running) {
    if (!caller->IsAdmin()) {
      return context_.RespondError(req, route,
                                   {403, "FORBIDDEN", "only an admin key may start or stop the paced sender"}, caller);
    }
    context_.Offload(req, route, caller, [this, req, route, running](const Caller* c) {
      context_.RespondJson(req, route, 200, StatusToJson(pacer_.SetRunning(running)), c);
    });
  }

  void PostOne(const Request& req, const Caller* caller, const std::string& route) {
    auto body = context_.ParseBody(req, route, caller, kMaxBodyBytes);
    if (!body) return;
    auto parsed = ParsePaced(*body, caller->key.id, "");
    if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    context_.Offload(req, route, caller, [this, req, route, message = std::get<NewPacedMessage>(parsed)](const Caller* c) {
      const auto stored = store_.Enqueue({message}, context_.NowMs());
      pacer_.Changed();
      context_.RespondJson(req, route, 201, PacedToJson(stored.at(0)), c);
    });
  }

  void PostBulk(const Request& req, const Caller* caller, const std::string& route) {
    context_.WithJsonBody(req, route, caller, kMaxBulkBodyBytes,
                          [this, req, route](json body, const Caller* c) { AcceptBulk(req, c, route, body); });
  }

  void AcceptBulk(const Request& req, const Caller* caller, const std::string& route, const json& body) {
    if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array()) {
      return context_.RespondError(
          req, route, ApiError::Invalid("messages: must be an array of {\"to\", \"content\"} objects"), caller);
    }
    const auto& items = body["messages"];
    if (items.size() > kMaxBulkMessages) {
      return context_.RespondError(req, route,
                                   {413, "PAYLOAD_TOO_LARGE",
                                    "messages: at most " + std::to_string(kMaxBulkMessages) + " per request, got " +
                                        std::to_string(items.size())},
                                   caller);
    }
    std::vector<NewPacedMessage> messages;
    json rejected = json::array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto parsed = ParsePaced(items[i], caller->key.id, "messages[" + std::to_string(i) + "].");
      if (auto* error = std::get_if<ApiError>(&parsed)) {
        rejected.push_back({{"index", i}, {"error", {{"code", error->code}, {"message", error->message}}}});
      } else {
        messages.push_back(std::move(std::get<NewPacedMessage>(parsed)));
      }
    }
    if (messages.empty()) {
      return context_.RespondJson(req, route, 400, json{{"accepted", 0}, {"rejected", rejected}, {"ids", json::array()}},
                                  caller);
    }
    context_.Offload(req, route, caller,
                     [this, req, route, messages = std::move(messages), rejected = std::move(rejected)](const Caller* c) {
                       json ids = json::array();
                       const auto stored = store_.Enqueue(messages, context_.NowMs());
                       pacer_.Changed();
                       for (const auto& m : stored) ids.push_back(m.id);
                       context_.RespondJson(req, route, 201,
                                            json{{"accepted", stored.size()}, {"rejected", rejected}, {"ids", ids}}, c);
                     });
  }

  void ListSent(const Request& req, const Caller* caller, const std::string& route) {
    const auto parsed = ParseQuery(req);
    if (const auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, caller);
    const auto& query = std::get<restinio::query_string_params_t>(parsed);
    const auto page = QueryNumber(query, "page", 1, 1, 1000000);
    const auto page_size = QueryNumber(query, "page_size", 20, 1, kMaxPageSize);
    for (const auto* value : {&page, &page_size}) {
      if (const auto* error = std::get_if<ApiError>(value)) return context_.RespondError(req, route, *error, caller);
    }
    const int page_number = static_cast<int>(std::get<std::int64_t>(page));
    const int size = static_cast<int>(std::get<std::int64_t>(page_size));
    std::optional<std::int64_t> owner;
    if (!caller->IsAdmin()) owner = caller->key.id;
    context_.Offload(req, route, caller, [this, req, route, owner, page_number, size](const Caller* c) {
      auto result = store_.ListSent(owner, page_number, size);
      std::optional<json> cache;
      if (sent_cache_ != nullptr) cache = ReadThroughCache(result.messages);
      json data = json::array();
      for (const auto& message : result.messages) data.push_back(PacedToJson(message));
      json answer{{"data", std::move(data)},
                  {"pagination",
                   {{"page", page_number},
                    {"page_size", size},
                    {"total_count", result.total_count},
                    {"total_pages", (result.total_count + size - 1) / size}}}};
      if (cache) answer["cache"] = std::move(*cache);
      context_.RespondJson(req, route, 200, answer, c);
    });
  }

  // Seed 001's cache: the provider ids and sent times of the page in one
  // lookup; what it lacks is taken from the rows and cached for the next read.
  json ReadThroughCache(std::vector<PacedMessage>& messages) {
    std::vector<std::int64_t> ids;
    ids.reserve(messages.size());
    for (const auto& message : messages) ids.push_back(message.id);
    const auto recalled = sent_cache_->Recall(ids);
    if (!recalled) return json{{"status", "unavailable"}, {"error", sent_cache_->Health()}};
    std::vector<store::SentEntry> misses;
    int hits = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      if (const auto& entry = (*recalled)[i]) {
        messages[i].provider_message_id = entry->provider_message_id;
        messages[i].sent_at_ms = entry->sent_at_ms;
        ++hits;
      } else if (messages[i].sent_at_ms) {
        misses.push_back({messages[i].id, messages[i].provider_message_id, *messages[i].sent_at_ms});
      }
    }
    sent_cache_->Remember(misses);
    return json{{"status", "ok"}, {"hits", hits}, {"misses", messages.size() - static_cast<std::size_t>(hits)}};
  }

  ApiContext& context_;
  store::PacingStore& store_;
  dispatch::PacingRule& pacer_;
  store::SentCache* const sent_cache_;
};

PacingRoutes::PacingRoutes(ApiContext& context, store::PacingStore& store, dispatch::PacingRule& pacer,
                           store::SentCache* sent_cache)
    : impl_(std::make_unique<Impl>(context, store, pacer, sent_cache)) {}

PacingRoutes::~PacingRoutes() = default;

void PacingRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
