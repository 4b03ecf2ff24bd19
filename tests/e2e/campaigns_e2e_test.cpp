// End-to-end tests of `herald serve`'s contacts, templates and campaigns APIs
// (seeds 002 and 003): the real binary on a free loopback port, over real HTTP.
// Campaign messages are delivered by the real workers through the mock SMS
// provider (success rate 1 here) and the e-mail outbox.
#include <algorithm>
#include <set>
#include <thread>

#include "tests/e2e/serve_fixture.hpp"

namespace herald::testing {
namespace {

class CampaignsE2E : public ServeE2E {
 protected:
  void SetUp() override {
    ServeE2E::SetUp();
    extra_env_["HERALD_SERVE_MOCK_SUCCESS_RATE"] = "1";
  }

  std::int64_t AddContact(const std::string& key, const json& contact) {
    return CallJson("POST", "/api/v1/contacts", key, contact, 201)["id"].get<std::int64_t>();
  }

  std::int64_t AddCampaign(const std::string& key, const json& campaign,
                           const std::string& path = "/api/v1/campaigns") {
    return CallJson("POST", path, key, campaign, 201)["id"].get<std::int64_t>();
  }

  HttpResponse ImportCsv(const std::string& key, const std::string& csv) {
    return HttpRequest("POST", Url("/api/v1/contacts/import"), {{"X-API-Key", key}, {"Content-Type", "text/csv"}}, csv);
  }

