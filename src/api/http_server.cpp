#include "api/http_server.hpp"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs it under g++ 12

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <restinio/all.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "api/message_json.hpp"
#include "common/hash.hpp"

namespace herald::api {
namespace {

using nlohmann::json;
using Router = restinio::router::express_router_t<>;
struct Traits : public restinio::default_traits_t {
  using request_handler_t = Router;
};
using Request = restinio::request_handle_t;
using RouteParams = restinio::router::route_params_t;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Revoking a key takes effect within this long in a running server.
constexpr auto kKeyCacheTtl = std::chrono::seconds(5);
constexpr int kMaxPageSize = 500;


std::string ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

struct Caller {
  store::ApiKeyRecord key;
  Decision limit;
  bool unlimited = false;  // no RateLimit-* headers
  bool IsAdmin() const { return key.role == "admin"; }
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(store::sqlite::SqliteApiStore& store, MessageIntake& intake, const Clock& clock, ApiServerSettings settings,
       ApiServerHooks hooks)
      : store_(store),
        intake_(intake),
        clock_(clock),
        settings_(std::move(settings)),
        hooks_(std::move(hooks)),
        limiter_(clock),
        read_pool_(static_cast<std::size_t>(settings_.read_threads)),
        started_(std::chrono::steady_clock::now()) {}

  ~Impl() {
    Stop();
    read_pool_.join();
  }

  void Start() {
    auto router = std::make_unique<Router>();
    Route(*router);
    try {
      server_ = restinio::run_async<Traits>(
          restinio::own_io_context(),
          restinio::server_settings_t<Traits>{}
              .address(settings_.address)
              .port(static_cast<std::uint16_t>(settings_.port))
              .request_handler(std::move(router))
              .handle_request_timeout(std::chrono::seconds(60))
              .read_next_http_message_timelimit(std::chrono::seconds(75))
              .incoming_http_msg_limits(
                  restinio::incoming_http_msg_limits_t{}.max_body_size(settings_.max_bulk_body_bytes + 1)),
          static_cast<std::size_t>(settings_.io_threads));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + settings_.address + ":" + std::to_string(settings_.port) + ": " +
                               e.what());
    }
  }

  void Drain(std::chrono::milliseconds deadline) {
    draining_ = true;
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void Stop() {
    if (!server_) return;
    server_->stop();
    server_->wait();
    server_.reset();
  }

 private:
  // --- plumbing ---

  void Respond(const Request& req, const std::string& route, int status, const std::string& body,
               const Caller* caller = nullptr, const Headers& headers = {},
               const char* content_type = "application/json") {
    auto response = req->create_response(
        restinio::http_status_line_t{restinio::http_status_code_t{static_cast<std::uint16_t>(status)},
                                     ReasonPhrase(status)});
    response.append_header(restinio::http_field::content_type, content_type);
    if (caller != nullptr && !caller->unlimited) {
      response.append_header("RateLimit-Limit", std::to_string(caller->limit.limit));
      response.append_header("RateLimit-Remaining", std::to_string(caller->limit.remaining));
      response.append_header("RateLimit-Reset", std::to_string(caller->limit.reset.count()));
    }
    for (const auto& [name, value] : headers) response.append_header(name, value);
    response.set_body(body);
    response.done();
    if (hooks_.on_request) hooks_.on_request(std::string(req->header().method().c_str()), route, status);
    --in_flight_;
  }

  void RespondError(const Request& req, const std::string& route, const ApiError& error,
                    const Caller* caller = nullptr, const Headers& headers = {}) {
    Respond(req, route, error.status, error.Body(), caller, headers);
  }

  void RespondInternal(const Request& req, const std::string& route, const std::exception& e,
                       const Caller* caller) {
    spdlog::error("request failed route={} error={}", route, e.what());
    RespondError(req, route, {500, "INTERNAL", "the request could not be completed; see the server log"}, caller);
  }

  std::optional<store::ApiKeyRecord> LookupKey(const std::string& key) {
    const auto hash = Sha256Hex(key);
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(keys_mutex_);
      if (const auto it = keys_.find(hash); it != keys_.end() && it->second.expires > now) return it->second.key;
    }
    auto found = store_.FindActiveKey(hash);
    std::lock_guard lock(keys_mutex_);
    if (keys_.size() > 100000) keys_.clear();  // bounded: a flood of wrong keys must not grow it forever
    keys_[hash] = {found, now + kKeyCacheTtl};
    return found;
  }

