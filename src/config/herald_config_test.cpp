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
    for (const auto& [k, v] : values) names.push_back(k);
    return names;
  }
};

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
  herald::testing::WriteFile(path, "[smtp]\nurl = \"smtp://file:25\"\nmax_connections = 8\n[retry]\njitter = 0.1\n");
  FakeEnv env{{{"HERALD_SMTP_URL", "smtp://env:2525"}, {"HERALD_RETRY_MAX_ATTEMPTS", "3"}}};
  auto config = LoadConfig(path, env.Lookup(), env.Names());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->smtp.url, "smtp://env:2525");
  EXPECT_EQ(config->smtp.max_connections, 8);
  EXPECT_EQ(config->retry.max_attempts, 3);
  EXPECT_DOUBLE_EQ(config->retry.jitter, 0.1);
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

  FakeEnv env2{{{"HERALD_RETRY_MAX_ATTEMPTS", "three"}}};
  auto config2 = LoadConfig("", env2.Lookup(), env2.Names());
  ASSERT_FALSE(config2);
  EXPECT_NE(config2.error().message.find("retry.max_attempts"), std::string::npos);
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

}  // namespace
}  // namespace herald::config
