#include "config/herald_config.hpp"

#include <gtest/gtest.h>

#include <map>

#include "tests/support/process.hpp"

namespace herald::config {
namespace {

struct FakeEnv {
  std::map<std::string, std::string> values;
  EnvLookup Lookup() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = values.find(name);
      if (it == values.end()) return std::nullopt;
      return it->second;
    };
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    // As ProcessEnvironmentNames: only HERALD_* names are checked against the known keys.
    for (const auto& [k, v] : values) {
      if (k.rfind("HERALD_", 0) == 0) names.push_back(k);
    }
    return names;
  }
};

// `toml` as the file herald.toml in `dir`, with `env`.
Result<HeraldConfig> LoadFromFile(const herald::testing::TempDir& dir, const std::string& toml, const FakeEnv& env = {}) {
  herald::testing::WriteFile(dir.path() + "/herald.toml", toml);
  return LoadConfig(dir.path() + "/herald.toml", env.Lookup(), env.Names());
}

TEST(Config, DefaultsAreValidWithoutFileOrEnvironment) {
  FakeEnv env;
  auto config = LoadConfig("", env.Lookup(), env.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->queue.kind, "embedded");
  EXPECT_EQ(config->data.dir, "herald-data");
  EXPECT_TRUE(config->smtp.url.empty());
}

TEST(Config, EnvironmentOverridesFile) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/herald.toml";
  herald::testing::WriteFile(
      path, "[smtp]\nurl = \"smtp://file:25\"\nmax_connections = 8\n[certificates.retry]\njitter = 0.1\n");
  FakeEnv env{{{"HERALD_SMTP_URL", "smtp://env:2525"}, {"HERALD_CERTIFICATES_RETRY_MAX_ATTEMPTS", "7"}}};
  auto config = LoadConfig(path, env.Lookup(), env.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->smtp.url, "smtp://env:2525");
  EXPECT_EQ(config->smtp.max_connections, 8);
  EXPECT_EQ(config->certificates.retry.max_attempts, 7);
  EXPECT_DOUBLE_EQ(config->certificates.retry.jitter, 0.1);
  EXPECT_EQ(config->serve.retry.max_attempts, 3) << "each job keeps its own defaults";
  EXPECT_DOUBLE_EQ(config->serve.retry.jitter, 0.2);
}

TEST(Config, UnknownFileKeyIsAnErrorNamingFileLineAndKey) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/herald.toml";
  herald::testing::WriteFile(path, "[smtp]\nurl = \"smtp://x\"\nmax_conections = 8\n");
  FakeEnv env;
  auto config = LoadConfig(path, env.Lookup(), env.Names());
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, "config.unknown_key");
  EXPECT_NE(config.error().message.find(path + ":3"), std::string::npos) << config.error().message;
  EXPECT_NE(config.error().message.find("smtp.max_conections"), std::string::npos);
}

TEST(Config, UnknownEnvironmentVariableIsAnError) {
  FakeEnv env{{{"HERALD_SMTP_URLL", "x"}}};
  auto config = LoadConfig("", env.Lookup(), env.Names());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("HERALD_SMTP_URLL"), std::string::npos);
}

TEST(Config, BadValuesAreRejectedWithTheKeyNamed) {
  FakeEnv env{{{"HERALD_QUEUE_KIND", "kafka"}}};
  auto config = LoadConfig("", env.Lookup(), env.Names());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("queue.kind"), std::string::npos);

  FakeEnv env2{{{"HERALD_SERVE_RETRY_MAX_ATTEMPTS", "three"}}};
  auto config2 = LoadConfig("", env2.Lookup(), env2.Names());
  ASSERT_FALSE(config2);
  EXPECT_NE(config2.error().message.find("serve.retry.max_attempts"), std::string::npos);

  FakeEnv env3{{{"HERALD_SERVE_SMS_PER_SECOND", "-5"}}};
  auto config3 = LoadConfig("", env3.Lookup(), env3.Names());
  ASSERT_FALSE(config3);
  EXPECT_NE(config3.error().message.find("serve.sms_per_second"), std::string::npos) << config3.error().message;
  FakeEnv env4{{{"HERALD_SERVE_TELEGRAM_PER_SECOND", "30"}}};
  auto config4 = LoadConfig("", env4.Lookup(), env4.Names());
  ASSERT_TRUE(config4) << config4.error().message;
  EXPECT_EQ(config4->serve.telegram_per_second, 30);
  EXPECT_EQ(config4->serve.email_per_second, 0) << "no limit unless asked";
}

