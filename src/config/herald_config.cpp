#include "config/herald_config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <string_view>
#include <variant>
#include <vector>

extern char** environ;

namespace herald::config {
namespace {

// One entry per configurable key: the TOML section/key, and where its value lives.
struct Field {
  std::string section;
  std::string key;
  // A list is a TOML array of strings, or comma-separated in the environment.
  std::variant<std::string*, int*, double*, std::vector<std::string>*> target;
  bool secret = false;

  std::string EnvName() const;
  std::string Path() const { return section + "." + key; }
};

std::string EnvNameOf(const std::string& path);
std::string Field::EnvName() const { return EnvNameOf(Path()); }

void AddThrottleFields(std::vector<Field>& fields, const std::string& section, ProviderThrottleConfig& throttle) {
  fields.push_back({section, "per_second", &throttle.per_second});
  fields.push_back({section, "max_in_flight", &throttle.max_in_flight});
}

void AddRetryFields(std::vector<Field>& fields, const std::string& section, RetryConfig& retry) {
  fields.push_back({section, "max_attempts", &retry.max_attempts});
  fields.push_back({section, "base_delay_ms", &retry.base_delay_ms});
  fields.push_back({section, "max_delay_ms", &retry.max_delay_ms});
  fields.push_back({section, "jitter", &retry.jitter});
}

std::vector<Field> FieldsOf(HeraldConfig& c) {
  std::vector<Field> fields = {
      {"data", "dir", &c.data.dir},
      {"smtp", "url", &c.smtp.url, true},
      {"smtp", "username", &c.smtp.username},
      {"smtp", "password", &c.smtp.password, true},
      {"smtp", "max_connections", &c.smtp.max_connections},
      {"smtp", "messages_per_session", &c.smtp.messages_per_session},
      {"smtp", "timeout_seconds", &c.smtp.timeout_seconds},
      {"store", "kind", &c.store.kind},
      {"store", "url", &c.store.url, true},
      {"store", "replica_url", &c.store.replica_url, true},
      {"store", "pool_size", &c.store.pool_size},
      {"store", "query_timeout_ms", &c.store.query_timeout_ms},
      {"queue", "kind", &c.queue.kind},
      {"queue", "amqp_url", &c.queue.amqp_url, true},
      {"queue", "prefetch", &c.queue.prefetch},
      {"redis", "url", &c.redis.url, true},
      {"redis", "timeout_ms", &c.redis.timeout_ms},
      {"email_jobs", "owner_key_id", &c.email_jobs.owner_key_id},
      {"certificates", "from", &c.certificates.from},
      {"certificates", "subject", &c.certificates.subject},
      {"certificates", "body_file", &c.certificates.body_file},
      {"certificates", "outbox_dir", &c.certificates.outbox_dir},
      {"certificates", "date", &c.certificates.date},
      {"certificates", "concurrency", &c.certificates.concurrency},
      {"certificates", "render_timeout_seconds", &c.certificates.render_timeout_seconds},
      {"certificates", "render_memory_mb", &c.certificates.render_memory_mb},
      {"serve", "listen", &c.serve.listen},
      {"serve", "http_threads", &c.serve.http_threads},
      {"serve", "max_in_flight", &c.serve.max_in_flight},
      {"serve", "email_per_second", &c.serve.email_per_second},
      {"serve", "sms_per_second", &c.serve.sms_per_second},
      {"serve", "whatsapp_per_second", &c.serve.whatsapp_per_second},
      {"serve", "telegram_per_second", &c.serve.telegram_per_second},
      {"serve", "shutdown_seconds", &c.serve.shutdown_seconds},
      {"serve", "email_from", &c.serve.email_from},
      {"serve", "outbox_dir", &c.serve.outbox_dir},
      {"serve", "provider", &c.serve.provider},
      {"serve", "mock_success_rate", &c.serve.mock_success_rate},
      {"serve", "mock_seed", &c.serve.mock_seed},
      {"serve", "webhook_url", &c.serve.webhook_url},
      {"serve", "webhook_auth_header", &c.serve.webhook_auth_header, true},
      {"serve", "max_bulk_messages", &c.serve.max_bulk_messages},
      {"serve", "free_per_minute", &c.serve.free_per_minute},
      {"serve", "basic_per_minute", &c.serve.basic_per_minute},
      {"serve", "premium_per_minute", &c.serve.premium_per_minute},
      {"serve", "pacer_batch_size", &c.serve.pacer_batch_size},
      {"serve", "pacer_interval_seconds", &c.serve.pacer_interval_seconds},
      {"channels.email", "providers", &c.channels.email},
      {"channels.sms", "providers", &c.channels.sms},
      {"channels.whatsapp", "providers", &c.channels.whatsapp},
      {"channels.telegram", "providers", &c.channels.telegram},
      {"channels", "circuit_failures", &c.channels.circuit_failures},
      {"channels", "circuit_open_seconds", &c.channels.circuit_open_seconds},
      {"twilio", "base_url", &c.twilio.base_url},
      {"twilio", "account_sid", &c.twilio.account_sid},
      {"twilio", "auth_token", &c.twilio.auth_token, true},
      {"twilio", "from", &c.twilio.from},
      {"twilio", "whatsapp_from", &c.twilio.whatsapp_from},
      {"twilio", "messaging_service_sid", &c.twilio.messaging_service_sid},
      {"twilio", "status_callback_url", &c.twilio.status_callback_url},
      {"twilio", "timeout_seconds", &c.twilio.timeout_seconds},
      {"ses", "region", &c.ses.region},
      {"ses", "access_key_id", &c.ses.access_key_id},
      {"ses", "secret_access_key", &c.ses.secret_access_key, true},
      {"ses", "session_token", &c.ses.session_token, true},
      {"ses", "base_url", &c.ses.base_url},
      {"ses", "configuration_set", &c.ses.configuration_set},
      {"ses", "content", &c.ses.content},
      {"ses", "timeout_seconds", &c.ses.timeout_seconds},
      {"sendgrid", "base_url", &c.sendgrid.base_url},
      {"sendgrid", "api_key", &c.sendgrid.api_key, true},
      {"sendgrid", "timeout_seconds", &c.sendgrid.timeout_seconds},
      {"telegram", "base_url", &c.telegram.base_url},
      {"telegram", "bot_token", &c.telegram.bot_token, true},
      {"telegram", "parse_mode", &c.telegram.parse_mode},
      {"telegram", "timeout_seconds", &c.telegram.timeout_seconds},
      {"telegram", "per_chat_interval_ms", &c.telegram.per_chat_interval_ms},
      {"webhooks", "sendgrid_public_key", &c.webhooks.sendgrid_public_key},
      {"webhooks", "sns_topic_arns", &c.webhooks.sns_topic_arns},
      {"webhooks", "sns_url_pattern", &c.webhooks.sns_url_pattern},
  };
  AddThrottleFields(fields, "twilio", c.twilio.throttle);
  AddThrottleFields(fields, "ses", c.ses.throttle);
  AddThrottleFields(fields, "sendgrid", c.sendgrid.throttle);
  AddThrottleFields(fields, "telegram", c.telegram.throttle);
  AddRetryFields(fields, "certificates.retry", c.certificates.retry);
  AddRetryFields(fields, "serve.retry", c.serve.retry);
  AddRetryFields(fields, "serve.pacer_retry", c.serve.pacer_retry);
  return fields;
}

// Keys of earlier versions, and where they live now: named in the error, so an
// old file or environment is fixed in one step.
// retry.max_attempts was the certificate job's only (serve had serve.max_attempts);
// the delays were shared by both.
const std::map<std::string, std::vector<std::string>>& MovedKeys() {
  static const std::map<std::string, std::vector<std::string>> moved = {
      {"retry.max_attempts", {"certificates.retry.max_attempts"}},
      {"retry.base_delay_ms", {"certificates.retry.base_delay_ms", "serve.retry.base_delay_ms"}},
      {"retry.max_delay_ms", {"certificates.retry.max_delay_ms", "serve.retry.max_delay_ms"}},
      {"retry.jitter", {"certificates.retry.jitter", "serve.retry.jitter"}},
      {"serve.max_attempts", {"serve.retry.max_attempts"}},
      {"serve.pacer_max_attempts", {"serve.pacer_retry.max_attempts"}},
  };
  return moved;
}

// "a", "a or b", as `name` spells each one.
std::string Alternatives(const std::vector<std::string>& paths, std::string (*name)(const std::string&)) {
  std::string out;
  for (const auto& path : paths) out += (out.empty() ? "" : " or ") + name(path);
  return out;
}

std::string AsPath(const std::string& path) { return path; }

std::string EnvNameOf(const std::string& path) {
  std::string name = "HERALD_" + path;
  for (char& c : name) c = c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string UnknownKeyMessage(const std::string& where, const std::string& path) {
  const auto moved = MovedKeys().find(path);
  if (moved != MovedKeys().end()) return where + ": \"" + path + "\" is now " + Alternatives(moved->second, AsPath);
  return where + ": unknown key \"" + path + "\"";
}

Result<void> SetFromText(const Field& field, const std::string& text, const std::string& origin) {
  auto bad = [&](const char* expected) {
    return MakeError("config.invalid_value", origin + ": " + field.Path() + " must be " + expected + ", got \"" +
                                                 (field.secret ? std::string("***") : text) + "\"");
  };
  if (auto* s = std::get_if<std::string*>(&field.target)) {
    **s = text;
  } else if (auto* i = std::get_if<int*>(&field.target)) {
    char* end = nullptr;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0') return bad("a whole number");
    **i = static_cast<int>(value);
  } else if (auto* d = std::get_if<double*>(&field.target)) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') return bad("a number");
    **d = value;
  } else if (auto* list = std::get_if<std::vector<std::string>*>(&field.target)) {
    (*list)->clear();
    std::string_view rest(text);
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      auto item = rest.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item.empty()) return bad("a comma-separated list without empty items");
      (*list)->emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return {};
}

Result<void> SetFromToml(const Field& field, const toml::node& node, const std::string& origin) {
  if (auto* s = std::get_if<std::string*>(&field.target)) {
    if (!node.is_string()) return MakeError("config.invalid_value", origin + ": " + field.Path() + " must be a string");
    **s = *node.value<std::string>();
  } else if (auto* i = std::get_if<int*>(&field.target)) {
    if (!node.is_integer()) return MakeError("config.invalid_value", origin + ": " + field.Path() + " must be an integer");
    **i = static_cast<int>(*node.value<int64_t>());
  } else if (auto* d = std::get_if<double*>(&field.target)) {
    if (!node.is_number()) return MakeError("config.invalid_value", origin + ": " + field.Path() + " must be a number");
    **d = *node.value<double>();
  } else if (auto* list = std::get_if<std::vector<std::string>*>(&field.target)) {
    const auto* array = node.as_array();
    const auto line = std::to_string(node.source().begin.line);
    if (array == nullptr) {
      return MakeError("config.invalid_value",
                       origin + ":" + line + ": " + field.Path() + " must be a list of names, e.g. [\"twilio\"]");
    }
    (*list)->clear();
    for (const auto& item : *array) {
      if (!item.is_string()) {
        return MakeError("config.invalid_value", origin + ":" + line + ": " + field.Path() + " must hold strings only");
      }
      (*list)->push_back(*item.value<std::string>());
    }
  }
  return {};
}

Result<void> Validate(const HeraldConfig& c) {
  auto fail = [](const std::string& message) { return MakeError("config.invalid_value", message); };
  if (c.store.kind != "sqlite" && c.store.kind != "postgres") {
    return fail("store.kind must be \"sqlite\" or \"postgres\", got \"" + c.store.kind + "\"");
  }
  if (c.store.kind == "postgres" && c.store.url.empty()) {
    return fail("store.url must name the PostgreSQL database when store.kind is \"postgres\" "
                "(postgresql://user:password@host:port/database)");
  }
  if (!c.store.replica_url.empty() && c.store.kind != "postgres") {
    return fail("store.replica_url names a PostgreSQL replica: it needs store.kind = \"postgres\" (SQLite has "
                "no replica)");
  }
  if (c.store.pool_size < 1 || c.store.pool_size > 256) return fail("store.pool_size must be 1..256");
  if (c.store.query_timeout_ms < 1) return fail("store.query_timeout_ms must be at least 1");
  if (c.queue.kind != "embedded" && c.queue.kind != "rabbitmq") {
    return fail("queue.kind must be \"embedded\" or \"rabbitmq\", got \"" + c.queue.kind + "\"");
  }
  if (!c.redis.url.empty() && c.redis.url.rfind("redis://", 0) != 0) {
    return fail("redis.url must be redis://[:password@]host[:port][/db], or empty for no Redis");
  }
  if (c.redis.timeout_ms < 1 || c.redis.timeout_ms > 60000) return fail("redis.timeout_ms must be 1..60000");
  if (c.email_jobs.owner_key_id < 0) return fail("email_jobs.owner_key_id must be an API key's id, or 0 for none");
  if (c.data.dir.empty()) return fail("data.dir must not be empty");
  if (c.smtp.max_connections < 1 || c.smtp.max_connections > 256) return fail("smtp.max_connections must be 1..256");
  if (c.smtp.messages_per_session < 1 || c.smtp.messages_per_session > 100) {
    return fail("smtp.messages_per_session must be 1..100");
  }
  if (c.smtp.timeout_seconds < 1) return fail("smtp.timeout_seconds must be at least 1");
  if (c.queue.prefetch < 1) return fail("queue.prefetch must be at least 1");
  for (const auto& [section, retry] : {std::pair<const char*, const RetryConfig*>{"certificates.retry", &c.certificates.retry},
                                       {"serve.retry", &c.serve.retry},
                                       {"serve.pacer_retry", &c.serve.pacer_retry}}) {
    const std::string name(section);
    if (retry->max_attempts < 1 || retry->max_attempts > 100) return fail(name + ".max_attempts must be 1..100");
    if (retry->base_delay_ms < 0 || retry->max_delay_ms < retry->base_delay_ms) {
      return fail(name + ": the delays must satisfy 0 <= base_delay_ms <= max_delay_ms");
    }
    if (retry->jitter < 0 || retry->jitter >= 1) return fail(name + ".jitter must be in [0, 1)");
  }
  if (c.certificates.concurrency < 0 || c.certificates.concurrency > kMaxCertificateConcurrency) {
    return fail("certificates.concurrency (--concurrency) must be 0 (one per core) to " +
                std::to_string(kMaxCertificateConcurrency) + ": certificates rendered at once");
  }
  if (c.certificates.render_timeout_seconds < 1 || c.certificates.render_timeout_seconds > 3600) {
    return fail("certificates.render_timeout_seconds must be 1..3600: how long one certificate may take to render");
  }
  if (c.certificates.render_memory_mb < 512 || c.certificates.render_memory_mb > 65536) {
    return fail("certificates.render_memory_mb must be 512..65536: the memory of each render worker");
  }
  if (c.serve.listen.rfind(':') == std::string::npos) return fail("serve.listen must be HOST:PORT, got \"" + c.serve.listen + "\"");
  if (c.serve.http_threads < 1 || c.serve.http_threads > 64) return fail("serve.http_threads must be 1..64");
  for (const auto& [name, rate] : {std::pair{"email", c.serve.email_per_second}, std::pair{"sms", c.serve.sms_per_second},
                                   std::pair{"whatsapp", c.serve.whatsapp_per_second},
                                   std::pair{"telegram", c.serve.telegram_per_second}}) {
    if (rate < 0 || rate > 100000) {
      return fail(std::string("serve.") + name + "_per_second must be 0 (no limit) to 100000");
    }
  }
  if (c.serve.max_in_flight < 0 || c.serve.max_in_flight > 4096) {
    return fail("serve.max_in_flight must be 0 (the channel's limit) to 4096");
  }
  if (c.serve.shutdown_seconds < 0) return fail("serve.shutdown_seconds must not be negative");
  struct ChannelProviders {
    const char* channel;
    const std::vector<std::string>* providers;
    std::vector<std::string> known;
  };
  for (const auto& [channel, providers, known] :
       {ChannelProviders{"email", &c.channels.email, {"ses", "sendgrid", "smtp", "outbox"}},
        ChannelProviders{"sms", &c.channels.sms, {"twilio", "webhook", "mock"}},
        ChannelProviders{"whatsapp", &c.channels.whatsapp, {"twilio", "webhook", "mock"}},
        ChannelProviders{"telegram", &c.channels.telegram, {"telegram", "webhook", "mock"}}}) {
    const std::string key = std::string("channels.") + channel + ".providers";
    for (std::size_t i = 0; i < providers->size(); ++i) {
      const auto& name = (*providers)[i];
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        std::string choices;
        for (const auto& k : known) choices += (choices.empty() ? "\"" : ", \"") + k + "\"";
        return fail(key + ": \"" + name + "\" is not a " + channel + " provider; choose from " + choices);
      }
      if (std::find(providers->begin(), providers->begin() + static_cast<long>(i), name) !=
          providers->begin() + static_cast<long>(i)) {
        return fail(key + " names \"" + name + "\" twice");
      }
      if (name == "webhook" && c.serve.webhook_url.empty()) {
        return fail(key + " names \"webhook\": set serve.webhook_url (HERALD_SERVE_WEBHOOK_URL)");
      }
      if (name == "twilio" && (c.twilio.account_sid.empty() || c.twilio.auth_token.empty())) {
        return fail(key + " names \"twilio\": set twilio.account_sid and twilio.auth_token "
                          "(HERALD_TWILIO_ACCOUNT_SID, HERALD_TWILIO_AUTH_TOKEN)");
      }
      if (name == "ses" && (c.ses.region.empty() || c.ses.access_key_id.empty() || c.ses.secret_access_key.empty())) {
        return fail(key + " names \"ses\": set ses.region, ses.access_key_id and ses.secret_access_key (or "
                          "AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
      }
      if (name == "sendgrid" && c.sendgrid.api_key.empty()) {
        return fail(key + " names \"sendgrid\": set sendgrid.api_key (HERALD_SENDGRID_API_KEY)");
      }
      if (name == "telegram" && c.telegram.bot_token.empty()) {
        return fail(key + " names \"telegram\": set telegram.bot_token (HERALD_TELEGRAM_BOT_TOKEN)");
      }
    }
  }
  if (c.channels.circuit_failures < 1 || c.channels.circuit_failures > 1000) {
    return fail("channels.circuit_failures must be 1..1000");
  }
  if (c.channels.circuit_open_seconds < 1 || c.channels.circuit_open_seconds > 3600) {
    return fail("channels.circuit_open_seconds must be 1..3600");
  }
  if (c.twilio.timeout_seconds < 1 || c.twilio.timeout_seconds > 600) return fail("twilio.timeout_seconds must be 1..600");
  if (c.ses.timeout_seconds < 1 || c.ses.timeout_seconds > 600) return fail("ses.timeout_seconds must be 1..600");
  if (c.sendgrid.timeout_seconds < 1 || c.sendgrid.timeout_seconds > 600) {
    return fail("sendgrid.timeout_seconds must be 1..600");
  }
  if (c.telegram.timeout_seconds < 1 || c.telegram.timeout_seconds > 600) {
    return fail("telegram.timeout_seconds must be 1..600");
  }
  if (c.ses.content != "auto" && c.ses.content != "raw") {
    return fail("ses.content must be \"auto\" (Simple content for text and HTML, Raw with attachments) or \"raw\" "
                "(always the MIME Herald built), got \"" + c.ses.content + "\"");
  }
  for (const auto& [provider, throttle] :
       {std::pair{"twilio", &c.twilio.throttle}, std::pair{"ses", &c.ses.throttle},
        std::pair{"sendgrid", &c.sendgrid.throttle}, std::pair{"telegram", &c.telegram.throttle}}) {
    if (throttle->per_second < 0 || throttle->per_second > 100000) {
      return fail(std::string(provider) + ".per_second must be 0 (no limit of Herald's own) to 100000");
    }
    if (throttle->max_in_flight < 1 || throttle->max_in_flight > 1000) {
      return fail(std::string(provider) + ".max_in_flight must be 1..1000: requests awaiting an answer at once");
    }
  }
  if (c.telegram.per_chat_interval_ms < 0 || c.telegram.per_chat_interval_ms > 60000) {
    return fail("telegram.per_chat_interval_ms must be 0 (no spacing) to 60000");
  }
  for (const auto& arn : c.webhooks.sns_topic_arns) {
    if (arn.rfind("arn:", 0) != 0 || std::count(arn.begin(), arn.end(), ':') != 5) {
      return fail("webhooks.sns_topic_arns: \"" + arn +
                  "\" is not a topic ARN such as \"arn:aws:sns:eu-west-1:123456789012:ses-events\"");
    }
  }
  try {
    std::regex pattern(c.webhooks.sns_url_pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return fail("webhooks.sns_url_pattern is not a regular expression: " + std::string(e.what()));
  }
  if (c.serve.provider != "mock" && c.serve.provider != "webhook") {
    return fail("serve.provider must be \"mock\" or \"webhook\", got \"" + c.serve.provider + "\"");
  }
  if (c.serve.provider == "webhook" && c.serve.webhook_url.empty()) {
    return fail("serve.webhook_url is required when serve.provider is \"webhook\"");
  }
  if (c.serve.mock_success_rate < 0 || c.serve.mock_success_rate > 1) return fail("serve.mock_success_rate must be in [0, 1]");
  if (c.serve.max_bulk_messages < 1) return fail("serve.max_bulk_messages must be at least 1");
  for (const auto& [name, value] : {std::pair{"free", c.serve.free_per_minute}, std::pair{"basic", c.serve.basic_per_minute},
                                    std::pair{"premium", c.serve.premium_per_minute}}) {
    if (value < 0 || value > 100000) {
      return fail(std::string("serve.") + name + "_per_minute must be 0..100000 (0: unlimited)");
    }
  }
  if (c.serve.pacer_batch_size < 1 || c.serve.pacer_batch_size > 10000) {
    return fail("serve.pacer_batch_size must be 1..10000");
  }
  if (c.serve.pacer_interval_seconds < 1 || c.serve.pacer_interval_seconds > 86400) {
    return fail("serve.pacer_interval_seconds must be 1..86400");
  }
  return {};
}

// Sets the fields of `section` (e.g. "serve", or "serve.retry" for a table
// inside it) from a TOML table; an unknown key names the file and line.
Result<void> ReadSection(const std::vector<Field>& fields, const toml::table& table, const std::string& section,
                         const std::string& file_path) {
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const Field* match = nullptr;
    for (const auto& field : fields) {
      if (field.section == section && field.key == name) match = &field;
    }
    const std::string nested = section + "." + name;
    const bool is_section = std::any_of(fields.begin(), fields.end(), [&](const Field& f) {
      return f.section == nested || f.section.rfind(nested + ".", 0) == 0;
    });
    if (match == nullptr && is_section) {
      if (!node.is_table()) {
        return MakeError("config.invalid_value", file_path + ":" + std::to_string(node.source().begin.line) + ": " +
                                                     nested + " must be a table ([" + nested + "])");
      }
      if (auto read = ReadSection(fields, *node.as_table(), nested, file_path); !read) return read;
      continue;
    }
    if (match == nullptr) {
      return MakeError("config.unknown_key", UnknownKeyMessage(file_path + ":" + std::to_string(node.source().begin.line),
                                                               section + "." + name));
    }
    if (auto set = SetFromToml(*match, node, file_path); !set) return set;
  }
  return {};
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::vector<std::string> ProcessEnvironmentNames() {
  std::vector<std::string> names;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.rfind("HERALD_", 0) == 0) names.emplace_back(entry.substr(0, entry.find('=')));
  }
  return names;
}

Result<HeraldConfig> LoadConfig(const std::string& file_path, const EnvLookup& env,
                                const std::vector<std::string>& env_names) {
  HeraldConfig config;
  const auto fields = FieldsOf(config);

  if (!file_path.empty()) {
    toml::table table;
    try {
      table = toml::parse_file(file_path);
    } catch (const toml::parse_error& e) {
      std::ostringstream message;
      message << file_path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
              << e.description();
      return MakeError("config.parse", message.str());
    }
    for (const auto& [section_key, section_node] : table) {
      const std::string section(section_key.str());
      const auto* section_table = section_node.as_table();
      if (section_table == nullptr) {
        return MakeError("config.unknown_key", file_path + ": unknown top-level key \"" + section + "\"");
      }
      if (auto read = ReadSection(fields, *section_table, section, file_path); !read) {
        return Unexpected<Error>(read.error());
      }
    }
  }

  std::map<std::string, const Field*> by_env;
  for (const auto& field : fields) by_env[field.EnvName()] = &field;
  for (const auto& name : env_names) {
    if (name == "HERALD_CONFIG") continue;
    if (!by_env.contains(name)) {
      for (const auto& [old_path, now] : MovedKeys()) {
        if (name == EnvNameOf(old_path)) {
          return MakeError("config.unknown_key", "environment: " + name + " is now " + Alternatives(now, EnvNameOf) +
                                                     " (" + Alternatives(now, AsPath) + ")");
        }
      }
      return MakeError("config.unknown_key", "environment: unknown variable " + name + " (see `herald config`)");
    }
  }
  for (const auto& [name, field] : by_env) {
    if (auto value = env(name)) {
      if (auto set = SetFromText(*field, *value, "environment " + name); !set) return Unexpected<Error>(set.error());
    }
  }

  // The AWS SDKs' own variables, for whatever [ses] leaves empty.
  for (const auto& [value, names] :
       {std::pair<std::string*, std::vector<const char*>>{&config.ses.access_key_id, {"AWS_ACCESS_KEY_ID"}},
        {&config.ses.secret_access_key, {"AWS_SECRET_ACCESS_KEY"}},
        {&config.ses.session_token, {"AWS_SESSION_TOKEN"}},
        {&config.ses.region, {"AWS_REGION", "AWS_DEFAULT_REGION"}}}) {
    for (const char* name : names) {
      if (!value->empty()) break;
      if (auto found = env(name)) *value = *found;
    }
  }

  if (auto valid = Validate(config); !valid) return Unexpected<Error>(valid.error());
  return config;
}

namespace {

// "a=1&b" -> "a=***&b"
std::string MaskQueryValues(std::string_view query) {
  std::string out;
  for (bool first = true;; first = false) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    if (!first) out += '&';
    const auto eq = pair.find('=');
    out += eq == std::string_view::npos ? std::string(pair) : std::string(pair.substr(0, eq)) + "=***";
    if (amp == std::string_view::npos) return out;
    query.remove_prefix(amp + 1);
  }
}

}  // namespace

