#include "channels/http/http_outcome.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <stdexcept>

#include "common/text.hpp"
#include "mime/transfer_encoding.hpp"

namespace herald::channels::http {
namespace {

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

std::string UrlPart(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK || value == nullptr) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

void AppendFormComponent(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

}  // namespace

HttpUrlParts SplitHttpUrl(const std::string& text, const std::string& setting) {
  std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url) throw std::bad_alloc();
  if (const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK) {
    throw std::invalid_argument(setting + " is malformed: " + curl_url_strerror(rc));
  }
  HttpUrlParts parts{.scheme = UrlPart(url.get(), CURLUPART_SCHEME),
                     .host = UrlPart(url.get(), CURLUPART_HOST),
                     .port = UrlPart(url.get(), CURLUPART_PORT),
                     .path = UrlPart(url.get(), CURLUPART_PATH)};
  if (parts.scheme != "http" && parts.scheme != "https") {
    throw std::invalid_argument(setting + " must start with http:// or https://, not " + parts.scheme + "://");
  }
  if (parts.host.empty()) throw std::invalid_argument(setting + " has no host");
  return parts;
}

std::string DescribeHttpUrl(const std::string& text, const std::string& setting) {
  const auto parts = SplitHttpUrl(text, setting);
  return parts.scheme + "://" + parts.host + (parts.port.empty() ? "" : ":" + parts.port) + parts.path;
}

bool HasControlCharacter(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::string Excerpt(std::string_view text, std::size_t max_chars) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const std::size_t length = text::DecodeUtf8(text, i).length;
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

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    AppendFormComponent(out, name);
    out += '=';
    AppendFormComponent(out, value);
  }
  return out;
}

namespace {

// A quoted-string parameter value: the quote and backslash escaped, line breaks
// (which would end the part's header) dropped.
std::string QuotedParameter(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool AppearsIn(const std::string& boundary, const std::vector<std::pair<std::string, std::string>>& fields,
               const std::vector<FormFile>& files) {
  for (const auto& [name, value] : fields) {
    if (value.find(boundary) != std::string::npos) return true;
  }
  for (const auto& file : files) {
    if (file.data && file.data->find(boundary) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

MultipartForm MultipartFormData(const std::vector<std::pair<std::string, std::string>>& fields,
                                const std::vector<FormFile>& files) {
  // A boundary no part contains (RFC 2046 5.1.1), found by counting up.
  std::string boundary;
  for (unsigned attempt = 0;; ++attempt) {
    boundary = "herald-form-boundary-" + std::to_string(attempt);
    if (!AppearsIn(boundary, fields, files)) break;
  }
  MultipartForm form{.content_type = "multipart/form-data; boundary=" + boundary, .body = {}};
  auto& body = form.body;
  for (const auto& [name, value] : fields) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=" + QuotedParameter(name) + "\r\n\r\n";
    body += value;
    body += "\r\n";
  }
  for (const auto& file : files) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=" + QuotedParameter(file.field) +
            "; filename=" + QuotedParameter(file.filename) + "\r\nContent-Type: " +
            (file.content_type.empty() || HasControlCharacter(file.content_type) ? "application/octet-stream"
                                                                                  : file.content_type) +
            "\r\n\r\n";
    if (file.data) body += *file.data;
    body += "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return form;
}

std::string BasicAuthorization(std::string_view user, std::string_view password) {
  std::string credentials(user);
  credentials += ':';
  credentials += password;
  std::string line = "Authorization: Basic ";
  mime::AppendBase64(line, credentials);
  return line;
}

std::optional<std::chrono::milliseconds> TimeLeft(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return std::nullopt;
  return left;
}

domain::DeliveryOutcome NoAnswerOutcome(const HttpResponse& response, std::int64_t request_bytes,
                                        const std::string& description) {
  // Whether the provider may hold the message depends on whether the whole
  // request left us: a partial body cannot be acted on.
  if (response.resolved_and_connected && response.uploaded >= request_bytes) {
    return domain::DeliveryOutcome::Unknown("no answer from " + description + " after the request was sent (" +
                                            response.error + "); the provider may have it");
  }
  return domain::DeliveryOutcome::Transient("request to " + description + " not sent: " + response.error);
}

}  // namespace herald::channels::http