TEST(Config, TheStoreIsSqliteByDefaultAndPostgresNeedsAUrlWhoseSecretIsMasked) {
  FakeEnv defaults;
  auto config = LoadConfig("", defaults.Lookup(), defaults.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->store.kind, "sqlite");
  EXPECT_EQ(config->store.pool_size, 8);

  FakeEnv no_url{{{"HERALD_STORE_KIND", "postgres"}}};
  config = LoadConfig("", no_url.Lookup(), no_url.Names());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("store.url"), std::string::npos) << config.error().message;

  FakeEnv other{{{"HERALD_STORE_KIND", "mysql"}}};
  config = LoadConfig("", other.Lookup(), other.Names());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("store.kind"), std::string::npos) << config.error().message;

  FakeEnv postgres{{{"HERALD_STORE_KIND", "postgres"},
                    {"HERALD_STORE_URL", "postgresql://herald:hunter2@db.example.org:5432/herald"},
                    {"HERALD_STORE_REPLICA_URL", "postgresql://reader:swordfish@replica.example.org:5432/herald"},
                    {"HERALD_STORE_POOL_SIZE", "3"}}};
  config = LoadConfig("", postgres.Lookup(), postgres.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->store.url, "postgresql://herald:hunter2@db.example.org:5432/herald");
  EXPECT_EQ(config->store.replica_url, "postgresql://reader:swordfish@replica.example.org:5432/herald");
  EXPECT_EQ(config->store.pool_size, 3);
  const auto described = DescribeConfig(*config);
  EXPECT_EQ(described.find("hunter2"), std::string::npos) << described;
  EXPECT_EQ(described.find("swordfish"), std::string::npos) << described;
  EXPECT_NE(described.find("store.replica_url"), std::string::npos) << described;

  FakeEnv replica_of_sqlite{{{"HERALD_STORE_REPLICA_URL", "postgresql://reader@replica.example.org/herald"}}};
  config = LoadConfig("", replica_of_sqlite.Lookup(), replica_of_sqlite.Names());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("store.replica_url"), std::string::npos) << config.error().message;
  EXPECT_NE(described.find("store.kind"), std::string::npos) << described;
}

TEST(Config, TomlSyntaxErrorNamesFileAndLine) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/herald.toml";
  herald::testing::WriteFile(path, "[smtp]\nurl = \n");
  FakeEnv env;
  auto config = LoadConfig(path, env.Lookup(), env.Names());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find(path + ":2"), std::string::npos) << config.error().message;
}

TEST(Config, PacerDefaultsToSeed001AndIsValidated) {
  FakeEnv defaults;
  auto config = LoadConfig("", defaults.Lookup(), defaults.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->serve.pacer_batch_size, 2);
  EXPECT_EQ(config->serve.pacer_interval_seconds, 120);
  FakeEnv env{{{"HERALD_SERVE_PACER_BATCH_SIZE", "5"}, {"HERALD_SERVE_PACER_INTERVAL_SECONDS", "1"}}};
  config = LoadConfig("", env.Lookup(), env.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->serve.pacer_batch_size, 5);
  EXPECT_EQ(config->serve.pacer_interval_seconds, 1);
  FakeEnv zero{{{"HERALD_SERVE_PACER_INTERVAL_SECONDS", "0"}}};
  config = LoadConfig("", zero.Lookup(), zero.Names());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("serve.pacer_interval_seconds"), std::string::npos) << config.error().message;
}

