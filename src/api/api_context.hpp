// What every group of routes shares: RESTinio types, the authenticated caller,
// and ApiContext's plumbing (one error shape, auth and rate limits, in-flight
// counting for graceful shutdown, moving blocking work off the I/O threads).
// Route groups (message_routes.cpp, ...) register their handlers through it.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp needs it under g++ 12

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>
#include <restinio/all.hpp>

#include <atomic>
#include <chrono>
#include <compare>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/api_error.hpp"
#include "api/rate_limiter.hpp"
#include "common/clock.hpp"
#include "store/key_store.hpp"
#include "store/message_store.hpp"

namespace herald::api {

using Router = restinio::router::express_router_t<>;
using Request = restinio::request_handle_t;
using RouteParams = restinio::router::route_params_t;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Caller {
  store::ApiKeyRecord key;
  Decision limit;
  bool unlimited = false;  // no RateLimit-* headers
  bool IsAdmin() const { return key.role == "admin"; }
  // Users see their own rows; admins see everyone's.
  bool MaySee(std::int64_t owner_id) const { return IsAdmin() || owner_id == key.id; }
};

// One operation the server answers, named as in the OpenAPI document
// (src/api/openapi.json): GET /api/v1/messages/{id}.
struct RouteInfo {
  std::string method;
  std::string path;
  auto operator<=>(const RouteInfo&) const = default;
};

struct RateLimitSettings {
  // Requests per minute per key by tier; 0: unlimited.
  int free_per_minute = 60;
  int basic_per_minute = 300;
  int premium_per_minute = 1000;
};

// How long a looked-up API key is trusted before the store is asked again: a
// key revoked through one process is refused by every other within this.
inline constexpr std::chrono::seconds kKeyCacheTtl{1};

// Arrays and objects nest at most this deep in a request body: deeper is refused
// before parsing, so no body costs more than its size to look at.
inline constexpr int kMaxJsonDepth = 64;

// The byte at which `text` opens its (max_depth + 1)-th nested array or object, if it does.
std::optional<std::size_t> NestedTooDeep(std::string_view text, int max_depth);

// A request body parsed, or INVALID_JSON naming why (too deep, not JSON, not
// UTF-8, a number beyond double); never an exception.
std::variant<nlohmann::json, ApiError> ParseJson(std::string_view body);

class ApiContext {
 public:
  using RequestObserver = std::function<void(const std::string& method, const std::string& route, int status)>;

  // `shared_limiter` (which outlives the context) counts requests for every
  // process of a deployment; nullptr: this process counts on its own.
  // `message_reads`: where GET /api/v1/messages and its details read (a read
  // replica); nullptr: `messages`.
  ApiContext(store::KeyStore& keys, store::MessageStore& messages, const Clock& clock, RateLimitSettings limits, int read_threads,
             RequestObserver on_request, RequestLimiter* shared_limiter = nullptr,
             store::MessageStore* message_reads = nullptr);
  ~ApiContext();

  store::KeyStore& keys() { return key_store_; }
  store::MessageStore& messages() { return message_store_; }
  // For GET lists and details only: may be a moment behind messages().
  store::MessageStore& message_reads() { return message_reads_; }
  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  // Every request is answered exactly once through one of these.
  void Respond(const Request& req, const std::string& route, int status, const std::string& body,
               const Caller* caller = nullptr, const Headers& headers = {},
               const char* content_type = "application/json");
  void RespondJson(const Request& req, const std::string& route, int status, const nlohmann::json& body,
                   const Caller* caller) {
    Respond(req, route, status, JsonText(body), caller);
  }
  void RespondError(const Request& req, const std::string& route, const ApiError& error,
                    const Caller* caller = nullptr, const Headers& headers = {});
  void RespondInternal(const Request& req, const std::string& route, const std::exception& e, const Caller* caller);