  json WaitForCampaign(const std::string& key, std::int64_t id, const std::function<bool(const json&)>& done) {
    json campaign;
    WaitFor(
        [&] {
          campaign = json::parse(Call("GET", "/api/v1/campaigns/" + std::to_string(id), key).body, nullptr, false);
          return campaign.is_object() && done(campaign);
        },
        seconds(15));
    return campaign;
  }
};

TEST_F(CampaignsE2E, ContactsAreCreatedReadUpdatedListedImportedAndDeleted) {
  const auto alice = CreateKey("alice");
  const auto bob = CreateKey("bob");
  StartServer();
  const auto created =
      CallJson("POST", "/api/v1/contacts", alice,
               {{"phone", "+1 (555) 123-0001"}, {"first_name", "Ann"}, {"attributes", {{"tier", "gold"}}}}, 201);
  EXPECT_EQ(created["phone"], "+15551230001");
  EXPECT_TRUE(created["email"].is_null());
  const auto id = created["id"].get<std::int64_t>();
  const std::string path = "/api/v1/contacts/" + std::to_string(id);
  // The seed's "customers" are the same resource.
  EXPECT_EQ(CallJson("GET", "/api/v1/customers/" + std::to_string(id), alice, nullptr, 200)["attributes"]["tier"],
            "gold");
  const auto patched = CallJson("PATCH", path, alice, {{"last_name", "Lee"}}, 200);
  EXPECT_EQ(patched["first_name"], "Ann");
  EXPECT_EQ(patched["last_name"], "Lee");
  const auto replaced = CallJson("PUT", path, alice, {{"email", "ann@example.org"}, {"first_name", "Ann"}}, 200);
  EXPECT_TRUE(replaced["phone"].is_null());
  EXPECT_TRUE(replaced["last_name"].is_null());
  ExpectError(Call("PATCH", path, alice, json{{"email", nullptr}}.dump()), 400, "VALIDATION_FAILED", "address");
  ExpectError(Call("POST", "/api/v1/contacts", alice, json{{"first_name", "Nobody"}}.dump()), 400, "VALIDATION_FAILED",
              "at least one address");
  ExpectError(Call("POST", "/api/v1/contacts", alice, json{{"phone", "12"}}.dump()), 400, "VALIDATION_FAILED", "phone");

  // Import: the valid rows are kept, the bad one is reported with its line.
  const auto imported = ImportCsv(alice,
                                  "phone,first_name,location\n"
                                  "+15551230002,Bo,Nairobi\n"
                                  "not-a-phone,Cy,Mombasa\n"
                                  "+15551230004,Di,\n");
  ASSERT_EQ(imported.status, 201) << imported.body;
  const auto result = json::parse(imported.body);
  EXPECT_EQ(result["imported"], 2);
  ASSERT_EQ(result["rejected"].size(), 1u);
  EXPECT_EQ(result["rejected"][0]["line"], 3);
  EXPECT_NE(result["rejected"][0]["error"].get<std::string>().find("phone"), std::string::npos);
  ExpectError(ImportCsv(alice, "first_name\nAnn\n"), 400, "VALIDATION_FAILED", "header");

  // Pages: newest first, and the second page (cut from the first's snapshot) does not shift when rows are added.
  const auto first = CallJson("GET", "/api/v1/contacts?page_size=2", alice, nullptr, 200);
  EXPECT_EQ(first["pagination"]["total_count"], 3);
  EXPECT_EQ(first["pagination"]["total_pages"], 2);
  ASSERT_EQ(first["data"].size(), 2u);
  EXPECT_GT(first["data"][0]["id"], first["data"][1]["id"]);
  AddContact(alice, {{"phone", "+15551230009"}});
  const auto second = CallJson(
      "GET",
      "/api/v1/customers?page_size=2&page=2&as_of=" + std::to_string(first["pagination"]["as_of"].get<std::int64_t>()),
      alice, nullptr, 200);
  ASSERT_EQ(second["data"].size(), 1u);
  EXPECT_EQ(second["data"][0]["id"], id);
  ExpectError(Call("GET", "/api/v1/contacts?page=-1", alice), 400, "INVALID_QUERY", "page");

  // Bob sees none of Alice's contacts.
  EXPECT_EQ(CallJson("GET", "/api/v1/contacts", bob, nullptr, 200)["pagination"]["total_count"], 0);
  ExpectError(Call("GET", path, bob), 404, "CONTACT_NOT_FOUND");
  ExpectError(Call("DELETE", path, bob), 404, "CONTACT_NOT_FOUND");
  EXPECT_EQ(Call("DELETE", path, alice).status, 204);
  ExpectError(Call("GET", path, alice), 404, "CONTACT_NOT_FOUND");
}

TEST_F(CampaignsE2E, TemplatesAreStoredWithTheirVariablesAndBrokenOnesAreRefused) {
  const auto key = CreateKey("app");
  StartServer();
  const auto created = CallJson("POST", "/api/v1/templates", key,
                                {{"name", "welcome"},
                                 {"channel", "email"},
                                 {"subject", "Welcome {{first_name}}"},
                                 {"html", "<p>Hello {{.first_name}} from {{location}}</p>"},
                                 {"text", "Hello {first_name} from {location}"}},
                                201);
  EXPECT_EQ(created["variables"], json({"first_name", "location"}));
  const auto id = created["id"].get<std::int64_t>();
  const std::string path = "/api/v1/templates/" + std::to_string(id);
  EXPECT_EQ(CallJson("GET", path, key, nullptr, 200)["name"], "welcome");
  const auto patched = CallJson("PATCH", path, key, {{"text", "Hi {{preferred_product}}"}}, 200);
  EXPECT_EQ(patched["variables"], json({"first_name", "preferred_product", "location"}));
  EXPECT_EQ(patched["subject"], "Welcome {{first_name}}");
  EXPECT_EQ(CallJson("GET", "/api/v1/templates", key, nullptr, 200)["pagination"]["total_count"], 1);

  ExpectError(Call("POST", "/api/v1/templates", key, json{{"name", "bad"}, {"text", "Hi {{first_name"}}.dump()), 400,
              "VALIDATION_FAILED", "text");
  ExpectError(Call("PUT", path, key, json{{"name", "bad"}, {"html", "<p>{{ }}</p>"}}.dump()), 400, "VALIDATION_FAILED",
              "html");
  ExpectError(Call("POST", "/api/v1/templates", key, json{{"name", "x"}, {"channel", "fax"}, {"text", "x"}}.dump()),
              400, "VALIDATION_FAILED", "channel");
  EXPECT_EQ(Call("DELETE", path, key).status, 204);
  ExpectError(Call("GET", path, key), 404, "TEMPLATE_NOT_FOUND");
  ExpectError(Call("DELETE", path, key), 404, "TEMPLATE_NOT_FOUND");
}

TEST_F(CampaignsE2E, ASendQueuesOneMessagePerContactOnceAndTheWorkersDeliverIt) {
  const auto key = CreateKey("app");
  StartServer();
  const auto ann = AddContact(key, {{"phone", "+15551230001"}, {"first_name", "Ann"}, {"preferred_product", "Tea"}});
  const auto nameless = AddContact(key, {{"phone", "+15551230002"}, {"first_name", nullptr}});
  AddContact(key, {{"phone", "+15551230003"}, {"first_name", "Cy"}, {"preferred_product", "Coffee"}});
  const auto mail_only = AddContact(key, {{"email", "di@example.org"}, {"first_name", "Di"}});
  // Seed 003's own path, without the /api/v1 prefix.
  const auto created = CallJson(
      "POST", "/campaigns", key,
      {{"name", "Promo"}, {"channel", "sms"}, {"base_template", "Hi {first_name}, try {{preferred_product}}!"}}, 201);
  EXPECT_EQ(created["status"], "draft");
  const auto id = created["id"].get<std::int64_t>();
  const std::string send = "/api/v1/campaigns/" + std::to_string(id) + "/send";

  const auto first = CallJson("POST", send, key, nullptr, 202);
  EXPECT_EQ(first["campaign_id"], id);
  EXPECT_EQ(first["messages_queued"], 3);
  EXPECT_EQ(first["skipped"], 1);
  EXPECT_EQ(first["skipped_customers"][0]["customer_id"], mail_only);
  EXPECT_EQ(first["status"], "sending");
  // Sending again, whole or in part, makes no second message for anyone.
  const auto again = CallJson("POST", "/campaigns/" + std::to_string(id) + "/send", key, nullptr, 202);
  EXPECT_EQ(again["messages_queued"], 0);
  EXPECT_EQ(again["already_queued"], 3);
  const auto part = CallJson("POST", send, key, {{"customer_ids", {ann}}}, 202);
  EXPECT_EQ(part["messages_queued"], 0);
  EXPECT_EQ(part["already_queued"], 1);

  const auto messages = CallJson("GET", "/api/v1/messages?page_size=10", key, nullptr, 200);
  ASSERT_EQ(messages["pagination"]["total_count"], 3);
  std::multiset<std::string> contents;
  for (const auto& m : messages["data"]) contents.insert(m["content"].get<std::string>());
  EXPECT_EQ(contents, (std::multiset<std::string>{"Hi Ann, try Tea!", "Hi , try !", "Hi Cy, try Coffee!"}));

  // The status follows the messages within a second (the server settles campaigns in the background).
  const auto done =
      WaitForCampaign(key, id, [](const json& c) { return c["stats"]["sent"] == 3 && c["status"] == "sent"; });
  EXPECT_EQ(done["stats"], json({{"total", 3}, {"pending", 0}, {"sent", 3}, {"failed", 0}, {"cancelled", 0},
                                 {"delivered", 0}, {"read", 0}, {"clicked", 0}, {"bounced", 0}, {"complained", 0}}))
      << done.dump();
  EXPECT_EQ(done["status"], "sent");
  EXPECT_EQ(CallJson("GET", "/api/v1/campaigns?status=sent", key, nullptr, 200)["pagination"]["total_count"], 1);
  EXPECT_EQ(CallJson("POST", "/api/v1/campaigns/" + std::to_string(id) + "/personalized-preview", key,
                     {{"customer_id", nameless}}, 200)["rendered_message"],
            "Hi , try !");

  // Concurrent sends of another campaign still make one message per contact.
  const auto other = AddCampaign(key, {{"name", "Again"}, {"channel", "sms"}, {"base_template", "Bye {first_name}"}});
  std::vector<std::thread> threads;
  std::vector<int> queued(4, -1);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      const auto response = Call("POST", "/api/v1/campaigns/" + std::to_string(other) + "/send", key);
      if (response.status == 202) queued[i] = json::parse(response.body)["messages_queued"].get<int>();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(queued.begin(), queued.end(), -1), 0);
  EXPECT_EQ(queued[0] + queued[1] + queued[2] + queued[3], 3);
  EXPECT_EQ(CallJson("GET", "/api/v1/messages", key, nullptr, 200)["pagination"]["total_count"], 6);
}

TEST_F(CampaignsE2E, ATemplateCampaignSendsPersonalisedEmailAndAScheduledOneWaits) {
  const auto key = CreateKey("app");
  StartServer();
  AddContact(key, {{"email", "ann@example.org"}, {"first_name", "Ann"}, {"location", "Nairobi"}});
  const auto tpl = CallJson("POST", "/api/v1/templates", key,
                            {{"name", "hello"},
                             {"channel", "email"},
                             {"subject", "Hello {{first_name}}"},
                             {"text", "Dear {first_name} in {location}"}},
                            201)["id"];
  ExpectError(
      Call("POST", "/api/v1/campaigns", key, json{{"name", "x"}, {"channel", "sms"}, {"template_id", tpl}}.dump()), 400,
      "VALIDATION_FAILED", "template_id");
  const auto id = AddCampaign(key, {{"name", "Mail"}, {"channel", "email"}, {"template_id", tpl}});
  EXPECT_EQ(CallJson("POST", "/api/v1/campaigns/" + std::to_string(id) + "/send", key, nullptr, 202)["messages_queued"],
            1);
  WaitForCampaign(key, id, [](const json& c) { return c["stats"]["sent"] == 1; });
  int files = 0;
  for (const auto& entry : fs::directory_iterator(data_dir_ + "/outbox")) {
    ++files;
    const auto eml = ReadFile(entry.path().string());
    EXPECT_NE(eml.find("Subject: Hello Ann"), std::string::npos) << eml;
    EXPECT_NE(eml.find("Dear Ann in Nairobi"), std::string::npos) << eml;
  }
  EXPECT_EQ(files, 1);

  // A scheduled campaign's messages wait for its time.
  const auto at = Rfc3339(NowMs() + 3600 * 1000);
  const auto later = CallJson(
      "POST", "/api/v1/campaigns", key,
      {{"name", "Later"}, {"channel", "email"}, {"base_template", "Soon, {first_name}"}, {"scheduled_at", at}}, 201);
  EXPECT_EQ(later["status"], "scheduled");
  const auto sent = CallJson("POST", "/api/v1/campaigns/" + later["id"].dump() + "/send", key, nullptr, 202);
  EXPECT_EQ(sent["messages_queued"], 1);
  EXPECT_EQ(sent["status"], "scheduled");
  const auto message = CallJson("GET", "/api/v1/messages?page_size=1", key, nullptr, 200)["data"][0];
  EXPECT_EQ(message["content"], "Soon, Ann");
  EXPECT_EQ(message["status"], "scheduled");
  EXPECT_EQ(message["scheduled_at"].get<std::string>().substr(0, 19), at.substr(0, 19));
  const auto stats = CallJson("GET", "/api/v1/campaigns/" + later["id"].dump(), key, nullptr, 200)["stats"];
  EXPECT_EQ(stats["pending"], 1);

  // Deleting the template leaves its campaign nothing to send.
  EXPECT_EQ(Call("DELETE", "/api/v1/templates/" + tpl.dump(), key).status, 204);
  ExpectError(Call("POST", "/api/v1/campaigns/" + std::to_string(id) + "/send", key), 409, "CAMPAIGN_NOT_SENDABLE",
              "template");
}

TEST_F(CampaignsE2E, AMessageNamesATemplateAndItsDataInsteadOfContent) {
  const auto key = CreateKey("app");
  const auto other = CreateKey("other");
  StartServer();
  const auto tpl = CallJson("POST", "/api/v1/templates", key,
                            {{"name", "code"},
                             {"channel", "email"},
                             {"subject", "Hi {{first_name}}"},
                             {"text", "Code {{code}} for {first_name}{{missing}}."},
                             {"html", "<p>{{first_name}}</p>"}},
                            201)["id"];
  const json email = {{{"channel", "email"}, {"to", "ann@example.org"}}};
  const auto accepted = CallJson("POST", "/api/v1/messages", key,
                                 {{"recipients", email}, {"template_id", tpl}, {"data", {{"first_name", "Ann"}, {"code", 1234}}}},
                                 202);
  const auto sent = WaitForStatus(key, accepted["id"], {"sent"});
  EXPECT_EQ(sent["content"], "Code 1234 for Ann.");
  EXPECT_EQ(sent["subject"], "Hi Ann");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(data_dir_ + "/outbox")) {
    ++files;
    const auto eml = ReadFile(entry.path().string());
    EXPECT_NE(eml.find("Subject: Hi Ann"), std::string::npos) << eml;
    EXPECT_NE(eml.find("Code 1234 for Ann."), std::string::npos) << eml;
    // The template's HTML goes along as the alternative part.
    EXPECT_NE(eml.find("multipart/alternative"), std::string::npos) << eml;
    EXPECT_NE(eml.find("<p>Ann</p>"), std::string::npos) << eml;
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(sent["html"], "<p>Ann</p>");
  // An HTML-only template: the text is its plain reading, values are escaped in the HTML.
  const auto html_only = CallJson("POST", "/api/v1/templates", key,
                                  {{"name", "html"}, {"subject", "News"}, {"html", "<h1>Hi {{name}}</h1><p>Sale&nbsp;today</p>"}},
                                  201)["id"];
  const auto news = CallJson("GET",
                             "/api/v1/messages/" + CallJson("POST", "/api/v1/messages", key,
                                                            {{"recipients",
                                                              {{{"channel", "sms"}, {"to", "+15551230001"}},
                                                               {{"channel", "email"}, {"to", "cy@example.org"}}}},
                                                             {"template_id", html_only},
                                                             {"data", {{"name", "A&B"}}}},
                                                            202)["id"]
                                                       .dump(),
                             key, nullptr, 200);
  EXPECT_EQ(news["content"], "Hi A&B\nSale today");
  EXPECT_EQ(news["html"], "<h1>Hi A&amp;B</h1><p>Sale&nbsp;today</p>");
  // Without an e-mail recipient no HTML is kept.
  const auto sms_only = CallJson("POST", "/api/v1/messages", key,
                                 {{"recipients", {{{"channel", "sms"}, {"to", "+15551230001"}}}},
                                  {"template_id", html_only},
                                  {"data", {{"name", "Di"}}}},
                                 202)["id"];
  const auto stored = CallJson("GET", "/api/v1/messages/" + sms_only.dump(), key, nullptr, 200);
  EXPECT_EQ(stored["content"], "Hi Di\nSale today");
  EXPECT_FALSE(stored.contains("html")) << stored.dump();
  // A value that would make the text huge is refused before it is built.
  const auto repeated = CallJson("POST", "/api/v1/templates", key,
                                 {{"name", "big"}, {"text", [] {
                                    std::string text;
                                    for (int i = 0; i < 2000; ++i) text += "{{v}}";
                                    return text;
                                  }()}},
                                 201)["id"];
  ExpectError(Call("POST", "/api/v1/messages", key,
                   json{{"recipients", email}, {"subject", "s"}, {"template_id", repeated},
                        {"data", {{"v", std::string(1000, 'x')}}}}.dump()),
              400, "VALIDATION_FAILED", "limit");
  // A subject in the request wins over the template's, with the same data.
  EXPECT_EQ(CallJson("GET",
                     "/api/v1/messages/" + CallJson("POST", "/api/v1/messages", key,
                                                    {{"recipients", email},
                                                     {"template_id", tpl},
                                                     {"subject", "Your code, {{first_name}}"},
                                                     {"data", {{"first_name", "Bo"}}}},
                                                    202)["id"]
                                               .dump(),
                     key, nullptr, 200)["subject"],
            "Your code, Bo");

  ExpectError(Call("POST", "/api/v1/messages", key,
                   json{{"recipients", email}, {"template_id", tpl}, {"content", "both"}}.dump()),
              400, "VALIDATION_FAILED", "content");
  ExpectError(Call("POST", "/api/v1/messages", key, json{{"recipients", email}, {"template_id", 999}}.dump()), 404,
              "TEMPLATE_NOT_FOUND", "template_id");
  ExpectError(Call("POST", "/api/v1/messages", key, json{{"recipients", email}, {"template_id", "x"}}.dump()), 400,
              "VALIDATION_FAILED", "template_id");
  ExpectError(
      Call("POST", "/api/v1/messages", key, json{{"recipients", email}, {"template_id", tpl}, {"data", "Ann"}}.dump()),
      400, "VALIDATION_FAILED", "data");
  // Templates are private to their owner, and an e-mail template does not go out as an SMS.
  ExpectError(Call("POST", "/api/v1/messages", other, json{{"recipients", email}, {"template_id", tpl}}.dump()), 404,
              "TEMPLATE_NOT_FOUND", "");
  ExpectError(Call("POST", "/api/v1/messages", key,
                   json{{"recipients", {{{"channel", "sms"}, {"to", "+15551230001"}}}}, {"template_id", tpl}}.dump()),
              400, "VALIDATION_FAILED", "recipients[0].channel");

  // Bulk: each message resolves its own template; an unknown one is rejected by index.
  json messages = json::array();
  messages.push_back({{"recipients", email}, {"template_id", tpl}, {"data", {{"first_name", "Cy"}, {"code", "7"}}}});
  messages.push_back({{"recipients", email}, {"template_id", 4242}});
  messages.push_back({{"recipients", email}, {"subject", "plain"}, {"content", "no template"}});
  const auto bulk = CallJson("POST", "/api/v1/messages/bulk", key, {{"messages", messages}}, 202);
  EXPECT_EQ(bulk["accepted"], 2);
  ASSERT_EQ(bulk["rejected"].size(), 1u);
  EXPECT_EQ(bulk["rejected"][0]["index"], 1);
  EXPECT_EQ(bulk["rejected"][0]["error"]["code"], "TEMPLATE_NOT_FOUND");
  EXPECT_EQ(CallJson("GET", "/api/v1/messages/" + bulk["ids"][0].dump(), key, nullptr, 200)["content"],
            "Code 7 for Cy.");
}

TEST_F(CampaignsE2E, PreviewRendersBothPlaceholderStylesAndNullFieldsAsEmpty) {
  const auto key = CreateKey("app");
  StartServer();
  const auto ann = AddContact(key, {{"phone", "+15551230001"}, {"first_name", "Ann"}, {"location", "Nairobi"}});
  const auto id =
      AddCampaign(key, {{"name", "P"},
                        {"channel", "sms"},
                        {"base_template", "Hi {first_name} from {{location}}, enjoy {preferred_product}."}});
  const std::string path = "/campaigns/" + std::to_string(id) + "/personalized-preview";
  const auto preview = CallJson("POST", path, key, {{"customer_id", ann}}, 200);
  EXPECT_EQ(preview["rendered_message"], "Hi Ann from Nairobi, enjoy .");
  EXPECT_EQ(preview["used_template"], "Hi {first_name} from {{location}}, enjoy {preferred_product}.");
  EXPECT_EQ(preview["customer"]["id"], ann);
  EXPECT_TRUE(preview["customer"]["preferred_product"].is_null());
  const auto overridden = CallJson(
      "POST", "/api/v1/campaigns/" + std::to_string(id) + "/personalized-preview", key,
      {{"customer_id", ann}, {"override_template", "{{ first_name }}/{FIRST_NAME}/{last_name}/{{nope}}"}}, 200);
  EXPECT_EQ(overridden["rendered_message"], "Ann/Ann//");
  ExpectError(Call("POST", path, key, json{{"customer_id", ann}, {"override_template", "{{first_name"}}.dump()), 400,
              "VALIDATION_FAILED", "override_template");
  ExpectError(Call("POST", path, key, json{{"customer_id", 999}}.dump()), 404, "CONTACT_NOT_FOUND");
  ExpectError(Call("POST", path, key, json{{"customer_id", "1"}}.dump()), 400, "VALIDATION_FAILED", "customer_id");
}

TEST_F(CampaignsE2E, ListsArePagedNewestFirstWithoutGapsWhileCampaignsAreAdded) {
  const auto key = CreateKey("app");
  StartServer();
  for (int i = 0; i < 25; ++i) {
    AddCampaign(
        key, {{"name", "c" + std::to_string(i)}, {"channel", i % 5 == 0 ? "whatsapp" : "sms"}, {"base_template", "x"}});
  }
  std::set<std::int64_t> seen;
  std::int64_t previous = INT64_MAX;
  auto page = CallJson("GET", "/api/v1/campaigns?page=1&page_size=10", key, nullptr, 200);
  EXPECT_EQ(page["pagination"], json({{"page", 1},
                                      {"page_size", 10},
                                      {"total_count", 25},
                                      {"total_pages", 3},
                                      {"as_of", page["pagination"]["as_of"]}}));
  const auto as_of = page["pagination"]["as_of"].get<std::int64_t>();
  for (int number = 1; number <= 3; ++number) {
    if (number > 1) {
      page =
          CallJson("GET", "/campaigns?page=" + std::to_string(number) + "&page_size=10&as_of=" + std::to_string(as_of),
                   key, nullptr, 200);
    }
    for (const auto& c : page["data"]) {
      const auto id = c["id"].get<std::int64_t>();
      EXPECT_LT(id, previous);
      previous = id;
      EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
    }
    // Campaigns created between page reads do not shift the pages.
    AddCampaign(key, {{"name", "new"}, {"channel", "sms"}, {"base_template", "x"}});
  }
  EXPECT_EQ(seen.size(), 25u);
  EXPECT_EQ(CallJson("GET", "/api/v1/campaigns?channel=WhatsApp", key, nullptr, 200)["pagination"]["total_count"], 5);
  EXPECT_EQ(
      CallJson("GET", "/api/v1/campaigns?status=draft&page_size=1", key, nullptr, 200)["pagination"]["total_pages"],
      28);
  ExpectError(Call("GET", "/api/v1/campaigns?page=0", key), 400, "INVALID_QUERY", "page");
  ExpectError(Call("GET", "/api/v1/campaigns?page=abc", key), 400, "INVALID_QUERY", "page");
  ExpectError(Call("GET", "/api/v1/campaigns?page_size=501", key), 400, "INVALID_QUERY", "page_size");
  ExpectError(Call("GET", "/api/v1/campaigns?status=lost", key), 400, "INVALID_QUERY", "status");
  ExpectError(Call("GET", "/api/v1/campaigns?channel=fax", key), 400, "INVALID_QUERY", "channel");
}

TEST_F(CampaignsE2E, UsersSeeOnlyTheirOwnCampaignsAndEveryErrorHasItsCode) {
  const auto alice = CreateKey("alice");
  const auto bob = CreateKey("bob");
  const auto admin = CreateKey("ops", "admin");
  StartServer();
  const auto contact = AddContact(alice, {{"phone", "+15551230001"}});
  const auto id = AddCampaign(alice, {{"name", "A"}, {"channel", "sms"}, {"base_template", "Hi"}});
  const auto one = "/api/v1/campaigns/" + std::to_string(id);
  ExpectError(Call("GET", one, bob), 404, "CAMPAIGN_NOT_FOUND");
  ExpectError(Call("POST", one + "/send", bob), 404, "CAMPAIGN_NOT_FOUND");
  ExpectError(Call("POST", one + "/personalized-preview", bob, json{{"customer_id", contact}}.dump()), 404,
              "CAMPAIGN_NOT_FOUND");
  EXPECT_EQ(CallJson("GET", "/api/v1/campaigns", bob, nullptr, 200)["pagination"]["total_count"], 0);
  EXPECT_EQ(CallJson("GET", one, admin, nullptr, 200)["name"], "A");
  EXPECT_EQ(CallJson("GET", "/api/v1/campaigns", admin, nullptr, 200)["pagination"]["total_count"], 1);
  // Bob's campaign cannot reach Alice's contact.
  const auto bobs = AddCampaign(bob, {{"name", "B"}, {"channel", "sms"}, {"base_template", "Hi"}});
  ExpectError(Call("POST", "/api/v1/campaigns/" + std::to_string(bobs) + "/send", bob,
                   json{{"customer_ids", {contact}}}.dump()),
              404, "CONTACT_NOT_FOUND", std::to_string(contact));
  ExpectError(Call("POST", "/api/v1/campaigns/" + std::to_string(bobs) + "/send", bob), 400, "VALIDATION_FAILED",
              "no contacts");

  ExpectError(Call("GET", "/api/v1/campaigns/999", alice), 404, "CAMPAIGN_NOT_FOUND");
  ExpectError(Call("GET", "/api/v1/campaigns", ""), 401, "UNAUTHORIZED");
  ExpectError(Call("POST", "/api/v1/campaigns", alice, "{oops"), 400, "INVALID_JSON");
  ExpectError(
      Call("POST", "/api/v1/campaigns", alice, json{{"name", "x"}, {"channel", "fax"}, {"base_template", "x"}}.dump()),
      400, "VALIDATION_FAILED", "channel");
  ExpectError(Call("POST", "/api/v1/campaigns", alice,
                   json{{"name", "x"}, {"channel", "sms"}, {"base_template", "Hi {{first_name"}}.dump()),
              400, "VALIDATION_FAILED", "base_template");
  ExpectError(
      Call("POST", "/api/v1/campaigns", alice, json{{"name", "x"}, {"channel", "sms"}, {"template_id", 999}}.dump()),
      404, "TEMPLATE_NOT_FOUND");
  ExpectError(Call("POST", one + "/send", alice, json{{"customer_ids", "all"}}.dump()), 400, "VALIDATION_FAILED",
              "customer_ids");
  ExpectError(Call("GET", "/api/v1/templates/999", alice), 404, "TEMPLATE_NOT_FOUND");
  ExpectError(Call("GET", "/api/v1/contacts/999", alice), 404, "CONTACT_NOT_FOUND");
}

}  // namespace
}  // namespace herald::testing
