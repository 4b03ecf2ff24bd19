// What every HTTP provider adapter (webhook, Twilio, Telegram, …) shares: checked
// base URLs that describe themselves without credentials, request encodings,
// tidy excerpts of a provider's answer for reports, and the rule for a request
// that got no answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/http/http_client.hpp"
#include "domain/delivery_outcome.hpp"

namespace herald::channels::http {

struct HttpUrlParts {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;  // empty unless the URL gives one
  std::string path;  // "/" at least
};

// Checks an http:// or https:// URL and splits it; throws as DescribeHttpUrl does.
HttpUrlParts SplitHttpUrl(const std::string& url, const std::string& setting);

// Checks an http:// or https:// URL and returns "scheme://host[:port]/path":
// never its user info or query, since either may carry a credential (nor does an
// error quote the URL). `setting` names it in errors ("webhook url",
// "twilio.base_url"). Throws std::invalid_argument.
std::string DescribeHttpUrl(const std::string& url, const std::string& setting);

bool HasControlCharacter(std::string_view text);

// A short, single-line excerpt of a provider's answer for reports, kept valid
// UTF-8: the detail ends up in JSON, and a provider answering in another
// charset must not make that serialisation throw.
std::string Excerpt(std::string_view text, std::size_t max_chars = 200);

// application/x-www-form-urlencoded, in the order given.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

// multipart/form-data (RFC 7578): text fields, then files, in the order given.
struct FormFile {
  std::string field;         // e.g. "document"
  std::string filename;      // UTF-8; quotes, backslashes and line breaks escaped or dropped
  std::string content_type;  // empty: application/octet-stream
  const std::string* data = nullptr;  // not owned
};
struct MultipartForm {
  std::string content_type;  // "multipart/form-data; boundary=…", for the Content-Type header
  std::string body;
};
MultipartForm MultipartFormData(const std::vector<std::pair<std::string, std::string>>& fields,
                                const std::vector<FormFile>& files);

// The whole header line "Authorization: Basic …" (RFC 7617).
std::string BasicAuthorization(std::string_view user, std::string_view password);

// Time left before `deadline`, or nothing when it has passed.
std::optional<std::chrono::milliseconds> TimeLeft(std::chrono::steady_clock::time_point deadline);

// The outcome of a request that got no status line: unknown when the whole
// request left us (the provider may have acted on it), transient otherwise.
domain::DeliveryOutcome NoAnswerOutcome(const HttpResponse& response, std::int64_t request_bytes,
                                        const std::string& description);

}  // namespace herald::channels::http
