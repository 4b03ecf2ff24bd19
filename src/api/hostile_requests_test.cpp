// What a hostile or broken client can send the API, and the bounded answer it
// gets: a 4xx in the error shape naming what is wrong, never a 500 or a closed
// connection, and never anything that breaks later answers for others. The
// routes come from the OpenAPI document, so a new route is covered as soon as
// it is documented.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "api/api_server_fixture.hpp"
#include "api/openapi_document.hpp"

namespace herald::api {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Operation {
  std::string method;  // upper case
  std::string path;    // as documented: /api/v1/messages/{id}
  bool json_body = false;
  bool query_parameters = false;
  // Authenticated by a provider's signature, checked before the body is read
  // (webhook_routes_test.cpp sends them hostile bodies).
  bool provider_signed = false;
};

std::string Upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

std::vector<Operation> DocumentedOperations() {
  const auto document = json::parse(OpenApiDocument());
  const auto resolve = [&](const json& object) -> const json& {
    if (!object.contains("$ref")) return object;
    return document.at(json::json_pointer(object["$ref"].get<std::string>().substr(1)));
  };
  std::vector<Operation> out;
  for (const auto& [path, item] : document.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      Operation op{Upper(method), path};
      op.provider_signed = path.rfind("/webhooks/", 0) == 0;
      if (operation.contains("requestBody")) op.json_body = resolve(operation["requestBody"])["content"].contains("application/json");
      for (const auto& parameter : operation.value("parameters", json::array())) {
        op.query_parameters = op.query_parameters || resolve(parameter)["in"] == "query";
      }
      out.push_back(std::move(op));
    }
  }
  return out;
}

std::string WithId(std::string path, const std::string& id) {
  if (const auto open = path.find("{id}"); open != std::string::npos) path.replace(open, 4, id);
  return path;
}

// The error shape, with the code expected; the message must say something.
void ExpectError(const testing::HttpResponse& response, int status, const std::string& code, const std::string& what) {
  EXPECT_EQ(response.status, status) << what << ": " << response.body;
  const auto body = json::parse(response.body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << what << ": " << response.body;
  EXPECT_EQ(body["error"].value("code", ""), code) << what << ": " << response.body;
  EXPECT_FALSE(body["error"].value("message", "").empty()) << what;
}

// Sends raw bytes and returns the status line of the answer ("" when the
// connection was closed without one).
std::string RawStatusLine(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "";
  }
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  // The server may answer (and stop reading) before all of a huge request is sent.
  std::thread sender([fd, &request] {
    for (std::size_t sent = 0; sent < request.size();) {
      const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  });
  std::string answer;
  char buffer[4096];
  while (answer.find("\r\n") == std::string::npos) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::shutdown(fd, SHUT_RDWR);
  sender.join();
  ::close(fd);
  return answer.substr(0, answer.find("\r\n"));
}

class HostileRequestsTest : public ApiServerFixture {
 protected:
  void SetUp() override {
    ApiServerFixture::SetUp();
    admin_ = IssueKey("admin");
    // One of each resource, so a route with {id} reaches its body or its work.
    ASSERT_EQ(Post("/api/v1/contacts", R"({"phone": "+15551230001", "first_name": "Ann"})").status, 201);
    ASSERT_EQ(Post("/api/v1/templates", R"({"name": "t", "text": "Hi {{first_name}}"})").status, 201);
    ASSERT_EQ(Post("/api/v1/campaigns", R"({"name": "c", "channel": "sms", "base_template": "Hi"})").status, 201);
    ASSERT_EQ(Post("/api/v1/messages", R"({"recipients": [{"channel": "sms", "to": "+15551230001"}], "content": "x"})")
                  .status,
              202);
    ASSERT_EQ(Post("/api/v1/paced-messages", R"({"to": "+15551230001", "content": "x"})").status, 201);
  }

  testing::HttpResponse Post(const std::string& path, const std::string& body) {
    return Call("POST", path, {{"X-API-Key", admin_}, {"Content-Type", "application/json"}}, body);
  }

  std::string admin_;
};

TEST_F(HostileRequestsTest, EveryJsonRouteAnswersABodyItCannotReadWith400) {
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"invalid UTF-8 in a string", "{\"name\": \"\xff\xfe\"}"},
      {"a lone continuation byte", "{\"name\": \"a\x80\"}"},
      {"UTF-16 with its byte order mark", std::string("\xff\xfe{\0}\0", 6)},
      {"UTF-16 without one", std::string("{\0}\0", 4)},
      {"a number beyond double", R"({"name": 1e999, "priority": 1e999})"},
      {"nesting 65 deep", std::string(65, '[') + std::string(65, ']')},
      {"nesting 60,000 deep (under every size limit)", std::string(60000, '[')},
      {"a truncated object", R"({"name": )"},
  };
  int covered = 0;
  for (const auto& op : DocumentedOperations()) {
    if (!op.json_body || op.provider_signed) continue;
    ++covered;
    for (const auto& [what, body] : bodies) {
      const auto response = Call(op.method, WithId(op.path, "1"),
                                 {{"X-API-Key", admin_}, {"Content-Type", "application/json"}}, body);
      ExpectError(response, 400, "INVALID_JSON", op.method + " " + op.path + " with " + what);
    }
  }
  EXPECT_GE(covered, 20) << "the document lost its request bodies";
}

