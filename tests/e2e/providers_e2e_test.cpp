// End-to-end tests of `herald serve` with real provider adapters: Twilio for sms
// and whatsapp, Telegram's Bot API, and a failover list, each against
// tests/support/provider_server.py (a loopback server speaking those APIs) and
// webhook_server.py. The ids the providers answer are the ids the API shows.
#include <ctime>
#include <thread>

#include "tests/e2e/serve_fixture.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tracking/test_signers.hpp"

namespace herald::testing {
namespace {

const std::string kSid = "AC0123456789abcdef0123456789abcdef";
const std::string kToken = "e2e-twilio-token";
const std::string kBotToken = "777000:e2e-bot-token";

class ProvidersE2E : public ServeE2E {
 protected:
  void UseProviders(const std::string& sms_providers) {
    extra_env_["HERALD_CHANNELS_SMS_PROVIDERS"] = sms_providers;
    extra_env_["HERALD_CHANNELS_WHATSAPP_PROVIDERS"] = "twilio";
    extra_env_["HERALD_CHANNELS_TELEGRAM_PROVIDERS"] = "telegram";
    extra_env_["HERALD_TWILIO_BASE_URL"] = providers_.Url("");
    extra_env_["HERALD_TWILIO_ACCOUNT_SID"] = kSid;
    extra_env_["HERALD_TWILIO_AUTH_TOKEN"] = kToken;
    extra_env_["HERALD_TWILIO_FROM"] = "+15005550006";
    extra_env_["HERALD_TWILIO_WHATSAPP_FROM"] = "+14155238886";
    extra_env_["HERALD_TELEGRAM_BASE_URL"] = providers_.Url("");
    extra_env_["HERALD_TELEGRAM_BOT_TOKEN"] = kBotToken;
    extra_env_["HERALD_SERVE_WEBHOOK_URL"] = webhook_.Url("/accept");
    extra_env_["HERALD_CHANNELS_CIRCUIT_FAILURES"] = "2";
  }
  std::int64_t Submit(const std::string& key, const json& recipients) {
    const auto accepted =
        CallJson("POST", "/api/v1/messages", key, {{"recipients", recipients}, {"content", "Your code is 4711"}}, 202);
    return accepted.value("id", std::int64_t{0});
  }
  // An e-mail to `to`, accepted, then followed until it is final.
  json SendEmailAndWait(const std::string& key, const std::string& to, const std::string& content) {
    const auto accepted = CallJson("POST", "/api/v1/messages", key,
                                   {{"recipients", {{{"channel", "email"}, {"to", to}}}},
                                    {"subject", "Welcome"},
                                    {"content", content}},
                                   202);
    return WaitForStatus(key, accepted.value("id", std::int64_t{0}), {"sent", "failed", "dead"});
  }
  std::vector<json> TwilioRequests() const {
    std::vector<json> out;
    for (const auto& request : providers_.Requests()) {
      if (request["path"].get<std::string>().rfind("/2010-04-01/", 0) == 0) out.push_back(request);
    }
    return out;
  }

  void UseSes(const std::string& email_providers) {
    extra_env_["HERALD_CHANNELS_EMAIL_PROVIDERS"] = email_providers;
    extra_env_["HERALD_SES_BASE_URL"] = providers_.Url("");
    extra_env_["HERALD_SES_REGION"] = "eu-west-1";
    // The AWS SDKs' variables, as an operator on AWS would have them.
    extra_env_["AWS_ACCESS_KEY_ID"] = "AKIAE2ETEST";
    extra_env_["AWS_SECRET_ACCESS_KEY"] = kSesSecret;
  }

  void UseSendGrid(const std::string& email_providers) {
    extra_env_["HERALD_CHANNELS_EMAIL_PROVIDERS"] = email_providers;
    extra_env_["HERALD_SENDGRID_BASE_URL"] = providers_.Url("");
    extra_env_["HERALD_SENDGRID_API_KEY"] = kSendGridKey;
  }