  // Authenticates and applies the tier's rate limit; answers and returns nullopt on failure.
  std::optional<Caller> Authenticate(const Request& req, const std::string& route) {
    const auto* key = req->header().try_get_field("X-API-Key");
    if (key == nullptr || key->empty()) {
      RespondError(req, route, {401, "UNAUTHORIZED", "the X-API-Key header is missing"});
      return std::nullopt;
    }
    auto record = LookupKey(*key);
    if (!record) {
      RespondError(req, route, {401, "UNAUTHORIZED", "the API key is not valid or has been revoked"});
      return std::nullopt;
    }
    Caller caller{*record, {}};
    const int per_minute = TierLimit(record->tier);
    if (per_minute == 0) {
      caller.limit = {true, 0, 0, std::chrono::seconds(0), std::chrono::seconds(0)};
      caller.unlimited = true;
      return caller;
    }
    caller.limit = limiter_.Check("key:" + std::to_string(record->id), per_minute);
    if (!caller.limit.allowed) {
      RespondError(req, route,
                   {429, "RATE_LIMITED",
                    "the " + record->tier + " tier allows " + std::to_string(caller.limit.limit) +
                        " requests per minute; retry after " + std::to_string(caller.limit.retry_after.count()) + " s"},
                   &caller, {{"Retry-After", std::to_string(caller.limit.retry_after.count())}});
      return std::nullopt;
    }
    return caller;
  }

  // Wraps a handler: counts it in flight, refuses while draining, authenticates
  // when asked, and turns an escaped exception into a 500.
  template <typename Handler>
  auto Endpoint(std::string route, bool authenticated, Handler handler) {
    return [this, route = std::move(route), authenticated, handler = std::move(handler)](const Request& req,
                                                                                          RouteParams params) {
      ++in_flight_;
      if (draining_) {
        RespondError(req, route, {503, "SHUTTING_DOWN", "the server is shutting down; retry shortly"}, nullptr,
                     {{"Retry-After", "5"}});
        return restinio::request_accepted();
      }
      std::optional<Caller> caller;
      if (authenticated) {
        caller = Authenticate(req, route);
        if (!caller) return restinio::request_accepted();
      }
      try {
        handler(req, params, caller ? &*caller : nullptr, route);
      } catch (const std::exception& e) {
        RespondInternal(req, route, e, caller ? &*caller : nullptr);
      }
      return restinio::request_accepted();
    };
  }

  // Runs blocking store work off the I/O threads; the work answers the request.
  template <typename Work>
  void OffloadRead(const Request& req, const std::string& route, const Caller* caller, Work work) {
    std::optional<Caller> copy;
    if (caller != nullptr) copy = *caller;
    boost::asio::post(read_pool_, [this, req, route, copy = std::move(copy), work = std::move(work)] {
      const Caller* c = copy ? &*copy : nullptr;
      try {
        work(c);
      } catch (const std::exception& e) {
        RespondInternal(req, route, e, c);
      }
    });
  }

  std::optional<json> ParseBody(const Request& req, const std::string& route, const Caller* caller,
                                std::size_t limit) {
    if (req->body().size() > limit) {
      RespondError(req, route,
                   {413, "PAYLOAD_TOO_LARGE", "the body is larger than " + std::to_string(limit) + " bytes"}, caller);
      return std::nullopt;
    }
    try {
      return json::parse(req->body());
    } catch (const json::parse_error& e) {
      RespondError(req, route, ApiError::BadRequest("INVALID_JSON", std::string("the body is not valid JSON: ") + e.what()),
                   caller);
      return std::nullopt;
    }
  }

  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  // The store's CHECK constraint admits only the three tiers.
  int TierLimit(const std::string& tier) const {
    if (tier == "premium") return settings_.premium_per_minute;
    if (tier == "basic") return settings_.basic_per_minute;
    return settings_.free_per_minute;
  }

