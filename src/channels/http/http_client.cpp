#include "channels/http/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace herald::channels::http {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Never paired with curl_global_cleanup: clients live until exit, and a
    // cleanup while another thread is inside libcurl is undefined behaviour.
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

size_t CollectBody(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  const size_t bytes = size * count;
  const size_t room = kMaxResponseBytes - response->body.size();
  if (bytes > room) response->truncated = true;
  response->body.append(data, std::min(bytes, room));
  return bytes;  // keep reading (and discarding) so the connection stays reusable
}

size_t CollectHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  const size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();  // a new status line (after 100 Continue, say)
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || response->headers.size() >= 100) return bytes;
  std::string name(line.substr(0, colon));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  response->headers.emplace_back(std::move(name), std::string(value.substr(0, 1024)));
  return bytes;
}

}  // namespace

// One request while curl works on it: owns every buffer curl points into.
struct Transfer {
  HttpRequest request;
  std::unique_ptr<curl_slist, HeaderListDeleter> headers;
  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {};
  CURL* easy = nullptr;
  std::size_t body_sent = 0;     // bytes of request.body handed to curl
  bool resend_refused = false;   // curl wanted to send the body a second time
};

namespace {

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const auto& body = transfer->request.body;
  const size_t bytes = std::min(size * count, body.size() - transfer->body_sent);
  std::memcpy(buffer, body.data() + transfer->body_sent, bytes);
  transfer->body_sent += bytes;
  return bytes;
}

// libcurl sends a request again, on a fresh connection, when a reused one
// closes without a byte of answer. Whether the provider acted on the first copy
// cannot be known, so a body that has left once is never sent twice: the
// transfer fails and the caller reports it unknown. A connection that idled
// out at the server (the harmless case) is mostly avoided by kMaxIdleReuse.
int RewindBody(void* user, curl_off_t offset, int origin) {
  auto* transfer = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset != 0) return CURL_SEEKFUNC_CANTSEEK;
  if (transfer->body_sent > 0) {
    transfer->resend_refused = true;
    return CURL_SEEKFUNC_FAIL;
  }
  return CURL_SEEKFUNC_OK;
}

// Connections idle longer than this are not reused: servers close idle
// keep-alive connections after 5 s (Node) to 75 s (nginx), and a request sent
// on one they are closing has an answer nobody can know.
constexpr long kMaxIdleReuseSeconds = 2;

}  // namespace

struct HttpClient::Impl {
  explicit Impl(int max_per_host) {
    InitCurlOnce();
    multi = curl_multi_init();
    if (multi == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(std::max(1, max_per_host)));
    thread = std::thread([this] { Run(); });
  }

  ~Impl() {
    stopping = true;
    curl_multi_wakeup(multi);
    thread.join();
    for (auto* easy : idle) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);
  }

  CURL* Handle() {
    if (!idle.empty()) {
      CURL* easy = idle.back();
      idle.pop_back();
      return easy;
    }
    return curl_easy_init();
  }

  void Start(std::unique_ptr<Transfer> transfer, std::unique_ptr<Done> done) {
    CURL* curl = Handle();
    if (curl == nullptr) {
      transfer->response.transfer_code = CURLE_OUT_OF_MEMORY;
      transfer->response.error = "curl_easy_init failed";
      done->Finish(std::move(transfer->response));
      return;
    }
    auto& request = transfer->request;
    curl_slist* list = nullptr;
    for (const auto& header : request.headers) {
      curl_slist* grown = curl_slist_append(list, header.c_str());
      if (grown == nullptr) break;
      list = grown;
    }
    // Without this, curl waits for "100 Continue" before bodies over 1 KB.
    if (curl_slist* grown = curl_slist_append(list, "Expect:")) list = grown;
    transfer->headers.reset(list);
    // CURLOPT_VERBOSE stays off: it would print credentials in headers.
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method != "GET") {
      // Read through a callback, not CURLOPT_POSTFIELDS, so a resend can be refused (RewindBody).
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadBody);
      curl_easy_setopt(curl, CURLOPT_READDATA, transfer.get());
      curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, &RewindBody);
      curl_easy_setopt(curl, CURLOPT_SEEKDATA, transfer.get());
    }
    curl_easy_setopt(curl, CURLOPT_MAXAGE_CONN, kMaxIdleReuseSeconds);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, transfer->headers.get());
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "herald/1");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CollectBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer->response);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CollectHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer->response);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, transfer->error);
    transfer->easy = curl;
    curl_multi_add_handle(multi, curl);
    running.emplace(curl, std::make_pair(std::move(transfer), std::move(done)));
  }

  void Finish(CURL* curl, CURLcode code) {
    auto it = running.find(curl);
    if (it == running.end()) return;
    auto transfer = std::move(it->second.first);
    auto done = std::move(it->second.second);
    running.erase(it);
    auto& response = transfer->response;
    response.transfer_code = code;
    response.error = transfer->error[0] != '\0' ? transfer->error : curl_easy_strerror(code);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    curl_off_t retry_after = 0;
    curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after);
    response.retry_after_s = retry_after;
    curl_off_t uploaded = 0;
    curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &uploaded);
    response.uploaded = uploaded;
    response.resolved_and_connected = code != CURLE_COULDNT_RESOLVE_HOST && code != CURLE_COULDNT_RESOLVE_PROXY &&
                                      code != CURLE_COULDNT_CONNECT;
    if (transfer->resend_refused) {
      response.uploaded = static_cast<std::int64_t>(transfer->body_sent);
      response.resolved_and_connected = true;
      response.error = "the connection closed with no answer after the request had been sent";
    }
    curl_multi_remove_handle(multi, curl);
    // Drops every option, so no pointer into the finished transfer survives;
    // live connections stay in the multi handle's cache.
    curl_easy_reset(curl);
    if (idle.size() < 64) {
      idle.push_back(curl);
    } else {
      curl_easy_cleanup(curl);
    }
    done->Finish(std::move(response));
  }

  void Run() {
    while (true) {
      std::vector<std::pair<std::unique_ptr<Transfer>, std::unique_ptr<Done>>> incoming;
      {
        std::lock_guard lock(mutex);
        incoming.swap(pending);
      }
      for (auto& [transfer, done] : incoming) Start(std::move(transfer), std::move(done));
      if (stopping && running.empty()) {
        std::lock_guard lock(mutex);
        if (pending.empty()) return;
        continue;
      }
      int still_running = 0;
      curl_multi_perform(multi, &still_running);
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
        if (message->msg == CURLMSG_DONE) Finish(message->easy_handle, message->data.result);
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }

  CURLM* multi = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::vector<std::pair<std::unique_ptr<Transfer>, std::unique_ptr<Done>>> pending;  // under mutex
  // Only the client's thread touches these.
  std::map<CURL*, std::pair<std::unique_ptr<Transfer>, std::unique_ptr<Done>>> running;
  std::vector<CURL*> idle;
};

HttpClient::HttpClient(int max_per_host) : impl_(std::make_unique<Impl>(max_per_host)) {}

HttpClient::~HttpClient() = default;

void HttpClient::Submit(HttpRequest request, std::unique_ptr<Done> done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  {
    std::lock_guard lock(impl_->mutex);
    impl_->pending.emplace_back(std::move(transfer), std::move(done));
  }
  curl_multi_wakeup(impl_->multi);
}

}  // namespace herald::channels::http