  static constexpr char kSesSecret[] = "e2e-ses-secret";
  static constexpr char kSendGridKey[] = "SG.e2e-sendgrid-key";
  FakeHttpServer providers_{"provider_server.py", dir_.path(),
                            {"--twilio-sid", kSid, "--twilio-token", kToken, "--telegram-token", kBotToken,
                             "--ses-key-id", "AKIAE2ETEST", "--ses-secret", kSesSecret, "--ses-region", "eu-west-1",
                             "--sendgrid-key", kSendGridKey, "--sns-dir", dir_.path(),
                             // Telegram's flood control for one chat, a little lenient for timers' jitter.
                             "--telegram-chat-interval-ms", "900"}};
  FakeHttpServer webhook_{"webhook_server.py", dir_.path()};
};

TEST_F(ProvidersE2E, EachChannelGoesToItsProviderAndTheAnsweredIdIsTheOneShown) {
  UseProviders("twilio");
  const auto key = CreateKey("app");
  StartServer();
  const auto id = Submit(key, {{{"channel", "sms"}, {"to", "+14155552671"}},
                               {{"channel", "whatsapp"}, {"to", "+14155552672"}},
                               {{"channel", "telegram"}, {"to", "123456789"}}});
  const auto message = WaitForStatus(key, id, {"sent", "partially_sent", "failed"});
  ASSERT_EQ(message["status"], "sent") << message.dump();

  std::map<std::string, std::string> answered;  // To -> the id the provider gave
  for (const auto& request : providers_.Requests()) {
    const auto& body = request["answer"]["body"];
    if (request["form"].contains("To")) answered[request["form"]["To"]] = body["sid"];
    if (request["body"].is_object() && request["body"].contains("chat_id")) {
      answered[request["body"]["chat_id"]] = "123456789:" + std::to_string(body["result"]["message_id"].get<int>());
    }
  }
  ASSERT_EQ(answered.size(), 3u) << providers_.Requests().size();
  for (const auto& recipient : message["recipients"]) {
    const std::string to = recipient["to"];
    const std::string as_sent = recipient["channel"] == "whatsapp" ? "whatsapp:" + to : to;
    EXPECT_EQ(recipient["provider_message_id"], answered[as_sent]) << recipient.dump();
    EXPECT_EQ(recipient["attempts"], 1);
  }
  const auto twilio = TwilioRequests();
  ASSERT_EQ(twilio.size(), 2u);
  for (const auto& request : twilio) {
    EXPECT_EQ(request["form"]["Body"], "Your code is 4711");
    EXPECT_NE(request["form"].value("From", ""), "") << request.dump();
  }
  // Health names each channel's provider, and never a secret.
  const auto health = Call("GET", "/health", "");
  const auto body = json::parse(health.body);
  EXPECT_EQ(body["providers"]["telegram"], "telegram:" + providers_.Url("/") + " (bot 777000)");
  EXPECT_EQ(body["providers"]["sms"], "twilio:" + providers_.Url("/") + " (" + kSid + ")");
  EXPECT_EQ(health.body.find(kToken), std::string::npos);
  EXPECT_EQ(health.body.find("e2e-bot-token"), std::string::npos);
  EXPECT_EQ(ReadFile(dir_.path() + "/serve.log").find("e2e-bot-token"), std::string::npos);
}

TEST_F(ProvidersE2E, ProviderRatesHoldAcrossLanesAndOneChatGetsOneMessageASecond) {
  UseProviders("twilio");
  extra_env_["HERALD_TWILIO_PER_SECOND"] = "2";
  const auto key = CreateKey("app");
  StartServer();
  json recipients = json::array();
  for (int i = 0; i < 3; ++i) {
    recipients.push_back({{"channel", "sms"}, {"to", "+1415555260" + std::to_string(i)}});
    recipients.push_back({{"channel", "whatsapp"}, {"to", "+1415555270" + std::to_string(i)}});
    recipients.push_back({{"channel", "telegram"}, {"to", "424242"}});
  }
  const auto id = Submit(key, recipients);
  const auto message = WaitForStatus(key, id, {"sent", "partially_sent", "failed"}, seconds(30));
  ASSERT_EQ(message["status"], "sent") << message.dump();
  // Telegram's flood control (the fake answers 429 to a chat's second message
  // within 900 ms) never had to say so: every send went at its first attempt.
  for (const auto& recipient : message["recipients"]) EXPECT_EQ(recipient["attempts"], 1) << recipient.dump();

  std::vector<std::int64_t> twilio_at, telegram_at;
  for (const auto& request : providers_.Requests()) {
    const std::string path = request["path"];
    if (path.rfind("/2010-04-01/", 0) == 0) twilio_at.push_back(request["received_at_ms"]);
    if (path.rfind("/bot", 0) == 0) telegram_at.push_back(request["received_at_ms"]);
  }
  ASSERT_EQ(twilio_at.size(), 6u);
  ASSERT_EQ(telegram_at.size(), 3u);
  std::sort(twilio_at.begin(), twilio_at.end());
  std::sort(telegram_at.begin(), telegram_at.end());
  // Two at once, then one every 500 ms between sms and whatsapp together: the sixth 2 s after the first.
  EXPECT_GE(twilio_at[5] - twilio_at[0], 1900) << "twilio.per_second = 2 is the account's, not each lane's";
  EXPECT_GE(telegram_at[1] - telegram_at[0], 950);
  EXPECT_GE(telegram_at[2] - telegram_at[1], 950);
}

TEST_F(ProvidersE2E, AProviderRefusalIsFinalWithTwiliosCodeAndThrottlingWaitsAsAsked) {
  UseProviders("twilio");
  const auto key = CreateKey("app");
  StartServer();
  const auto invalid = Submit(key, {{{"channel", "sms"}, {"to", "+15005550001"}}});
  const auto failed = WaitForStatus(key, invalid, {"sent", "failed"});
  ASSERT_EQ(failed["status"], "failed") << failed.dump();
  const std::string error = failed["recipients"][0].value("error", "");
  EXPECT_NE(error.find("Twilio error 21211"), std::string::npos) << failed.dump();
  EXPECT_EQ(failed["recipients"][0]["attempts"], 1);

  // Twilio answers 429 with Retry-After: 7; the next attempt waits that long,
  // not the test's 20 ms backoff.
  const auto throttled = Submit(key, {{{"channel", "sms"}, {"to", "+15005550429"}}});
  ASSERT_TRUE(WaitFor([&] { return TwilioRequests().size() == 2; }, seconds(10)));
  std::this_thread::sleep_for(seconds(3));
  EXPECT_EQ(TwilioRequests().size(), 2u) << "retried before Twilio's Retry-After";
  const auto waiting = CallJson("GET", "/api/v1/messages/" + std::to_string(throttled), key, nullptr, 200);
  EXPECT_EQ(waiting["recipients"][0]["status"], "queued") << waiting.dump();
}

TEST_F(ProvidersE2E, ATransientFailureFailsOverAndAnOpenCircuitSkipsTheProvider) {
  UseProviders("twilio,webhook");
  const auto key = CreateKey("app");
  StartServer();
  // Twilio answers 500 for this number: the webhook provider delivers instead, at the first attempt.
  for (int i = 0; i < 2; ++i) {
    const auto id = Submit(key, {{{"channel", "sms"}, {"to", "+15005550500"}}});
    const auto message = WaitForStatus(key, id, {"sent", "failed", "dead"});
    ASSERT_EQ(message["status"], "sent") << message.dump();
    EXPECT_EQ(message["recipients"][0]["attempts"], 1);
    EXPECT_EQ(message["recipients"][0]["provider_message_id"], webhook_.Requests().back()["answer"]["body"]["messageId"]);
  }
  EXPECT_EQ(TwilioRequests().size(), 2u);
  // Two failures in a row opened Twilio's circuit: the next message skips it.
  const auto health = json::parse(Call("GET", "/health", "").body);
  EXPECT_EQ(health["circuits"]["sms"][0]["circuit"], "open") << health.dump();
  EXPECT_EQ(health["circuits"]["sms"][1]["circuit"], "closed") << health.dump();
  const auto id = Submit(key, {{{"channel", "sms"}, {"to", "+14155552671"}}});
  EXPECT_EQ(WaitForStatus(key, id, {"sent", "failed", "dead"})["status"], "sent");
  EXPECT_EQ(TwilioRequests().size(), 2u);
  EXPECT_EQ(webhook_.Requests().size(), 3u);
}

TEST_F(ProvidersE2E, EmailGoesToSesSignedAsSimpleContentAndAThrottledSendFailsOverToTheOutbox) {
  UseSes("ses,outbox");
  const auto key = CreateKey("app");
  StartServer();
  const auto message = SendEmailAndWait(key, "ana@example.org", "Hello Ana");
  ASSERT_EQ(message["status"], "sent") << message.dump();
  const auto requests = providers_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(message["recipients"][0]["provider_message_id"], requests[0]["answer"]["body"]["MessageId"]);
  // Text only, nothing attached: SES builds the MIME from the parts.
  const auto& simple = requests[0]["body"]["Content"]["Simple"];
  EXPECT_EQ(simple["Subject"]["Data"], "Welcome") << requests[0].dump();
  EXPECT_EQ(simple["Body"]["Text"]["Data"], "Hello Ana");
  EXPECT_EQ(requests[0]["body"]["FromEmailAddress"], "\"Herald\" <notifications@herald.invalid>");
  EXPECT_EQ(requests[0]["body"]["Destination"]["ToAddresses"][0], "ana@example.org");

  // SES answers 429: the same attempt goes to the next provider, the outbox.
  const auto delivered = SendEmailAndWait(key, "throttle@example.org", "Hello");
  ASSERT_EQ(delivered["status"], "sent") << delivered.dump();
  EXPECT_EQ(delivered["recipients"][0]["attempts"], 1);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(data_dir_ + "/outbox")) {
    ++files;
    EXPECT_NE(ReadFile(entry.path().string()).find("To: throttle@example.org"), std::string::npos);
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(ReadFile(dir_.path() + "/serve.log").find(kSesSecret), std::string::npos);
}

TEST_F(ProvidersE2E, EmailGoesToSendGridAsFieldsAndTheDeliveryIdRidesAlong) {
  UseSendGrid("sendgrid");
  const auto key = CreateKey("app");
  StartServer();
  const auto message = SendEmailAndWait(key, "ana@example.org", "Hello Ana");
  ASSERT_EQ(message["status"], "sent") << message.dump();
  const auto requests = providers_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& body = requests[0]["body"];
  EXPECT_EQ(body["subject"], "Welcome");
  EXPECT_EQ(body["content"][0]["value"], "Hello Ana");
  EXPECT_EQ(body["personalizations"][0]["to"][0]["email"], "ana@example.org");
  EXPECT_FALSE(body["personalizations"][0]["custom_args"].value("herald_delivery_id", "").empty());
  EXPECT_FALSE(message["recipients"][0].value("provider_message_id", "").empty());
  EXPECT_EQ(ReadFile(dir_.path() + "/serve.log").find(kSendGridKey), std::string::npos);
}

// The fields of a logged callback, to post again.
std::vector<std::pair<std::string, std::string>> FormFields(const json& form) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [name, value] : form.items()) fields.emplace_back(name, value.get<std::string>());
  return fields;
}