  bool MayRead(const Caller* caller, const store::MessageRecord& message) const {
    return caller->IsAdmin() || message.owner_id == caller->key.id;
  }

  // --- routes ---

  void Route(Router& router) {
    router.http_get("/health", Endpoint("/health", false, [this](const Request& req, RouteParams&, const Caller*,
                                                                   const std::string& route) {
      json body{{"status", "ok"},
                {"version", "0.1.0"},
                {"uptime_seconds",
                 std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count()}};
      if (hooks_.health) body.update(hooks_.health());
      Respond(req, route, 200, body.dump());
    }));
    router.http_get("/metrics", Endpoint("/metrics", false, [this](const Request& req, RouteParams&, const Caller*,
                                                                     const std::string& route) {
      Respond(req, route, 200, hooks_.metrics ? hooks_.metrics() : std::string(), nullptr, {},
              "text/plain; version=0.0.4; charset=utf-8");
    }));

    router.http_post("/api/v1/messages/bulk", Endpoint("/api/v1/messages/bulk", true, [this](auto& req, auto&, auto* c,
                                                                                              auto& route) {
      PostBulk(req, c, route);
    }));
    router.http_post("/api/v1/messages", Endpoint("/api/v1/messages", true, [this](auto& req, auto&, auto* c,
                                                                                    auto& route) {
      PostMessage(req, c, route);
    }));
    router.http_get("/api/v1/messages/:id(\\d+)", Endpoint("/api/v1/messages/{id}", true, [this](auto& req, auto& params,
                                                                                                  auto* c, auto& route) {
      const auto id = restinio::cast_to<std::int64_t>(params["id"]);
      OffloadRead(req, route, c, [this, req, route, id](const Caller* caller) {
        const auto message = store_.GetMessage(id);
        if (!message || !MayRead(caller, *message)) {
          return RespondError(req, route, NotFound(id), caller);
        }
        Respond(req, route, 200, MessageToJson(*message, NowMs()).dump(), caller);
      });
    }));
    router.http_delete("/api/v1/messages/:id(\\d+)", Endpoint("/api/v1/messages/{id}", true, [this](
                                                                  auto& req, auto& params, auto* c, auto& route) {
      const auto id = restinio::cast_to<std::int64_t>(params["id"]);
      OffloadRead(req, route, c, [this, req, route, id](const Caller* caller) { CancelMessage(req, route, caller, id); });
    }));
    router.http_get("/api/v1/messages", Endpoint("/api/v1/messages", true, [this](auto& req, auto&, auto* c,
                                                                                   auto& route) {
      ListMessages(req, c, route);
    }));

    router.non_matched_request_handler([this](const Request& req) {
      ++in_flight_;
      RespondError(req, "unmatched",
                   ApiError::NotFound("ROUTE_NOT_FOUND", "no route for " +
                                                             std::string(req->header().method().c_str()) +
                                                             " " + std::string(req->header().path())));
      return restinio::request_accepted();
    });
  }