TEST(Config, DescribeMasksSecrets) {
  FakeEnv env{{{"HERALD_SMTP_PASSWORD", "hunter2"},
               {"HERALD_SMTP_URL", "smtp://mailer:topsecret@mail.example.org:587"},
               {"HERALD_QUEUE_AMQP_URL", "amqp://herald:brokerpass@mq:5672/%2f"}}};
  auto config = LoadConfig("", env.Lookup(), env.Names());
  ASSERT_TRUE(config);
  const auto text = DescribeConfig(*config);
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_EQ(text.find("topsecret"), std::string::npos);
  EXPECT_EQ(text.find("brokerpass"), std::string::npos);
  EXPECT_NE(text.find("smtp://mailer:***@mail.example.org:587"), std::string::npos) << text;
  EXPECT_NE(text.find("HERALD_SMTP_PASSWORD"), std::string::npos);
}

TEST(Config, DescribeMasksTheCredentialsOfEveryUrl) {
  FakeEnv env{{{"HERALD_SERVE_PROVIDER", "webhook"},
               {"HERALD_SERVE_WEBHOOK_URL", "https://hooks:s3cret@sms.example.org/send?token=abc123&region=eu#x"}}};
  auto config = LoadConfig("", env.Lookup(), env.Names());
  ASSERT_TRUE(config) << config.error().message;
  const auto text = DescribeConfig(*config);
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  EXPECT_EQ(text.find("abc123"), std::string::npos) << text;
  EXPECT_NE(text.find("\"https://hooks:***@sms.example.org/send?token=***&region=***#x\""), std::string::npos) << text;

  EXPECT_EQ(MaskUrlCredentials("https://tok3n@api.example.org/v1"), "https://***@api.example.org/v1");
  EXPECT_EQ(MaskUrlCredentials("http://127.0.0.1:8080/hook"), "http://127.0.0.1:8080/hook");
  EXPECT_EQ(MaskUrlCredentials("https://h.example.org?key"), "https://h.example.org?key");
  EXPECT_EQ(MaskUrlCredentials("https://h.example.org/p#a?b=c"), "https://h.example.org/p#a?b=c");
  EXPECT_EQ(MaskUrlCredentials("not a url"), "not a url");
}

TEST(Config, EveryJobHasTheSameRetryShapeInATableOfItsOwn) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/herald.toml";
  herald::testing::WriteFile(path,
                             "[serve]\nlisten = \"127.0.0.1:9000\"\n[serve.retry]\nmax_attempts = 7\nbase_delay_ms = 10\n"
                             "[serve.pacer_retry]\nmax_attempts = 4\n[certificates.retry]\nmax_delay_ms = 9000\n");
  FakeEnv env{{{"HERALD_SERVE_PACER_RETRY_BASE_DELAY_MS", "500"}, {"HERALD_SERVE_PACER_RETRY_MAX_DELAY_MS", "500"}}};
  auto config = LoadConfig(path, env.Lookup(), env.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->serve.listen, "127.0.0.1:9000");
  EXPECT_EQ(config->serve.retry.max_attempts, 7);
  EXPECT_EQ(config->serve.retry.base_delay_ms, 10);
  EXPECT_EQ(config->serve.pacer_retry.max_attempts, 4);
  EXPECT_EQ(config->serve.pacer_retry.base_delay_ms, 500);
  EXPECT_EQ(config->certificates.retry.max_delay_ms, 9000);
  EXPECT_EQ(config->certificates.retry.max_attempts, 5);
  const auto described = DescribeConfig(*config);
  EXPECT_NE(described.find("serve.pacer_retry.max_attempts (HERALD_SERVE_PACER_RETRY_MAX_ATTEMPTS) = 4"),
            std::string::npos)
      << described;

  herald::testing::WriteFile(path, "[serve.retry]\nmax_attempts = 0\n");
  auto zero = LoadConfig(path, env.Lookup(), env.Names());
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("serve.retry.max_attempts must be 1..100"), std::string::npos);
  herald::testing::WriteFile(path, "[serve.retry]\nmax_attemps = 2\n");
  auto typo = LoadConfig(path, env.Lookup(), env.Names());
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find(path + ":2: unknown key \"serve.retry.max_attemps\""), std::string::npos)
      << typo.error().message;
}