TEST_F(ProvidersE2E, TwilioStatusCallbacksComeBackSignedAndShowOnTheirRecipient) {
  UseProviders("twilio");
  const auto callback_url = "http://127.0.0.1:" + std::to_string(ReservePort()) + "/webhooks/twilio";
  extra_env_["HERALD_TWILIO_STATUS_CALLBACK_URL"] = callback_url;
  const auto key = CreateKey("app");
  StartServer();
  // The fake Twilio reports "sent" then "delivered", or "undelivered" (30003) for +15005550030.
  const auto id = Submit(key, {{{"channel", "sms"}, {"to", "+14155552671"}},
                               {{"channel", "whatsapp"}, {"to", "+15005550030"}}});
  ASSERT_EQ(WaitForStatus(key, id, {"sent", "partially_sent", "failed"})["status"], "sent");
  const auto callbacks = [&] {
    std::vector<json> out;
    for (const auto& request : providers_.Requests()) {
      if (request["method"] == "CALLBACK") out.push_back(request);
    }
    return out;
  };
  ASSERT_TRUE(WaitFor([&] { return callbacks().size() == 4; }, seconds(20))) << providers_.Requests().size();
  const auto reports = callbacks();
  for (const auto& report : reports) EXPECT_EQ(report["answer"]["status"], 200) << report.dump();

  const auto message = CallJson("GET", "/api/v1/messages/" + std::to_string(id), key, nullptr, 200);
  for (const auto& recipient : message["recipients"]) {
    // The delivery id Herald sent with the message is the one that came back.
    const auto url = callback_url + "?herald_delivery_id=r" + std::to_string(recipient["id"].get<std::int64_t>());
    const auto to = recipient["channel"] == "whatsapp" ? "whatsapp:" + recipient["to"].get<std::string>()
                                                       : recipient["to"].get<std::string>();
    int about = 0;
    for (const auto& report : reports) {
      if (report["form"]["To"] != to) continue;
      ++about;
      EXPECT_EQ(report["path"], url);
      EXPECT_EQ(report["form"]["MessageSid"], recipient["provider_message_id"]);
    }
    EXPECT_EQ(about, 2) << to;
    ASSERT_EQ(recipient["events"].size(), 2u) << recipient.dump();
    EXPECT_EQ(recipient["events"][0]["type"], "accepted");
    EXPECT_EQ(recipient["events"][0]["provider"], "twilio");
    if (recipient["channel"] == "sms") {
      EXPECT_EQ(recipient["events"][1]["type"], "delivered");
      EXPECT_TRUE(recipient.contains("delivered_at")) << recipient.dump();
    } else {
      EXPECT_EQ(recipient["events"][1]["detail"], "undelivered: 30003");
      EXPECT_TRUE(recipient.contains("bounced_at")) << recipient.dump();
      EXPECT_FALSE(recipient.contains("delivered_at"));
    }
  }

  // Twilio retrying a callback changes nothing; one changed after signing is refused.
  const auto& last = reports.back();
  const std::map<std::string, std::string> headers{{"Content-Type", "application/x-www-form-urlencoded"},
                                                   {"X-Twilio-Signature", last["headers"]["x-twilio-signature"]}};
  const auto replay = HttpRequest("POST", last["path"], headers, FormUrlEncoded(FormFields(last["form"])));
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(json::parse(replay.body)["replayed"], 1) << replay.body;
  auto changed = last["form"];
  changed["MessageStatus"] = "read";
  const auto refused = HttpRequest("POST", last["path"], headers, FormUrlEncoded(FormFields(changed)));
  EXPECT_EQ(refused.status, 401) << refused.body;
  const auto after = CallJson("GET", "/api/v1/messages/" + std::to_string(id), key, nullptr, 200);
  for (const auto& recipient : after["recipients"]) EXPECT_EQ(recipient["events"].size(), 2u) << recipient.dump();
  const auto metrics = Call("GET", "/metrics", "").body;
  EXPECT_NE(metrics.find(R"(provider_events{provider="twilio",kind="delivered"} 1)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(provider_events{provider="twilio",kind="accepted"} 2)"), std::string::npos) << metrics;
}