  // Serves `method` on the RESTinio `pattern` ("/api/v1/messages/:id(\\d+)")
  // through Endpoint, and records it for Routes() under `route`, the same path
  // in OpenAPI form ("/api/v1/messages/{id}") that metrics label answers with.
  // Every route is registered here, so the route list the tests compare with
  // the OpenAPI document is complete. Throws std::logic_error when `route` is
  // not `pattern` in OpenAPI form or the operation is already registered.
  template <typename Handler>
  void AddRoute(Router& router, const restinio::http_method_id_t& method, const std::string& pattern,
                std::string route, bool authenticated, Handler handler) {
    RecordRoute(method, pattern, route);
    router.add_handler(method, pattern, Endpoint(std::move(route), authenticated, std::move(handler)));
  }
  // The operations registered so far, in registration order.
  const std::vector<RouteInfo>& Routes() const { return routes_; }

  // Runs blocking store work on the read pool, off the I/O threads; the work
  // gets the caller (or nullptr) and must answer the request.
  template <typename Work>
  void Offload(const Request& req, const std::string& route, const Caller* caller, Work work) {
    std::optional<Caller> copy;
    if (caller != nullptr) copy = *caller;
    boost::asio::post(read_pool_, [this, req, route, copy = std::move(copy), work = std::move(work)]() mutable {
      const Caller* c = copy ? &*copy : nullptr;
      try {
        work(c);
      } catch (const std::exception& e) {
        RespondInternal(req, route, e, c);
      }
    });
  }

  // The parsed JSON body, or nullopt after answering 413, 415 or 400. For
  // routes whose bodies stay small (their `limit` is at most a megabyte).
  std::optional<nlohmann::json> ParseBody(const Request& req, const std::string& route, const Caller* caller,
                                          std::size_t limit);

  // For routes that take large bodies (bulk): parses the body, then calls
  // `then(json, caller)`. A body over kInlineParseBytes is parsed, and `then`
  // run, on the bulk pool, so a big or hostile body never holds an I/O thread
  // (and /health) while it is read. Answers 413, 415 or 400 instead when due.
  template <typename Then>
  void WithJsonBody(const Request& req, const std::string& route, const Caller* caller, std::size_t limit, Then then) {
    if (!BodyAdmissible(req, route, caller, limit)) return;
    if (req->body().size() <= kInlineParseBytes) {
      auto parsed = ParseJson(req->body());
      if (auto* error = std::get_if<ApiError>(&parsed)) return RespondError(req, route, *error, caller);
      return then(std::move(std::get<nlohmann::json>(parsed)), caller);
    }
    // Each waiting body is held in memory: past a few, ask the client to come back.
    if (bulk_waiting_.fetch_add(1) >= kMaxWaitingBulkBodies) {
      --bulk_waiting_;
      return RespondError(req, route,
                          {503, "SERVER_BUSY",
                           "the server is reading " + std::to_string(kMaxWaitingBulkBodies) +
                               " large bodies already; retry shortly"},
                          caller, {{"Retry-After", "1"}});
    }
    std::optional<Caller> copy;
    if (caller != nullptr) copy = *caller;
    boost::asio::post(bulk_pool_, [this, req, route, copy = std::move(copy), then = std::move(then)]() mutable {
      --bulk_waiting_;
      const Caller* c = copy ? &*copy : nullptr;
      try {
        auto parsed = ParseJson(req->body());
        if (auto* error = std::get_if<ApiError>(&parsed)) return RespondError(req, route, *error, c);
        then(std::move(std::get<nlohmann::json>(parsed)), c);
      } catch (const std::exception& e) {
        RespondInternal(req, route, e, c);
      }
    });
  }
  // Bodies up to this size are parsed where they arrive (well under a millisecond).
  static constexpr std::size_t kInlineParseBytes = 64 << 10;
  // Large bodies waiting for the bulk pool at most; more are answered 503.
  static constexpr int kMaxWaitingBulkBodies = 8;

  // Drops a revoked key from the cache, so it is refused at once here (other
  // processes on the same store refuse it once their cache entry expires,
  // within kKeyCacheTtl).
  void ForgetKey(std::int64_t id);