TEST(Config, KeysOfEarlierVersionsSayWhereTheyLiveNow) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/herald.toml";
  herald::testing::WriteFile(path, "[serve]\nmax_attempts = 2\n");
  FakeEnv none;
  auto from_file = LoadConfig(path, none.Lookup(), none.Names());
  ASSERT_FALSE(from_file);
  EXPECT_NE(from_file.error().message.find(path + ":2: \"serve.max_attempts\" is now serve.retry.max_attempts"),
            std::string::npos)
      << from_file.error().message;
  FakeEnv env{{{"HERALD_RETRY_BASE_DELAY_MS", "50"}}};
  auto from_env = LoadConfig("", env.Lookup(), env.Names());
  ASSERT_FALSE(from_env);
  EXPECT_NE(from_env.error().message.find("HERALD_RETRY_BASE_DELAY_MS is now HERALD_CERTIFICATES_RETRY_BASE_DELAY_MS "
                                          "or HERALD_SERVE_RETRY_BASE_DELAY_MS"),
            std::string::npos)
      << from_env.error().message;
  // retry.max_attempts was the certificate job's alone: serve counted serve.max_attempts.
  herald::testing::WriteFile(path, "[retry]\nmax_attempts = 6\n");
  auto attempts = LoadConfig(path, none.Lookup(), none.Names());
  ASSERT_FALSE(attempts);
  EXPECT_NE(attempts.error().message.find("\"retry.max_attempts\" is now certificates.retry.max_attempts"),
            std::string::npos)
      << attempts.error().message;
  EXPECT_EQ(attempts.error().message.find("serve.retry"), std::string::npos) << attempts.error().message;
}

TEST(Config, ATableThatIsNoSectionOrASectionThatIsNoTableIsRefused) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/herald.toml";
  FakeEnv none;
  herald::testing::WriteFile(path, "[serve.retries]\n");
  auto empty_typo = LoadConfig(path, none.Lookup(), none.Names());
  ASSERT_FALSE(empty_typo);
  EXPECT_NE(empty_typo.error().message.find("unknown key \"serve.retries\""), std::string::npos)
      << empty_typo.error().message;
  herald::testing::WriteFile(path, "[certificates]\nretry = 5\n");
  auto scalar = LoadConfig(path, none.Lookup(), none.Names());
  ASSERT_FALSE(scalar);
  EXPECT_NE(scalar.error().message.find(path + ":2: certificates.retry must be a table ([certificates.retry])"),
            std::string::npos)
      << scalar.error().message;
}

TEST(Config, RedisIsOptionalAndItsPasswordIsMasked) {
  FakeEnv none;
  auto defaults = LoadConfig("", none.Lookup(), none.Names());
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_TRUE(defaults->redis.url.empty()) << "no Redis unless asked";

  FakeEnv env{{{"HERALD_REDIS_URL", "redis://:cachepass@cache.internal:6380/2"}, {"HERALD_REDIS_TIMEOUT_MS", "100"}}};
  auto config = LoadConfig("", env.Lookup(), env.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->redis.url, "redis://:cachepass@cache.internal:6380/2");
  EXPECT_EQ(config->redis.timeout_ms, 100);
  const auto text = DescribeConfig(*config);
  EXPECT_EQ(text.find("cachepass"), std::string::npos) << text;
  EXPECT_NE(text.find("HERALD_REDIS_URL"), std::string::npos) << text;

  FakeEnv wrong{{{"HERALD_REDIS_URL", "localhost:6379"}}};
  auto refused = LoadConfig("", wrong.Lookup(), wrong.Names());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("redis.url"), std::string::npos) << refused.error().message;
}