TEST_F(HostileRequestsTest, IdsBeyondTheLargestAreNotFoundOnEveryRoute) {
  int covered = 0;
  for (const auto& op : DocumentedOperations()) {
    if (op.path.find("{id}") == std::string::npos) continue;
    ++covered;
    for (const std::string id : {"9223372036854775808", "99999999999999999999999999"}) {
      const auto response = Call(op.method, WithId(op.path, id),
                                 {{"X-API-Key", admin_}, {"Content-Type", "application/json"}}, op.json_body ? "{}" : "");
      EXPECT_EQ(response.status, 404) << op.method << " " << op.path << " with " << id << ": " << response.body;
      const auto body = json::parse(response.body, nullptr, false);
      const std::string code = body.is_object() ? body["error"].value("code", "") : "";
      EXPECT_TRUE(code.ends_with("_NOT_FOUND") && code != "ROUTE_NOT_FOUND") << op.path << ": " << response.body;
      EXPECT_NE(body["error"].value("message", "").find(id), std::string::npos) << "names the id: " << response.body;
    }
  }
  EXPECT_GE(covered, 15) << "the document lost its {id} routes";
}

TEST_F(HostileRequestsTest, AQueryThatDoesNotDecodeIs400OnEveryListingRoute) {
  int covered = 0;
  for (const auto& op : DocumentedOperations()) {
    if (!op.query_parameters || op.method != "GET") continue;
    ++covered;
    for (const std::string query : {"?status=%FF", "?page=%FF%FE", "?channel=%C3", "?%ZZ=1"}) {
      const auto response = Call("GET", WithId(op.path, "1") + query, {{"X-API-Key", admin_}});
      ExpectError(response, 400, "INVALID_QUERY", op.path + query);
    }
  }
  EXPECT_GE(covered, 6) << "the document lost its query parameters";
}

TEST_F(HostileRequestsTest, BytesThatAreNotUtf8InTheStoreOrARequestNeverBreakAnAnswer) {
  // Rows written before validation existed (or by another tool) may hold anything.
  store::NewMessage raw;
  raw.owner_id = 1;
  raw.idempotency_key = "key-\xff\xfe";
  raw.content = "caf\xe9";
  raw.recipients.push_back({"sms", "+1555\x80"});
  const auto stored = store_->Accept({raw}, ToUnixMillis(clock_.Now()));
  ASSERT_EQ(stored.size(), 1u);
  const auto list = Call("GET", "/api/v1/messages?page_size=100", {{"X-API-Key", admin_}});
  ASSERT_EQ(list.status, 200) << list.body;
  const auto page = json::parse(list.body);
  const auto it = std::find_if(page["data"].begin(), page["data"].end(),
                               [&](const json& m) { return m["id"] == stored[0].message.id; });
  ASSERT_NE(it, page["data"].end()) << list.body;
  EXPECT_EQ((*it)["content"], "caf\xef\xbf\xbd") << "shown with U+FFFD in place of the byte";
  EXPECT_EQ(Call("GET", "/api/v1/messages/" + std::to_string(stored[0].message.id), {{"X-API-Key", admin_}}).status,
            200);

  // A request's own bytes echoed in an error.
  ExpectError(Call("POST", "/api/v1/messages", {{"X-API-Key", admin_}, {"Content-Type", "text/\xff"}}, "x"), 415,
              "UNSUPPORTED_MEDIA_TYPE", "Content-Type with a byte that is not UTF-8");
  ExpectError(Call("POST", "/api/v1/messages", {{"X-API-Key", admin_}, {"Content-Type", "application/json"}, {"Idempotency-Key", "k\xff"}},
                   "{}"),
              400,
              "INVALID_HEADER", "Idempotency-Key with a byte that is not UTF-8");

  // A contacts import stores none of them: the line is rejected, the rest imported.
  const auto import = Call("POST", "/api/v1/contacts/import", {{"X-API-Key", admin_}, {"Content-Type", "text/csv"}},
                           "phone,first_name,nickname\n+15551230002,Bo,\xff\n+15551230003,Cy,ok\n");
  ASSERT_EQ(import.status, 201) << import.body;
  const auto imported = json::parse(import.body);
  EXPECT_EQ(imported["imported"], 1);
  ASSERT_EQ(imported["rejected"].size(), 1u);
  EXPECT_EQ(imported["rejected"][0]["line"], 2);
  EXPECT_EQ(imported["rejected"][0]["error"], "nickname: is not UTF-8");
  EXPECT_EQ(Call("GET", "/api/v1/contacts", {{"X-API-Key", admin_}}).status, 200);
}