  // For unmatched routes and other answers given outside Endpoint.
  bool Admit(const Request& req, const std::string& route);
  // Stops admitting; waits up to `deadline` for admitted requests to be answered.
  void Drain(std::chrono::milliseconds deadline);
  // Waits for the read pool's queued work to finish; call before the route
  // groups whose work it runs are destroyed. Idempotent.
  void JoinReadPool();

 private:
  // Wraps a handler (private: routes are registered through AddRoute, so none
  // escapes Routes()): counts it in flight, refuses while draining, authenticates
  // when asked, and turns an escaped exception into a 500. The handler gets
  // (req, params, caller or nullptr, route) and must answer, now or later.
  template <typename Handler>
  auto Endpoint(std::string route, bool authenticated, Handler handler) {
    return [this, route = std::move(route), authenticated, handler = std::move(handler)](const Request& req,
                                                                                          RouteParams params) {
      if (!Admit(req, route)) return restinio::request_accepted();
      std::optional<Caller> caller;
      try {
        // Inside: a store error while looking the key up is this request's 500.
        if (authenticated) {
          caller = Authenticate(req, route);
          if (!caller) return restinio::request_accepted();
        }
        handler(req, params, caller ? &*caller : nullptr, route);
      } catch (const std::exception& e) {
        RespondInternal(req, route, e, caller ? &*caller : nullptr);
      }
      return restinio::request_accepted();
    };
  }

  // The size and declared type of the body allow reading it; else answered 413 or 415.
  bool BodyAdmissible(const Request& req, const std::string& route, const Caller* caller, std::size_t limit);
  std::optional<store::ApiKeyRecord> LookupKey(const std::string& key);
  std::optional<Caller> Authenticate(const Request& req, const std::string& route);
  int TierLimit(const std::string& tier) const;
  void RecordRoute(const restinio::http_method_id_t& method, const std::string& pattern, const std::string& route);

  store::KeyStore& key_store_;
  store::MessageStore& message_store_;
  store::MessageStore& message_reads_;
  const Clock& clock_;
  const RateLimitSettings limits_;
  RequestObserver on_request_;
  RateLimiter own_limiter_;
  RequestLimiter& limiter_;  // own_limiter_, or the shared one
  boost::asio::thread_pool read_pool_;
  // One thread: large bodies are parsed one at a time, beside the I/O and read threads.
  boost::asio::thread_pool bulk_pool_{1};
  std::atomic<int> bulk_waiting_{0};
  std::once_flag read_pool_joined_;
  std::atomic<int> in_flight_{0};
  std::atomic<bool> draining_{false};
  struct CachedKey {
    std::optional<store::ApiKeyRecord> key;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex keys_mutex_;
  std::unordered_map<std::string, CachedKey> keys_;
  // Keys revoked here: a lookup that read the store just before the revocation
  // must not put the key back into the cache.
  std::unordered_set<std::int64_t> revoked_ids_;
  std::vector<RouteInfo> routes_;  // written while the router is built, before serving
};

// "application/json", "application/problem+json", with any parameters (charset).
bool IsJsonMediaType(std::string_view content_type);

// The {id} of a ":id(\\d+)" pattern; nullopt for digits beyond INT64_MAX,
// which name nothing the store can hold (routes answer their 404).
std::optional<std::int64_t> IdParam(const RouteParams& params);

// The request's query string, decoded; INVALID_QUERY when it cannot be (a
// broken %-escape, or bytes that are not UTF-8), never an exception.
std::variant<restinio::query_string_params_t, ApiError> ParseQuery(const Request& req);

// Query parameter helpers shared by list endpoints: a missing value gives the
// fallback, a malformed or out-of-range one an INVALID_QUERY error naming it.
std::variant<std::int64_t, ApiError> QueryNumber(const restinio::query_string_params_t& query, const char* name,
                                                 std::int64_t fallback, std::int64_t min, std::int64_t max);

}  // namespace herald::api