TEST(Config, ProviderListsComeFromTomlArraysOrCommaSeparatedVariables) {
  herald::testing::TempDir dir;
  FakeEnv env{{{"HERALD_TWILIO_AUTH_TOKEN", "tw-secret"},
               {"HERALD_TELEGRAM_BOT_TOKEN", "4242:tg-secret"},
               {"HERALD_CHANNELS_TELEGRAM_PROVIDERS", "telegram, webhook"},
               {"HERALD_SERVE_WEBHOOK_URL", "http://127.0.0.1:9/hook"}}};
  auto config = LoadFromFile(dir,
                             "[channels.sms]\nproviders = [\"twilio\", \"mock\"]\n"
                             "[twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\nfrom = \"+15005550006\"\n"
                             "[telegram]\nparse_mode = \"HTML\"\n",
                             env);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->channels.sms, (std::vector<std::string>{"twilio", "mock"}));
  EXPECT_EQ(config->channels.telegram, (std::vector<std::string>{"telegram", "webhook"}));
  EXPECT_TRUE(config->channels.whatsapp.empty());
  EXPECT_EQ(config->telegram.parse_mode, "HTML");
  const auto described = DescribeConfig(*config);
  EXPECT_NE(described.find("channels.sms.providers (HERALD_CHANNELS_SMS_PROVIDERS) = [\"twilio\", \"mock\"]"),
            std::string::npos)
      << described;
  EXPECT_NE(described.find("twilio.auth_token (HERALD_TWILIO_AUTH_TOKEN) = \"***\""), std::string::npos);
  EXPECT_EQ(described.find("tw-secret"), std::string::npos);
  EXPECT_EQ(described.find("tg-secret"), std::string::npos);
}

TEST(Config, ProviderListMistakesNameTheKeyAndWhatIsMissing) {
  auto error_of = [](std::map<std::string, std::string> values) {
    FakeEnv env{std::move(values)};
    auto config = LoadConfig("", env.Lookup(), env.Names());
    return config ? std::string("accepted") : config.error().message;
  };
  EXPECT_EQ(error_of({{"HERALD_CHANNELS_SMS_PROVIDERS", "twillio"}}),
            "channels.sms.providers: \"twillio\" is not a sms provider; choose from \"twilio\", \"webhook\", \"mock\"");
  EXPECT_EQ(error_of({{"HERALD_CHANNELS_EMAIL_PROVIDERS", "smtp,smtp"}}), "channels.email.providers names \"smtp\" twice");
  EXPECT_EQ(error_of({{"HERALD_CHANNELS_EMAIL_PROVIDERS", "smtp,,outbox"}}).find("without empty items") !=
                std::string::npos,
            true);
  EXPECT_NE(error_of({{"HERALD_CHANNELS_WHATSAPP_PROVIDERS", "twilio"}}).find("set twilio.account_sid and twilio.auth_token"),
            std::string::npos);
  EXPECT_NE(error_of({{"HERALD_CHANNELS_TELEGRAM_PROVIDERS", "telegram"}}).find("set telegram.bot_token"),
            std::string::npos);
  EXPECT_NE(error_of({{"HERALD_CHANNELS_SMS_PROVIDERS", "webhook"}}).find("set serve.webhook_url"), std::string::npos);
  EXPECT_EQ(error_of({{"HERALD_CHANNELS_CIRCUIT_FAILURES", "0"}}), "channels.circuit_failures must be 1..1000");

  herald::testing::TempDir dir;
  auto config = LoadFromFile(dir, "[channels.sms]\n\nproviders = \"twilio\"\n");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message,
            dir.path() + "/herald.toml:3: channels.sms.providers must be a list of names, e.g. [\"twilio\"]");
}

