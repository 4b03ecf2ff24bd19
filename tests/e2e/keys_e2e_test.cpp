// End-to-end tests of API key management over HTTP (admin only) and of the
// premium rate-limit tier, against the real `herald serve` binary.
#include "tests/e2e/serve_fixture.hpp"

namespace herald::testing {
namespace {

TEST_F(ServeE2E, UsersCannotManageKeys) {
  const auto admin = CreateKey("ops", "admin");
  const auto user = CreateKey("app");
  StartServer();
  ExpectError(Call("GET", "/api/v1/keys", user), 403, "FORBIDDEN");
  ExpectError(Call("POST", "/api/v1/keys", user, json{{"name", "mine"}}.dump()), 403, "FORBIDDEN");
  ExpectError(Call("DELETE", "/api/v1/keys/1", user), 403, "FORBIDDEN");
  ExpectError(Call("GET", "/api/v1/keys", ""), 401, "UNAUTHORIZED");
  // Nothing was made by the refused request.
  EXPECT_EQ(CallJson("GET", "/api/v1/keys", admin, nullptr, 200)["data"].size(), 2u);
}

TEST_F(ServeE2E, AdminsCreateListAndRevokeKeysOverTheApi) {
  const auto admin = CreateKey("ops", "admin");
  StartServer();
  const auto created = CallJson("POST", "/api/v1/keys", admin, {{"name", "billing"}, {"tier", "basic"}}, 201);
  const auto key = created["key"].get<std::string>();
  EXPECT_EQ(key.size(), 51u) << key;  // "hk_" and 48 hex digits
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef", 3), std::string::npos) << key;
  EXPECT_EQ(key.rfind("hk_", 0), 0u) << key;
  EXPECT_EQ(created["role"], "user");
  EXPECT_EQ(created["tier"], "basic");
  EXPECT_EQ(created["key_prefix"], key.substr(0, 10));

  // The new key works at once, with its tier's limit.
  const auto used = Call("GET", "/api/v1/messages", key);
  EXPECT_EQ(used.status, 200) << used.body;
  EXPECT_EQ(used.Header("ratelimit-limit"), "300");

  const auto listed = CallJson("GET", "/api/v1/keys", admin, nullptr, 200)["data"];
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1]["name"], "billing");
  for (const auto& entry : listed) {
    EXPECT_FALSE(entry.contains("key")) << "a listed key must never show the key itself: " << entry;
    EXPECT_EQ(entry.dump().find(key), std::string::npos) << entry;
  }

  // Revoked over the API, the key is refused immediately, not after the cache expires.
  EXPECT_EQ(Call("DELETE", "/api/v1/keys/" + created["id"].dump(), admin).status, 204);
  ExpectError(Call("GET", "/api/v1/messages", key), 401, "UNAUTHORIZED");
  ExpectError(Call("DELETE", "/api/v1/keys/" + created["id"].dump(), admin), 404, "KEY_NOT_FOUND");
  EXPECT_TRUE(CallJson("GET", "/api/v1/keys", admin, nullptr, 200)["data"][1].contains("revoked_at"));
  // An admin cannot lock itself out by revoking the key it is using.
  const auto own_id = CallJson("GET", "/api/v1/keys", admin, nullptr, 200)["data"][0]["id"];
  ExpectError(Call("DELETE", "/api/v1/keys/" + own_id.dump(), admin), 409, "KEY_IN_USE");
  EXPECT_EQ(Call("GET", "/api/v1/keys", admin).status, 200);

  // A second admin made over the API can manage keys too.
  const auto second = CallJson("POST", "/api/v1/keys", admin, {{"name", "ops-2"}, {"role", "admin"}}, 201);
  EXPECT_EQ(Call("GET", "/api/v1/keys", second["key"].get<std::string>()).status, 200);
  // The one answer holding a key must not be cached anywhere.
  EXPECT_EQ(Call("POST", "/api/v1/keys", admin, json{{"name", "ci"}}.dump()).Header("cache-control"), "no-store");
}

TEST_F(ServeE2E, KeyRequestsAreValidatedFieldByField) {
  const auto admin = CreateKey("ops", "admin");
  StartServer();
  const std::pair<json, std::string> cases[] = {
      {json::object(), "name"},
      {{{"name", ""}}, "name"},
      {{{"name", 7}}, "name"},
      {{{"name", "ops\tteam"}}, "name"},
      {{{"name", std::string(201, 'x')}}, "name"},
      {{{"name", "x"}, {"role", "root"}}, "role"},
      {{{"name", "x"}, {"tier", "gold"}}, "tier"},
      {json::array(), "body"},
  };
  for (const auto& [body, field] : cases) {
    const auto response = Call("POST", "/api/v1/keys", admin, body.dump());
    ExpectError(response, 400, "VALIDATION_FAILED");
    EXPECT_EQ(json::parse(response.body)["error"]["message"].get<std::string>().rfind(field, 0), 0u) << response.body;
  }
  ExpectError(Call("POST", "/api/v1/keys", admin, "{not json"), 400, "INVALID_JSON");
  EXPECT_EQ(CallJson("GET", "/api/v1/keys", admin, nullptr, 200)["data"].size(), 1u);
}

TEST_F(ServeE2E, ThePremiumTierAllowsAThousandRequestsPerMinute) {
  const auto premium = CreateKey("big", "user", "premium");
  StartServer();
  // The burst is the whole minute's budget; GCRA then refills one request every
  // 60 ms, so a run taking t ms may get up to t / 60 more before the first 429.
  int allowed = 0;
  HttpResponse last;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) {
    last = Call("GET", "/api/v1/messages?page_size=1", premium);
    if (last.status != 200) break;
    ++allowed;
  }
  const auto elapsed_ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started).count();
  EXPECT_GE(allowed, 1000);
  EXPECT_LE(allowed, 1000 + elapsed_ms / 60 + 1) << "in " << elapsed_ms << " ms";
  ExpectError(last, 429, "RATE_LIMITED");
  EXPECT_EQ(last.Header("ratelimit-limit"), "1000");
  EXPECT_EQ(last.Header("ratelimit-remaining"), "0");
  const int retry_after = std::stoi(last.Header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 2);
}

}  // namespace
}  // namespace herald::testing
