// A blocking HTTP/1.1 client for tests of `herald serve` (libcurl underneath):
// one call, one request, with a deadline; response headers are kept so tests
// can check RateLimit-* and Retry-After.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace herald::testing {

struct HttpResponse {
  int status = 0;  // 0: no answer (connection refused, timeout)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_case_name) const {
    const auto it = headers.find(lower_case_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

HttpResponse HttpRequest(const std::string& method, const std::string& url,
                         const std::map<std::string, std::string>& headers = {}, const std::string& body = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// An application/x-www-form-urlencoded body (every byte but letters, digits,
// '-', '_' and '.' %-escaped), as providers post their callbacks.
std::string FormUrlEncoded(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace herald::testing
