// HttpClient: one libcurl multi handle on a thread of its own, shared by every
// HTTP channel (webhook today; SendGrid, SES, Twilio and Telegram next). A
// coroutine awaits Perform() and resumes on its own executor with the answer, so
// any number of requests are in flight without a thread each; connections to a
// host are kept alive and reused. Never throws for a failed request: the
// transfer code and what was uploaded tell the caller what may have arrived.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace herald::channels::http {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::string> headers;  // whole lines, "Name: value"
  std::string body;
  std::chrono::milliseconds connect_timeout{5000};  // DNS, TCP and TLS set-up
  std::chrono::milliseconds timeout{30000};         // the whole call, set-up included
};

struct HttpResponse {
  int transfer_code = 0;  // CURLcode; 0 when the exchange completed
  std::string error;      // libcurl's words for a transfer failure
  long status = 0;        // 0: no status line arrived
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;             // at most kMaxResponseBytes
  bool truncated = false;       // the body was longer
  std::int64_t retry_after_s = 0;
  std::int64_t uploaded = 0;    // request body bytes that left us
  bool resolved_and_connected = false;  // false: nothing can have reached the server
};

inline constexpr std::size_t kMaxResponseBytes = 64 * 1024;

class HttpClient {
 public:
  // max_per_host bounds the open connections to one host (others wait in curl's queue).
  explicit HttpClient(int max_per_host = 16);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  template <typename CompletionToken = boost::asio::use_awaitable_t<>>
  auto Perform(HttpRequest request, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(HttpResponse)>(
        [this](auto handler, HttpRequest r) {
          using Handler = decltype(handler);
          struct Completion final : Done {
            explicit Completion(Handler h) : handler(std::move(h)) {}
            void Finish(HttpResponse response) override {
              auto executor = boost::asio::get_associated_executor(handler);
              boost::asio::post(executor, [h = std::move(handler), r = std::move(response)]() mutable {
                h(std::move(r));
              });
            }
            Handler handler;
          };
          Submit(std::move(r), std::make_unique<Completion>(std::move(handler)));
        },
        token, std::move(request));
  }

 private:
  struct Done {
    virtual ~Done() = default;
    virtual void Finish(HttpResponse response) = 0;
  };
  struct Impl;
  void Submit(HttpRequest request, std::unique_ptr<Done> done);
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::channels::http