// The provider events shown for a message's first recipient (none: empty).
json RecipientEvents(const json& message) { return message["recipients"][0].value("events", json::array()); }

TEST_F(ProvidersE2E, SendGridEventsSignedWithTheConfiguredKeyShowOnTheirRecipient) {
  UseSendGrid("sendgrid");
  const auto signer = tracking::testing::MakeEcKey();
  extra_env_["HERALD_WEBHOOKS_SENDGRID_PUBLIC_KEY"] = signer.public_key_base64;
  const auto key = CreateKey("app");
  StartServer();
  const auto message = SendEmailAndWait(key, "ana@example.org", "Hello Ana");
  ASSERT_EQ(message["status"], "sent") << message.dump();
  const auto requests = providers_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string delivery_id = requests[0]["body"]["personalizations"][0]["custom_args"]["herald_delivery_id"];
  EXPECT_EQ(delivery_id, "r" + std::to_string(message["recipients"][0]["id"].get<std::int64_t>()));
  // As SendGrid posts them: the custom arguments at the top of each event.
  const std::string sg_message_id = message["recipients"][0]["provider_message_id"].get<std::string>() + ".filter0001";
  const auto now = std::to_string(std::time(nullptr));
  json events = json::array();
  for (const auto& [event, id] : {std::pair{"processed", "sg-1"}, std::pair{"delivered", "sg-2"}, std::pair{"open", "sg-3"}}) {
    events.push_back({{"email", "ana@example.org"}, {"timestamp", std::stoll(now)}, {"event", event},
                      {"sg_event_id", id}, {"sg_message_id", sg_message_id}, {"herald_delivery_id", delivery_id}});
  }
  const auto post = [&](const tracking::testing::EcKey& with) {
    const auto body = events.dump();
    return HttpRequest("POST", Url("/webhooks/sendgrid"),
                       {{"Content-Type", "application/json"},
                        {"X-Twilio-Email-Event-Webhook-Signature",
                         tracking::testing::Sign(with.key.get(), EVP_sha256(), now + body)},
                        {"X-Twilio-Email-Event-Webhook-Timestamp", now}},
                       body);
  };
  const auto first = post(signer);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["stored"], 3) << first.body;
  EXPECT_EQ(json::parse(post(signer).body)["replayed"], 3) << "SendGrid retried the batch";
  EXPECT_EQ(post(tracking::testing::MakeEcKey()).status, 401) << "signed by another key";

  const auto shown = CallJson("GET", "/api/v1/messages/" + std::to_string(message["id"].get<std::int64_t>()), key,
                              nullptr, 200);
  const auto& recipient = shown["recipients"][0];
  EXPECT_EQ(RecipientEvents(shown).size(), 3u) << shown.dump();
  EXPECT_TRUE(recipient.contains("delivered_at")) << recipient.dump();
  EXPECT_TRUE(recipient.contains("read_at")) << recipient.dump();
}

