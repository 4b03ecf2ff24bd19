#include "api/api_context.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <thread>

#include "common/hash.hpp"

namespace herald::api {
namespace {

// Revoking a key takes effect within this long in a running server.

std::string ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

// RESTinio's pattern in OpenAPI's form: each ":name" or ":name(regex)" becomes "{name}".
std::string OpenApiPath(const std::string& pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern[i] != ':') {
      out += pattern[i++];
      continue;
    }
    const auto name_end = pattern.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", i + 1);
    out += "{" + pattern.substr(i + 1, name_end - i - 1) + "}";
    i = name_end;
    if (i < pattern.size() && pattern[i] == '(') {  // skip the regex, escapes and nested groups included
      int depth = 0;
      for (; i < pattern.size(); ++i) {
        if (pattern[i] == '\\') {
          ++i;
        } else if (pattern[i] == '(') {
          ++depth;
        } else if (pattern[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace

ApiContext::ApiContext(store::KeyStore& keys, store::MessageStore& messages, const Clock& clock, RateLimitSettings limits,
                       int read_threads, RequestObserver on_request, RequestLimiter* shared_limiter,
                       store::MessageStore* message_reads)
    : key_store_(keys),
      message_store_(messages),
      message_reads_(message_reads != nullptr ? *message_reads : messages),
      clock_(clock),
      limits_(limits),
      on_request_(std::move(on_request)),
      own_limiter_(clock),
      limiter_(shared_limiter != nullptr ? *shared_limiter : own_limiter_),
      read_pool_(static_cast<std::size_t>(read_threads)) {}

ApiContext::~ApiContext() { JoinReadPool(); }

void ApiContext::JoinReadPool() {
  std::call_once(read_pool_joined_, [this] {
    bulk_pool_.join();
    read_pool_.join();
  });
}

void ApiContext::Respond(const Request& req, const std::string& route, int status, const std::string& body,
                         const Caller* caller, const Headers& headers, const char* content_type) {
  auto response = req->create_response(restinio::http_status_line_t{
      restinio::http_status_code_t{static_cast<std::uint16_t>(status)}, ReasonPhrase(status)});
  response.append_header(restinio::http_field::content_type, content_type);
  if (caller != nullptr && !caller->unlimited) {
    response.append_header("RateLimit-Limit", std::to_string(caller->limit.limit));
    response.append_header("RateLimit-Remaining", std::to_string(caller->limit.remaining));
    response.append_header("RateLimit-Reset", std::to_string(caller->limit.reset.count()));
  }
  for (const auto& [name, value] : headers) response.append_header(name, value);
  response.set_body(body);
  response.done();
  if (on_request_) on_request_(req->header().method().c_str(), route, status);
  --in_flight_;
}

void ApiContext::RespondError(const Request& req, const std::string& route, const ApiError& error,
                              const Caller* caller, const Headers& headers) {
  Respond(req, route, error.status, error.Body(), caller, headers);
}

void ApiContext::RespondInternal(const Request& req, const std::string& route, const std::exception& e,
                                 const Caller* caller) {
  spdlog::error("request failed route={} error={}", route, e.what());
  RespondError(req, route, {500, "INTERNAL", "the request could not be completed; see the server log"}, caller);
}

bool ApiContext::Admit(const Request& req, const std::string& route) {
  ++in_flight_;
  if (!draining_) return true;
  RespondError(req, route, {503, "SHUTTING_DOWN", "the server is shutting down; retry shortly"}, nullptr,
               {{"Retry-After", "5"}});
  return false;
}

void ApiContext::Drain(std::chrono::milliseconds deadline) {
  draining_ = true;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void ApiContext::RecordRoute(const restinio::http_method_id_t& method, const std::string& pattern,
                             const std::string& route) {
  if (OpenApiPath(pattern) != route) {
    throw std::logic_error("route " + route + " does not name its pattern " + pattern + " (expected " +
                           OpenApiPath(pattern) + ")");
  }
  RouteInfo info{method.c_str(), route};
  if (std::find(routes_.begin(), routes_.end(), info) != routes_.end()) {
    throw std::logic_error(info.method + " " + route + " is registered twice; only the first would ever answer");
  }
  routes_.push_back(std::move(info));
}

std::optional<store::ApiKeyRecord> ApiContext::LookupKey(const std::string& key) {
  const auto hash = Sha256Hex(key);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(keys_mutex_);
    if (const auto it = keys_.find(hash); it != keys_.end() && it->second.expires > now) return it->second.key;
  }
  auto found = key_store_.FindActiveKey(hash);
  std::lock_guard lock(keys_mutex_);
  if (found && revoked_ids_.count(found->id) > 0) found.reset();
  if (keys_.size() > 100000) keys_.clear();  // bounded: a flood of wrong keys must not grow it forever
  keys_[hash] = {found, now + kKeyCacheTtl};
  return found;
}

void ApiContext::ForgetKey(std::int64_t id) {
  std::lock_guard lock(keys_mutex_);
  revoked_ids_.insert(id);
  std::erase_if(keys_, [id](const auto& entry) { return entry.second.key && entry.second.key->id == id; });
}

// The store's CHECK constraint admits only the three tiers.
int ApiContext::TierLimit(const std::string& tier) const {
  if (tier == "premium") return limits_.premium_per_minute;
  if (tier == "basic") return limits_.basic_per_minute;
  return limits_.free_per_minute;
}

std::optional<Caller> ApiContext::Authenticate(const Request& req, const std::string& route) {
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

bool IsJsonMediaType(std::string_view content_type) {
  auto type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  std::string lower(type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" || (lower.starts_with("application/") && lower.ends_with("+json"));
}

bool ApiContext::BodyAdmissible(const Request& req, const std::string& route, const Caller* caller,
                                std::size_t limit) {
  if (req->body().size() > limit) {
    RespondError(req, route, {413, "PAYLOAD_TOO_LARGE", "the body is larger than " + std::to_string(limit) + " bytes"},
                 caller);
    return false;
  }
  // A body declared as something else is not guessed at; one declared as nothing is read as JSON.
  if (const auto declared = req->header().opt_value_of(restinio::http_field::content_type);
      declared && !req->body().empty() && !IsJsonMediaType(*declared)) {
    RespondError(req, route,
                 {415, "UNSUPPORTED_MEDIA_TYPE",
                  "Content-Type: the body must be JSON (application/json), not \"" + std::string(*declared) + "\""},
                 caller);
    return false;
  }
  return true;
}

std::optional<nlohmann::json> ApiContext::ParseBody(const Request& req, const std::string& route,
                                                    const Caller* caller, std::size_t limit) {
  if (!BodyAdmissible(req, route, caller, limit)) return std::nullopt;
  auto parsed = ParseJson(req->body());
  if (auto* error = std::get_if<ApiError>(&parsed)) {
    RespondError(req, route, *error, caller);
    return std::nullopt;
  }
  return std::move(std::get<nlohmann::json>(parsed));
}

std::optional<std::size_t> NestedTooDeep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

std::variant<nlohmann::json, ApiError> ParseJson(std::string_view body) {
  // JSON in UTF-16 or UTF-32 starts with a byte order mark or, its first
  // character being ASCII, has a NUL among its first two bytes.
  if (body.starts_with("\xff\xfe") || body.starts_with("\xfe\xff") ||
      (body.size() >= 2 && (body[0] == '\0' || body[1] == '\0'))) {
    return ApiError::BadRequest("INVALID_JSON", "the body is UTF-16 or UTF-32; send it as UTF-8");
  }
  if (const auto at = NestedTooDeep(body, kMaxJsonDepth)) {
    return ApiError::BadRequest("INVALID_JSON", "the body nests arrays and objects deeper than " +
                                                    std::to_string(kMaxJsonDepth) + " levels (at byte " +
                                                    std::to_string(*at + 1) + ")");
  }
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    // The library's text starts with its own tag and may end by quoting the
    // bytes it read last, which need not be UTF-8; keep the reason only.
    std::string reason = e.what();
    if (const auto tag_end = reason.find("] "); reason.starts_with("[json.exception.") && tag_end != std::string::npos) {
      reason.erase(0, tag_end + 2);
    }
    if (const auto quoted = reason.find("; last read: "); quoted != std::string::npos) reason.erase(quoted);
    return ApiError::BadRequest("INVALID_JSON", "the body is not valid JSON: " + reason);
  }
}

std::optional<std::int64_t> IdParam(const RouteParams& params) {
  const auto text = params["id"];
  std::int64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return id;
}

std::variant<restinio::query_string_params_t, ApiError> ParseQuery(const Request& req) {
  try {
    return restinio::parse_query(req->header().query());
  } catch (const std::exception& e) {
    return ApiError::BadRequest("INVALID_QUERY", "the query string cannot be decoded: " + std::string(e.what()));
  }
}

std::variant<std::int64_t, ApiError> QueryNumber(const restinio::query_string_params_t& query, const char* name,
                                                 std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const auto value = query.get_param(name);
  if (!value) return fallback;
  const std::string text(*value);
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || n < min || n > max) {
    return ApiError::BadRequest("INVALID_QUERY", std::string(name) + ": must be a whole number from " +
                                                     std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<std::int64_t>(n);
}

}  // namespace herald::api
