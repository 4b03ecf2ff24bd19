#include "channels/webhook/webhook_channel.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace herald::channels::webhook {

using domain::DeliveryOutcome;
using domain::OutcomeKind;

namespace {

// Idle handles kept for reuse; each keeps its connection alive, so this bounds the
// idle connections held open to the provider. Busy handles are not capped here:
// the dispatcher's worker count already bounds concurrency.
constexpr std::size_t kMaxIdleHandles = 16;
// Providers answer with a few hundred bytes; more than this is not worth holding.
constexpr std::size_t kMaxResponseBytes = 64 * 1024;
constexpr std::size_t kMaxDetailChars = 200;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Never paired with curl_global_cleanup: channels live until exit, and a
    // cleanup while another thread is inside libcurl is undefined behaviour.
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

std::string UrlPart(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK || value == nullptr) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

// Validates the URL and returns its description. The URL itself never appears in
// the error: its user info or query may hold a credential.
std::string DescribeUrl(const std::string& text) {
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url) throw std::bad_alloc();
  if (const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK) {
    throw std::invalid_argument(std::string("webhook url is malformed: ") + curl_url_strerror(rc));
  }
  const std::string scheme = UrlPart(url.get(), CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") {
    throw std::invalid_argument("webhook url must start with http:// or https://, not " + scheme + "://");
  }
  const std::string host = UrlPart(url.get(), CURLUPART_HOST);
  if (host.empty()) throw std::invalid_argument("webhook url has no host");
  const std::string port = UrlPart(url.get(), CURLUPART_PORT);  // empty unless given explicitly
  return "webhook:" + scheme + "://" + host + (port.empty() ? "" : ":" + port) + UrlPart(url.get(), CURLUPART_PATH);
}

bool HasControlCharacter(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// The header value is secret, so errors name only the header name, if that.
void CheckAuthHeader(const std::string& header) {
  if (header.empty()) return;
  if (HasControlCharacter(header)) {
    throw std::invalid_argument("webhook auth_header must be a single line without control characters");
  }
  const auto colon = header.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw std::invalid_argument("webhook auth_header must look like \"Name: value\"");
  }
  for (std::size_t i = 0; i < colon; ++i) {
    const unsigned char c = static_cast<unsigned char>(header[i]);
    // RFC 9110 token characters.
    if (!std::isalnum(c) && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      throw std::invalid_argument("webhook auth_header name \"" + header.substr(0, colon) + "\" is not a valid header name");
    }
  }
  if (header.find_first_not_of(' ', colon + 1) == std::string::npos) {
    throw std::invalid_argument("webhook auth_header " + header.substr(0, colon) + " has an empty value");
  }
}

std::string RequestBody(const OutgoingMessage& message) {
  nlohmann::json body = {
      {"to", message.to}, {"content", message.body}, {"channel", message.channel}, {"message_id", message.message_id}};
  if (!message.subject.empty()) body["subject"] = message.subject;
  // Replace invalid UTF-8 rather than throw: one bad template must not stop a worker.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool Append(HeaderList& list, const std::string& header) {
  curl_slist* grown = curl_slist_append(list.get(), header.c_str());
  if (grown == nullptr) return false;
  list.release();  // NOLINT: ownership moves into `grown`, which starts with the old list
  list.reset(grown);
  return true;
}

struct Response {
  std::string body;
  bool truncated = false;
};