TEST_F(ProvidersE2E, SesEventsThroughSnsAreVerifiedWithACertificateFromTheAllowedHostOnly) {
  UseSes("ses");
  const auto certificate = tracking::testing::MakeCertificate();
  WriteFile(dir_.path() + "/signing.pem", certificate.pem);
  const std::string topic = "arn:aws:sns:eu-west-1:123456789012:herald-e2e-events";
  std::string allowed = "^" + providers_.Url("/sns/");
  for (std::size_t at = allowed.find('.'); at != std::string::npos; at = allowed.find('.', at + 2)) {
    allowed.insert(at, "\\");
  }
  extra_env_["HERALD_WEBHOOKS_SNS_TOPIC_ARNS"] = topic;
  extra_env_["HERALD_WEBHOOKS_SNS_URL_PATTERN"] = allowed;
  const auto key = CreateKey("app");
  StartServer();
  const auto post = [&](const json& envelope) {
    return HttpRequest("POST", Url("/webhooks/ses"), {{"Content-Type", "text/plain; charset=UTF-8"}}, envelope.dump());
  };
  const auto gets = [&](const std::string& path) {
    int count = 0;
    for (const auto& request : providers_.Requests()) count += request["method"] == "GET" && request["path"] == path;
    return count;
  };

  // Subscribing the endpoint: Herald confirms at the SubscribeURL.
  tracking::SnsMessage subscription;
  subscription.type = "SubscriptionConfirmation";
  subscription.message_id = "sns-subscribe-1";
  subscription.topic_arn = topic;
  subscription.message = "You have chosen to subscribe to the topic " + topic + ".";
  subscription.token = "token-1";
  subscription.subscribe_url = providers_.Url("/sns/confirm?Action=ConfirmSubscription&Token=token-1");
  subscription.signing_cert_url = providers_.Url("/sns/signing.pem");
  const auto confirmed = post(tracking::testing::SignedSnsMessage(subscription, certificate));
  ASSERT_EQ(confirmed.status, 200) << confirmed.body << ReadFile(dir_.path() + "/serve.log");
  EXPECT_EQ(gets("/sns/confirm?Action=ConfirmSubscription&Token=token-1"), 1);

  const auto message = SendEmailAndWait(key, "bounce-me@example.org", "Hello");
  ASSERT_EQ(message["status"], "sent") << message.dump();
  std::string delivery_id;
  for (const auto& request : providers_.Requests()) {
    if (request["path"] == "/v2/email/outbound-emails") delivery_id = request["body"]["EmailTags"][0]["Value"];
  }
  EXPECT_EQ(delivery_id, "r" + std::to_string(message["recipients"][0]["id"].get<std::int64_t>()));
  const auto event =
      json{{"eventType", "Bounce"},
           {"bounce",
            {{"bounceType", "Permanent"},
             {"bounceSubType", "General"},
             {"timestamp", "2026-12-04T09:30:01.250Z"},
             {"bouncedRecipients",
              {{{"emailAddress", "bounce-me@example.org"}, {"diagnosticCode", "smtp; 550 5.1.1 user unknown"}}}}}},
           {"mail",
            {{"messageId", message["recipients"][0]["provider_message_id"]},
             {"tags", {{"herald_delivery_id", {delivery_id}}}}}}};
  tracking::SnsMessage notification;
  notification.type = "Notification";
  notification.message_id = "sns-bounce-1";
  notification.topic_arn = topic;
  notification.message = event.dump();
  notification.signing_cert_url = providers_.Url("/sns/signing.pem");
  const auto signed_notification = tracking::testing::SignedSnsMessage(notification, certificate);
  const auto stored = post(signed_notification);
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(json::parse(stored.body)["stored"], 1) << stored.body;
  EXPECT_EQ(json::parse(post(signed_notification).body)["replayed"], 1);
  auto tampered = signed_notification;
  tampered["MessageId"] = "sns-bounce-2";
  EXPECT_EQ(post(tampered).status, 401);
  auto elsewhere = notification;
  elsewhere.message_id = "sns-bounce-3";
  elsewhere.signing_cert_url = "http://127.0.0.2:9/signing.pem";
  EXPECT_EQ(post(tracking::testing::SignedSnsMessage(elsewhere, certificate)).status, 401);
  EXPECT_EQ(gets("/sns/signing.pem"), 1) << "the certificate is fetched once";

  const auto shown = CallJson("GET", "/api/v1/messages/" + std::to_string(message["id"].get<std::int64_t>()), key,
                              nullptr, 200);
  const auto events = RecipientEvents(shown);
  ASSERT_EQ(events.size(), 1u) << shown.dump();
  EXPECT_EQ(events[0]["provider"], "ses");
  EXPECT_NE(events[0]["detail"].get<std::string>().find("5.1.1"), std::string::npos) << events.dump();
  EXPECT_EQ(shown["recipients"][0]["bounced_at"], "2026-12-04T09:30:01.250Z") << shown.dump();
}

TEST_F(ProvidersE2E, AProviderMisconfiguredIsRefusedAtStartNamingTheSetting) {
  UseProviders("twilio");
  extra_env_["HERALD_TWILIO_ACCOUNT_SID"] = "AC-not-a-sid";
  const auto log = dir_.path() + "/refused.log";
  ChildProcess serve({.argv = {HERALD_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(FreePort()),
                               "--data-dir", data_dir_},
                      .extra_env = Environment(),
                      .stderr_path = log});
  EXPECT_EQ(serve.Wait(seconds(30)), 2);
  const auto said = ReadFile(log);
  EXPECT_NE(said.find("channels.sms.providers (\"twilio\" for sms): twilio.account_sid must be"), std::string::npos)
      << said;
  EXPECT_EQ(said.find(kToken), std::string::npos) << said;
}

}  // namespace
}  // namespace herald::testing