std::string MaskUrlCredentials(const std::string& url) {
  constexpr auto npos = std::string::npos;
  const auto scheme = url.find("://");
  if (scheme == npos) return url;
  const auto authority = scheme + 3;
  const auto authority_end = std::min(url.find_first_of("/?#", authority), url.size());
  std::string out = url.substr(0, authority);
  const std::string host = url.substr(authority, authority_end - authority);
  if (const auto at = host.rfind('@'); at != npos) {
    // user:password@ keeps the user; a lone token@ is hidden whole.
    const auto colon = host.find(':');
    out += (colon != npos && colon < at ? host.substr(0, colon) + ":***" : "***") + host.substr(at);
  } else {
    out += host;
  }
  const auto fragment = url.find('#', authority_end);
  const auto query = url.find('?', authority_end);
  const bool has_query = query != npos && query < fragment;
  const auto path_end = has_query ? query : std::min(fragment, url.size());
  out += url.substr(authority_end, path_end - authority_end);
  if (has_query) {
    // Every value: a token may go by any name.
    const auto query_end = std::min(fragment, url.size());
    out += "?" + MaskQueryValues(std::string_view(url).substr(query + 1, query_end - query - 1));
  }
  if (fragment != npos) out += url.substr(fragment);
  return out;
}

std::string DescribeConfig(const HeraldConfig& config) {
  HeraldConfig copy = config;
  std::ostringstream out;
  for (const auto& field : FieldsOf(copy)) {
    out << field.Path() << " (" << field.EnvName() << ") = ";
    if (auto* s = std::get_if<std::string*>(&field.target)) {
      // Every URL stays readable with its credentials hidden; other secrets are hidden whole.
      std::string shown = **s;
      if (shown.find("://") != std::string::npos) {
        shown = MaskUrlCredentials(shown);
      } else if (field.secret && !shown.empty()) {
        shown = "***";
      }
      out << '"' << shown << '"';
    } else if (auto* i = std::get_if<int*>(&field.target)) {
      out << **i;
    } else if (auto* d = std::get_if<double*>(&field.target)) {
      out << **d;
    } else if (auto* list = std::get_if<std::vector<std::string>*>(&field.target)) {
      out << '[';
      for (std::size_t i = 0; i < (*list)->size(); ++i) out << (i ? ", " : "") << '"' << (**list)[i] << '"';
      out << ']';
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace herald::config