TEST_F(HostileRequestsTest, MalformedHttpIsAnsweredNotDropped) {
  const std::string host = "Host: 127.0.0.1\r\n";
  EXPECT_EQ(RawStatusLine(port_, "GET /health?" + std::string(1 << 20, 'a') + " HTTP/1.1\r\n" + host + "\r\n"),
            "HTTP/1.1 414 URI Too Long");
  EXPECT_EQ(RawStatusLine(port_, "GET /health HTTP/1.1\r\n" + host + "X-Big: " + std::string(100000, 'b') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  std::string many = "GET /health HTTP/1.1\r\n" + host;
  for (int i = 0; i < 10000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(RawStatusLine(port_, many + "\r\n"), "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(RawStatusLine(port_, "GET /api/v1/messages/%FF HTTP/1.1\r\n" + host + "X-API-Key: " + admin_ + "\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(RawStatusLine(port_, "GET /%FF%FE HTTP/1.1\r\n" + host + "\r\n"), "HTTP/1.1 400 Bad Request");

  ExpectError(Call("GET", "/health?" + std::string(10000, 'a')), 414, "URI_TOO_LONG", "a long URL");
  ExpectError(Call("GET", "/api/v1/messages/%FF", {{"X-API-Key", admin_}}), 400, "INVALID_PATH", "a path with %FF");
  EXPECT_EQ(Get("/health").status, 200) << "still serving";
}

// Seed 004's bulk send at its limit: 10,000 messages of about 580 bytes, as a
// client would send them. Parsing it must not hold the I/O thread /health is
// answered on.
TEST_F(HostileRequestsTest, HealthAnswersWithin100MsWhileA10000MessageBulkIsRead) {
  json messages = json::array();
  const std::string content(520, 'x');
  for (int i = 0; i < 10000; ++i) {
    messages.push_back({{"recipients", {{{"channel", "sms"}, {"to", "+1555" + std::to_string(1000000 + i)}}}},
                        {"content", content}});
  }
  const auto body = json{{"messages", messages}}.dump();
  ASSERT_GT(body.size(), 5u << 20);
  const auto key = admin_;
  std::atomic<bool> answered{false};
  auto bulk = std::async(std::launch::async, [&] {
    auto response = Call("POST", "/api/v1/messages/bulk", {{"X-API-Key", key}, {"Content-Type", "application/json"}},
                         body);
    answered = true;
    return response;
  });
  std::vector<std::chrono::milliseconds> latencies;
  while (!answered) {
    const auto start = std::chrono::steady_clock::now();
    const auto health = Get("/health");
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (answered) break;  // this one may have been answered after the bulk
    ASSERT_EQ(health.status, 200);
    latencies.push_back(took);
    std::this_thread::sleep_for(5ms);
  }
  const auto response = bulk.get();
  ASSERT_EQ(response.status, 202) << response.body.substr(0, 300);
  EXPECT_EQ(json::parse(response.body)["accepted"], 10000);
  ASSERT_GE(latencies.size(), 3u) << "the bulk was answered before /health could be asked during it";
  const auto worst = *std::max_element(latencies.begin(), latencies.end());
  EXPECT_LT(worst, 100ms) << "over " << latencies.size() << " calls of /health during the bulk";
}

// Large bodies wait for one bulk thread; each waiting one is held in memory, so
// past a few the answer is "come back shortly", never an unbounded queue.
TEST_F(HostileRequestsTest, LargeBodiesPastTheWaitingLimitAreAskedToComeBack) {
  std::string padding = "[0";
  for (int i = 0; i < 2000000; ++i) padding += ",0";
  const auto body = "{\"messages\": 5, \"padding\": " + padding + "]}";  // slow to parse, then refused
  std::vector<std::future<testing::HttpResponse>> calls;
  for (int i = 0; i < 24; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      return Call("POST", "/api/v1/messages/bulk", {{"X-API-Key", admin_}, {"Content-Type", "application/json"}},
                  body);
    }));
  }
  int busy = 0;
  int read = 0;
  for (auto& call : calls) {
    const auto response = call.get();
    if (response.status == 503) {
      ++busy;
      ExpectError(response, 503, "SERVER_BUSY", "a large body past the waiting limit");
      EXPECT_EQ(response.Header("retry-after"), "1");
    } else {
      ++read;
      ExpectError(response, 400, "VALIDATION_FAILED", "a large body that was read");
    }
  }
  EXPECT_GE(read, 8) << "the ones within the limit are read";
  EXPECT_GE(busy, 1) << "24 bodies at once, each ~50 ms to parse, one thread: some wait past the limit";
  EXPECT_EQ(Get("/health").status, 200);
}

}  // namespace
}  // namespace herald::api