  static ApiError NotFound(std::int64_t id) {
    return ApiError::NotFound("MESSAGE_NOT_FOUND", "message " + std::to_string(id) + " does not exist");
  }

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
    auto body = ParseBody(req, route, caller, settings_.max_body_bytes);
    if (!body) return;
    if (const auto* key = req->header().try_get_field("Idempotency-Key")) {
      if (key->empty() || key->size() > 255) {
        return RespondError(req, route, ApiError::Unprocessable("Idempotency-Key: must be 1 to 255 characters"), caller);
      }
      if (body->is_object()) (*body)["idempotency_key"] = *key;
    }
    auto parsed = ParseMessageRequest(*body, caller->key.id, NowMs());
    if (auto* error = std::get_if<ApiError>(&parsed)) return RespondError(req, route, *error, caller);
    std::vector<store::NewMessage> messages;
    messages.push_back(std::move(std::get<store::NewMessage>(parsed)));
    intake_.Submit(std::move(messages), [this, req, route, copy = *caller](std::vector<store::AcceptedMessage> stored,
                                                                          std::exception_ptr failure) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          return RespondInternal(req, route, e, &copy);
        }
      }
      const auto& accepted = stored.at(0);
      Headers headers;
      if (!accepted.created) headers.emplace_back("Idempotent-Replayed", "true");
      Respond(req, route, 202, AcceptedJson(accepted.message, NowMs()).dump(), &copy, headers);
    });
  }

  void PostBulk(const Request& req, const Caller* caller, const std::string& route) {
    auto body = ParseBody(req, route, caller, settings_.max_bulk_body_bytes);
    if (!body) return;
    if (!body->is_object() || !body->contains("messages") || !(*body)["messages"].is_array()) {
      return RespondError(req, route, ApiError::Unprocessable("messages: must be an array of message objects"), caller);
    }
    const auto& items = (*body)["messages"];
    if (items.size() > static_cast<std::size_t>(settings_.max_bulk_messages)) {
      return RespondError(req, route,
                          {413, "PAYLOAD_TOO_LARGE",
                           "messages: at most " + std::to_string(settings_.max_bulk_messages) + " per request, got " +
                               std::to_string(items.size())},
                          caller);
    }
    const auto now = NowMs();
    std::vector<store::NewMessage> messages;
    messages.reserve(items.size());
    json rejected = json::array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto parsed = ParseMessageRequest(items[i], caller->key.id, now, "messages[" + std::to_string(i) + "].");
      if (auto* error = std::get_if<ApiError>(&parsed)) {
        rejected.push_back({{"index", i}, {"error", {{"code", error->code}, {"message", error->message}}}});
      } else {
        messages.push_back(std::move(std::get<store::NewMessage>(parsed)));
      }
    }
    if (messages.empty()) {
      return Respond(req, route, 422, json{{"accepted", 0}, {"rejected", rejected}, {"ids", json::array()}}.dump(),
                     caller);
    }
    intake_.Submit(std::move(messages), [this, req, route, copy = *caller, rejected = std::move(rejected)](
                                            std::vector<store::AcceptedMessage> stored, std::exception_ptr failure) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          return RespondInternal(req, route, e, &copy);
        }
      }
      json ids = json::array();
      for (const auto& accepted : stored) ids.push_back(accepted.message.id);
      Respond(req, route, 202, json{{"accepted", stored.size()}, {"rejected", rejected}, {"ids", std::move(ids)}}.dump(),
              &copy);
    });
  }

  void ListMessages(const Request& req, const Caller* caller, const std::string& route) {
    const auto query = restinio::parse_query(req->header().query());
    auto number = [&](const char* name, std::int64_t fallback, std::int64_t min,
                      std::int64_t max) -> std::variant<std::int64_t, ApiError> {
      const auto value = query.get_param(name);
      if (!value) return fallback;
      const std::string text(*value);
      char* end = nullptr;
      const long long n = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || n < min || n > max) {
        return ApiError::BadRequest("INVALID_QUERY", std::string(name) + ": must be a whole number from " +
                                                         std::to_string(min) + " to " + std::to_string(max));
      }
      return static_cast<std::int64_t>(n);
    };
    const auto page = number("page", 1, 1, 1000000);
    const auto page_size = number("page_size", 20, 1, kMaxPageSize);
    const auto as_of = number("as_of", 0, 1, INT64_MAX);
    for (const auto* value : {&page, &page_size, &as_of}) {
      if (const auto* error = std::get_if<ApiError>(value)) return RespondError(req, route, *error, caller);
    }
    store::MessageFilter filter;
    if (!caller->IsAdmin()) filter.owner_id = caller->key.id;
    if (const auto status = query.get_param("status")) filter.status = std::string(*status);
    if (const auto channel = query.get_param("channel")) filter.channel = std::string(*channel);
    if (query.has("as_of")) filter.as_of_id = std::get<std::int64_t>(as_of);
    static const std::vector<std::string> kStatuses = {"queued", "sending", "sent", "failed", "dead", "unknown", "cancelled"};
    static const std::vector<std::string> kChannels = {"sms", "whatsapp", "email", "telegram"};
    if (!filter.status.empty() && std::find(kStatuses.begin(), kStatuses.end(), filter.status) == kStatuses.end()) {
      return RespondError(req, route, ApiError::BadRequest("INVALID_QUERY", "status: must be one of queued, sending, sent, failed, dead, unknown, cancelled"), caller);
    }
    if (!filter.channel.empty() && std::find(kChannels.begin(), kChannels.end(), filter.channel) == kChannels.end()) {
      return RespondError(req, route, ApiError::BadRequest("INVALID_QUERY", "channel: must be one of sms, whatsapp, email, telegram"), caller);
    }
    const int page_number = static_cast<int>(std::get<std::int64_t>(page));
    const int size = static_cast<int>(std::get<std::int64_t>(page_size));
    OffloadRead(req, route, caller, [this, req, route, filter, page_number, size](const Caller* c) {
      const auto result = store_.ListMessages(filter, page_number, size);
      const auto now = NowMs();
      json data = json::array();
      for (const auto& message : result.messages) data.push_back(MessageToJson(message, now));
      json body{{"data", std::move(data)},
                {"pagination",
                 {{"page", page_number},
                  {"page_size", size},
                  {"total_count", result.total_count},
                  {"total_pages", (result.total_count + size - 1) / size},
                  {"as_of", result.as_of_id}}}};
      Respond(req, route, 200, body.dump(), c);
    });
  }

  void CancelMessage(const Request& req, const std::string& route, const Caller* caller, std::int64_t id) {
    const auto message = store_.GetMessage(id);
    if (!message || !MayRead(caller, *message)) return RespondError(req, route, NotFound(id), caller);
    const auto result = store_.CancelMessage(id, NowMs());
    if (result.cancelled == 0) {
      return RespondError(req, route,
                          {409, "MESSAGE_NOT_CANCELLABLE",
                           "message " + std::to_string(id) + " has nothing left to cancel: every recipient is being sent or done"},
                          caller);
    }
    auto body = MessageToJson(*store_.GetMessage(id), NowMs());
    body["cancelled_recipients"] = result.cancelled;
    Respond(req, route, 200, body.dump(), caller);
  }

  store::sqlite::SqliteApiStore& store_;
  MessageIntake& intake_;
  const Clock& clock_;
  const ApiServerSettings settings_;
  const ApiServerHooks hooks_;
  RateLimiter limiter_;
  boost::asio::thread_pool read_pool_;
  const std::chrono::steady_clock::time_point started_;
  std::atomic<int> in_flight_{0};
  std::atomic<bool> draining_{false};
  struct CachedKey {
    std::optional<store::ApiKeyRecord> key;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex keys_mutex_;
  std::unordered_map<std::string, CachedKey> keys_;
  restinio::running_server_handle_t<Traits> server_;
};

ApiServer::ApiServer(store::sqlite::SqliteApiStore& store, MessageIntake& intake, const Clock& clock,
                     ApiServerSettings settings, ApiServerHooks hooks)
    : impl_(std::make_unique<Impl>(store, intake, clock, std::move(settings), std::move(hooks))) {}

ApiServer::~ApiServer() = default;

void ApiServer::Start() { impl_->Start(); }
void ApiServer::Drain(std::chrono::milliseconds deadline) { impl_->Drain(deadline); }
void ApiServer::Stop() { impl_->Stop(); }

}  // namespace herald::api