TEST(Config, WebhooksAreOffUntilSetAndTheirMistakesNameTheKey) {
  FakeEnv none{{}};
  auto defaults = LoadConfig("", none.Lookup(), none.Names());
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_TRUE(defaults->webhooks.sendgrid_public_key.empty());
  EXPECT_TRUE(defaults->webhooks.sns_topic_arns.empty());
  EXPECT_EQ(defaults->webhooks.sns_url_pattern, R"(^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/)");

  herald::testing::TempDir dir;
  auto config = LoadFromFile(dir,
                             "[webhooks]\nsendgrid_public_key = \"MFkwEw==\"\n"
                             "sns_topic_arns = [\"arn:aws:sns:eu-west-1:123456789012:ses-events\"]\n"
                             "sns_url_pattern = '^http://127\\.0\\.0\\.1:\\d+/'\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->webhooks.sendgrid_public_key, "MFkwEw==");
  EXPECT_EQ(config->webhooks.sns_topic_arns,
            (std::vector<std::string>{"arn:aws:sns:eu-west-1:123456789012:ses-events"}));
  EXPECT_EQ(config->webhooks.sns_url_pattern, R"(^http://127\.0\.0\.1:\d+/)");

  auto error_of = [](std::map<std::string, std::string> values) {
    FakeEnv env{std::move(values)};
    auto loaded = LoadConfig("", env.Lookup(), env.Names());
    return loaded ? std::string("accepted") : loaded.error().message;
  };
  EXPECT_EQ(error_of({{"HERALD_WEBHOOKS_SNS_TOPIC_ARNS", "ses-events"}}),
            "webhooks.sns_topic_arns: \"ses-events\" is not a topic ARN such as "
            "\"arn:aws:sns:eu-west-1:123456789012:ses-events\"");
  EXPECT_EQ(error_of({{"HERALD_WEBHOOKS_SNS_URL_PATTERN", "^https://(sns"}}).rfind(
                "webhooks.sns_url_pattern is not a regular expression", 0),
            0u);
}

TEST(Config, ProviderThrottlesHaveTheProvidersDefaultsAndTheirMistakesNameTheKey) {
  FakeEnv none{{}};
  auto defaults = LoadConfig("", none.Lookup(), none.Names());
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->telegram.throttle.per_second, 30) << "Telegram's limit for one bot";
  EXPECT_EQ(defaults->telegram.per_chat_interval_ms, 1000) << "and one message a second per chat";
  EXPECT_EQ(defaults->twilio.throttle.per_second, 0);
  EXPECT_EQ(defaults->ses.throttle.max_in_flight, 16);
  EXPECT_EQ(defaults->ses.content, "auto");

  herald::testing::TempDir dir;
  auto config = LoadFromFile(dir,
                             "[twilio]\nper_second = 10\nmax_in_flight = 4\n[ses]\nper_second = 14\ncontent = \"raw\"\n"
                             "[telegram]\nper_chat_interval_ms = 0\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->twilio.throttle.per_second, 10);
  EXPECT_EQ(config->twilio.throttle.max_in_flight, 4);
  EXPECT_EQ(config->ses.throttle.per_second, 14);
  EXPECT_EQ(config->ses.content, "raw");
  EXPECT_EQ(config->telegram.per_chat_interval_ms, 0);

  auto error_of = [](std::map<std::string, std::string> values) {
    FakeEnv env{std::move(values)};
    auto loaded = LoadConfig("", env.Lookup(), env.Names());
    return loaded ? std::string("accepted") : loaded.error().message;
  };
  EXPECT_EQ(error_of({{"HERALD_SENDGRID_PER_SECOND", "-1"}}),
            "sendgrid.per_second must be 0 (no limit of Herald's own) to 100000");
  EXPECT_EQ(error_of({{"HERALD_TELEGRAM_MAX_IN_FLIGHT", "0"}}),
            "telegram.max_in_flight must be 1..1000: requests awaiting an answer at once");
  EXPECT_EQ(error_of({{"HERALD_SES_CONTENT", "simple"}}).rfind("ses.content must be \"auto\"", 0), 0u);
}

TEST(Config, SesTakesWhatItsSectionLeavesEmptyFromTheAwsVariables) {
  herald::testing::TempDir dir;
  FakeEnv env{{{"AWS_ACCESS_KEY_ID", "AKIAENV"},
               {"AWS_SECRET_ACCESS_KEY", "env-secret"},
               {"AWS_DEFAULT_REGION", "us-east-2"},
               {"HERALD_CHANNELS_EMAIL_PROVIDERS", "ses,outbox"}}};
  auto config = LoadFromFile(dir, "[ses]\naccess_key_id = \"AKIAFILE\"\n", env);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->ses.access_key_id, "AKIAFILE") << "the file's own value wins";
  EXPECT_EQ(config->ses.secret_access_key, "env-secret");
  EXPECT_EQ(config->ses.region, "us-east-2");
  EXPECT_EQ(DescribeConfig(*config).find("env-secret"), std::string::npos);

  FakeEnv without{{{"HERALD_CHANNELS_EMAIL_PROVIDERS", "ses"}}};
  auto missing = LoadConfig("", without.Lookup(), without.Names());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("set ses.region, ses.access_key_id and ses.secret_access_key"),
            std::string::npos);
}

}  // namespace
}  // namespace herald::config