size_t CollectBody(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<Response*>(user);
  const size_t bytes = size * count;
  const size_t room = kMaxResponseBytes - response->body.size();
  if (bytes > room) response->truncated = true;
  response->body.append(data, std::min(bytes, room));
  return bytes;  // keep reading (and discarding) so the connection stays reusable
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not one.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// A short, single-line excerpt of the provider's answer for reports. Kept valid
// UTF-8, because the detail ends up in JSON (API responses, reports), and a
// provider answering in another charset must not make that serialisation throw.
std::string Excerpt(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (out.size() >= kMaxDetailChars) {
      out += "...";
      break;
    }
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      out += '?';
      ++i;
    } else if (length == 1) {
      out += HasControlCharacter(text.substr(i, 1)) ? ' ' : text[i];
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  const auto last = out.find_last_not_of(' ');
  out.erase(last == std::string::npos ? 0 : last + 1);
  return out;
}

std::string StatusDetail(long status, const Response& response, curl_off_t retry_after_s) {
  std::string detail = "HTTP " + std::to_string(status);
  if (retry_after_s > 0) detail += ", retry after " + std::to_string(retry_after_s) + " s";
  if (const auto excerpt = Excerpt(response.body); !excerpt.empty()) detail += ": " + excerpt;
  return detail;
}

std::string ProviderMessageId(const Response& response) {
  const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return {};
  const auto it = doc.find("messageId");
  if (it == doc.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return {};
}

DeliveryOutcome ClassifyStatus(long status, const Response& response, curl_off_t retry_after_s, CURLcode transfer,
                               const char* transfer_error) {
  if (status >= 200 && status < 300) {
    std::string id = ProviderMessageId(response);
    std::string detail = StatusDetail(status, response, 0);
    if (transfer != CURLE_OK) {
      detail += " (answer cut short: " + std::string(transfer_error) + ")";
    } else if (response.truncated) {
      detail += " (answer longer than " + std::to_string(kMaxResponseBytes) + " bytes)";
    }
    if (id.empty()) detail += "; accepted, but the answer has no messageId";
    auto outcome = DeliveryOutcome::Accepted(std::move(id), std::move(detail));
    outcome.code = static_cast<int>(status);
    return outcome;
  }
  const int code = static_cast<int>(status);
  if (status == 429) {
    return DeliveryOutcome{OutcomeKind::kThrottled, {}, StatusDetail(status, response, retry_after_s), code};
  }
  if (status == 408 || (status >= 500 && status < 600)) {
    return DeliveryOutcome::Transient(StatusDetail(status, response, retry_after_s), code);
  }
  if (status >= 300 && status < 400) {
    return DeliveryOutcome::Permanent(StatusDetail(status, response, 0) + " (redirects are not followed; fix the url)",
                                      code);
  }
  return DeliveryOutcome::Permanent(StatusDetail(status, response, 0), code);
}

}  // namespace

// Easy handles are reused so each keeps its connection to the provider alive;
// one handle serves one call at a time.
struct WebhookChannel::HandlePool {
  std::mutex mutex;
  std::vector<EasyHandle> idle;

  EasyHandle Acquire() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        EasyHandle handle = std::move(idle.back());
        idle.pop_back();
        return handle;
      }
    }
    return EasyHandle(curl_easy_init());
  }

  void Release(EasyHandle handle) {
    // Drops every option, so no pointer into the finished call's buffers survives;
    // live connections and the DNS cache are kept.
    curl_easy_reset(handle.get());
    std::lock_guard lock(mutex);
    if (idle.size() < kMaxIdleHandles) idle.push_back(std::move(handle));
  }

  // One handle for the length of one call, returned to the pool however the call ends.
  class Lease {
   public:
    explicit Lease(HandlePool& pool) : pool_(pool), handle_(pool.Acquire()) {}
    ~Lease() {
      if (handle_) pool_.Release(std::move(handle_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    CURL* get() const { return handle_.get(); }

   private:
    HandlePool& pool_;
    EasyHandle handle_;
  };
};

WebhookChannel::WebhookChannel(WebhookSettings settings)
    : settings_(std::move(settings)), pool_(std::make_unique<HandlePool>()) {
  InitCurlOnce();
  description_ = DescribeUrl(settings_.url);
  CheckAuthHeader(settings_.auth_header);
  if (settings_.connect_timeout.count() <= 0 || settings_.timeout.count() <= 0) {
    throw std::invalid_argument("webhook connect_timeout and timeout must be positive (" + description_ + ")");
  }
}

WebhookChannel::~WebhookChannel() = default;

DeliveryOutcome WebhookChannel::Send(const OutgoingMessage& message) {
  if (HasControlCharacter(message.message_id)) {
    return DeliveryOutcome::Permanent("message id contains control characters; it cannot be an Idempotency-Key");
  }
  const std::string body = RequestBody(message);
  HeaderList headers;
  bool headers_ok = Append(headers, "Content-Type: application/json") && Append(headers, "Accept: application/json") &&
                    // Without this, curl waits for "100 Continue" before bodies over 1 KB.
                    Append(headers, "Expect:");
  if (headers_ok && !message.message_id.empty()) headers_ok = Append(headers, "Idempotency-Key: " + message.message_id);
  if (headers_ok && !settings_.auth_header.empty()) headers_ok = Append(headers, settings_.auth_header);
  if (!headers_ok) return DeliveryOutcome::Transient("out of memory building the request headers");

  Response response;
  char error[CURL_ERROR_SIZE] = {};
  // Declared last so it is released (and the handle reset) before the buffers above go away.
  HandlePool::Lease lease(*pool_);
  CURL* const curl = lease.get();
  if (curl == nullptr) return DeliveryOutcome::Transient("curl_easy_init failed");

  // CURLOPT_VERBOSE stays off: it would print the auth header.
  curl_easy_setopt(curl, CURLOPT_URL, settings_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we run on many threads
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "herald-webhook/1");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);

  const CURLcode transfer = curl_easy_perform(curl);
  if (error[0] == '\0') snprintf(error, sizeof error, "%s", curl_easy_strerror(transfer));
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t retry_after_s = 0;
  curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after_s);
  curl_off_t uploaded = 0;
  curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &uploaded);

  if (status > 0) return ClassifyStatus(status, response, retry_after_s, transfer, error);
  // No status line. Whether the provider may hold the message depends on whether
  // the whole request left us: a partial body cannot be acted on.
  const bool request_sent = transfer != CURLE_COULDNT_RESOLVE_HOST && transfer != CURLE_COULDNT_RESOLVE_PROXY &&
                            transfer != CURLE_COULDNT_CONNECT && uploaded >= static_cast<curl_off_t>(body.size());
  if (request_sent) {
    return DeliveryOutcome::Unknown("no answer from " + description_ + " after the request was sent (" + error +
                                    "); the provider may have it");
  }
  return DeliveryOutcome::Transient("request to " + description_ + " not sent: " + error);
}

}  // namespace herald::channels::webhook
