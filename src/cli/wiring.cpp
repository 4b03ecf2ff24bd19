#include "cli/wiring.hpp"

#include <spdlog/spdlog.h>

#include <utility>  // before Asio: Boost 1.74 needs it under g++ 12

#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>
#include <thread>
#include <optional>
#include <stdexcept>

#include "channels/file/outbox_channel.hpp"
#include "channels/failover/failover_channel.hpp"
#include "channels/mock/mock_channel.hpp"
#include "channels/sendgrid/sendgrid_channel.hpp"
#include "channels/ses/ses_channel.hpp"
#include "channels/telegram/telegram_channel.hpp"
#include "channels/twilio/twilio_channel.hpp"
#include "channels/webhook/webhook_channel.hpp"
#include "channels/smtp/smtp_channel.hpp"
#include "cli/certificates_command.hpp"
#include "cli/run_guard.hpp"
#include "dispatch/throttled_channel.hpp"
#include "queue/embedded/embedded_queue.hpp"
#include "queue/rabbitmq/rabbitmq_queue.hpp"
#include "redis/redis_provider_limits.hpp"
#include "store/postgres/postgres_stores.hpp"
#include "store/sqlite/sqlite_stores.hpp"

namespace herald::cli {

std::string DatabasePath(const config::HeraldConfig& config) {
  CreatePrivateDataDir(config.data.dir);
  return (std::filesystem::path(config.data.dir) / "herald.db").string();
}

std::unique_ptr<store::Stores> OpenStores(const config::HeraldConfig& config, store::SchemaPolicy policy,
                                          const Clock& clock) {
  if (config.store.kind == "postgres") {
    return std::make_unique<store::postgres::PostgresStores>(
        config.store.url, config.store.pool_size, std::chrono::milliseconds(config.store.query_timeout_ms), policy,
        clock, /*relay_outbox=*/config.queue.kind == "rabbitmq");
  }
  return std::make_unique<store::sqlite::SqliteStores>(DatabasePath(config), policy, clock);
}

std::unique_ptr<store::ReplicaReads> OpenReplicaReads(const config::HeraldConfig& config, store::Stores& primary,
                                                      const Clock& clock) {
  if (config.store.replica_url.empty()) return nullptr;
  return std::make_unique<store::ReplicaReads>(
      primary, store::postgres::DescribeConnection(config.store.replica_url),
      [url = config.store.replica_url, pool_size = config.store.pool_size,
       timeout = std::chrono::milliseconds(config.store.query_timeout_ms), &clock] {
        // A replica is read-only: its schema is the primary's, replayed; one
        // behind (a migration not replayed yet) is not read.
        return std::make_unique<store::postgres::PostgresStores>(url, pool_size, timeout,
                                                                 store::SchemaPolicy::kRequireCurrent, clock);
      },
      store::kReplicaRetryInterval, [](const std::exception& e) {
        // No answer at all, a lost connection (class 08) or a server shutting
        // down (57P0x) put the replica out of use; a query cancelled there (a
        // recovery conflict, a timeout) does not.
        const auto* pg = dynamic_cast<const store::postgres::PgError*>(&e);
        if (pg == nullptr || pg->sqlstate().empty()) return true;
        const auto& state = pg->sqlstate();
        return state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0;
      });
}

std::string MigrateStore(const config::HeraldConfig& config) {
  // SQLite: the data dir lock, since a running server (or certificate run) would
  // see the new schema at once, under code written for the old one. PostgreSQL
  // takes its own lock for the migration.
  std::optional<DataDirLock> lock;
  if (config.store.kind != "postgres") lock.emplace(config.data.dir);
  const SystemClock clock;
  const auto stores = OpenStores(config, store::SchemaPolicy::kMigrate, clock);
  const auto& report = stores->migration();
  if (report.applied.empty()) {
    return stores->where() + ": the schema is up to date at version " + std::to_string(report.to_version);
  }
  return DescribeMigration(stores->where(), report);
}

std::string DescribeMigration(const std::string& path, const store::MigrationReport& report) {
  if (report.applied.empty()) return "";
  std::string names;
  for (const auto& name : report.applied) names += (names.empty() ? "" : ", ") + name;
  const std::string what = report.from_version == 0 && !report.adopted_unversioned
                               ? "created the schema"
                               : "upgraded the schema from version " + std::to_string(report.from_version);
  return path + ": " + what + " to version " + std::to_string(report.to_version) + " (applied " + names + ")";
}

std::unique_ptr<queue::Queue> MakeQueue(const config::HeraldConfig& config, const Clock& clock) {
  if (config.queue.kind == "rabbitmq") {
    auto settings = queue::rabbitmq::ParseAmqpUrl(config.queue.amqp_url);
    if (!settings) throw std::runtime_error("queue.amqp_url: " + settings.error().message);
    settings->prefetch = config.queue.prefetch;
    // Seed 004's routing: herald.messages.<channel> is bound to the exchange
    // herald.messages under the channel's name.
    settings->routed_exchanges = {"herald.messages"};
    return std::make_unique<queue::rabbitmq::RabbitMqQueue>(*settings);
  }
  auto embedded = std::make_unique<queue::embedded::EmbeddedQueue>(DatabasePath(config), clock);
  // The embedded queue belongs to one process at a time (the caller holds the data
  // dir lock), so whatever an earlier process had leased is free again.
  embedded->ReleaseLeases();
  return embedded;
}

std::unique_ptr<certificates::IsolatedPdfRenderer> MakeCertificateRenderer(const config::HeraldConfig& config) {
  const int render_threads = config.certificates.concurrency > 0
                                 ? config.certificates.concurrency
                                 : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1,
                                              config::kMaxCertificateConcurrency);
  return std::make_unique<certificates::IsolatedPdfRenderer>(
      // This very binary, even if a package upgrade has replaced the file since.
      std::vector<std::string>{"/proc/self/exe", "render-worker"}, render_threads,
      certificates::RenderLimits{
          .timeout = std::chrono::seconds(config.certificates.render_timeout_seconds),
          .memory_bytes = static_cast<std::size_t>(config.certificates.render_memory_mb) << 20});
}

std::unique_ptr<queue::Queue> MakeMessageBroker(const config::HeraldConfig& config, const Clock& clock) {
  if (config.queue.kind != "rabbitmq") return nullptr;
  return MakeQueue(config, clock);
}

void CheckEmailSettings(const config::HeraldConfig& config) {
  if (config.smtp.url.empty()) return;
  if (auto settings = channels::smtp::ParseSmtpUrl(config.smtp.url); !settings) {
    throw InputError("--smtp / smtp.url: " + settings.error().message);
  }
}

namespace {

std::unique_ptr<channels::Channel> MakeSmtpChannel(const config::HeraldConfig& config, IoRuntime& runtime) {
  if (config.smtp.url.empty()) {
    throw InputError("channels.email.providers names \"smtp\": set smtp.url (HERALD_SMTP_URL, or --smtp)");
  }
  auto settings = channels::smtp::ParseSmtpUrl(config.smtp.url);
  if (!settings) throw InputError("--smtp / smtp.url: " + settings.error().message);
  if (!config.smtp.username.empty()) settings->username = config.smtp.username;
  if (!config.smtp.password.empty()) settings->password = config.smtp.password;
  settings->max_connections = config.smtp.max_connections;
  settings->messages_per_session = config.smtp.messages_per_session;
  settings->timeout = std::chrono::seconds(config.smtp.timeout_seconds);
  return std::make_unique<channels::smtp::SmtpChannel>(runtime.executor(), *settings);
}

// One provider, or a failover channel over several.
std::unique_ptr<channels::Channel> OneOrFailover(std::vector<std::unique_ptr<channels::Channel>> providers,
                                                 const config::ChannelsConfig& channels, const Clock& clock) {
  if (providers.size() == 1) return std::move(providers.front());
  return std::make_unique<channels::failover::FailoverChannel>(
      std::move(providers),
      channels::failover::CircuitSettings{.failures_to_open = channels.circuit_failures,
                                          .open_for = std::chrono::seconds(channels.circuit_open_seconds)},
      clock);
}

std::unique_ptr<channels::Channel> MakeProvider(const config::HeraldConfig& config, const std::string& channel,
                                                const std::string& provider, channels::http::HttpClient& http,
                                                SendRates& rates) {
  const auto& serve = config.serve;
  if (provider == "webhook") {
    channels::webhook::WebhookSettings settings;
    settings.url = serve.webhook_url;
    settings.auth_header = serve.webhook_auth_header;
    return std::make_unique<channels::webhook::WebhookChannel>(http, settings);
  }
  if (provider == "twilio") {
    const auto& twilio = config.twilio;
    const bool whatsapp = channel == "whatsapp";
    return rates.Throttle(
        provider, twilio.throttle,
        std::make_unique<channels::twilio::TwilioChannel>(
                      http, channels::twilio::TwilioSettings{.base_url = twilio.base_url,
                                                             .account_sid = twilio.account_sid,
                                                             .auth_token = twilio.auth_token,
                                                             .from = whatsapp ? twilio.whatsapp_from : twilio.from,
                                                             .messaging_service_sid = twilio.messaging_service_sid,
                                                             .status_callback_url = twilio.status_callback_url,
                                                             .whatsapp = whatsapp,
                                                             .timeout = std::chrono::seconds(twilio.timeout_seconds),
                                                             .max_in_flight = twilio.throttle.max_in_flight}));
  }
  if (provider == "telegram") {
    const auto& telegram = config.telegram;
    return rates.Throttle(
        provider, telegram.throttle,
        std::make_unique<channels::telegram::TelegramChannel>(
                      http, channels::telegram::TelegramSettings{
                                .base_url = telegram.base_url,
                                .bot_token = telegram.bot_token,
                                .parse_mode = telegram.parse_mode,
                                .timeout = std::chrono::seconds(telegram.timeout_seconds),
                                .max_in_flight = telegram.throttle.max_in_flight}),
        std::chrono::milliseconds(telegram.per_chat_interval_ms));
  }
  channels::mock::MockChannelSettings settings;
  settings.success_rate = serve.mock_success_rate;
  settings.seed = static_cast<std::uint64_t>(serve.mock_seed);
  return std::make_unique<channels::mock::MockChannel>(settings);
}

const std::vector<std::string>& ProvidersOf(const config::ChannelsConfig& channels, const std::string& channel) {
  if (channel == "sms") return channels.sms;
  if (channel == "whatsapp") return channels.whatsapp;
  if (channel == "telegram") return channels.telegram;
  return channels.email;
}

}  // namespace

std::unique_ptr<channels::Channel> MakeEmailChannel(const config::HeraldConfig& config, const std::string& outbox_dir,
                                                    IoRuntime& runtime, channels::http::HttpClient& http,
                                                    SendRates& rates, const Clock& clock) {
  auto names = config.channels.email;
  if (names.empty()) names = {config.smtp.url.empty() ? "outbox" : "smtp"};
  std::vector<std::unique_ptr<channels::Channel>> providers;
  for (const auto& name : names) {
    if (name == "smtp") {
      providers.push_back(MakeSmtpChannel(config, runtime));
    } else if (name == "sendgrid") {
      try {
        providers.push_back(rates.Throttle(
            name, config.sendgrid.throttle,
            std::make_unique<channels::sendgrid::SendGridChannel>(
                      http,
                      channels::sendgrid::SendGridSettings{
                          .base_url = config.sendgrid.base_url,
                          .api_key = config.sendgrid.api_key,
                          .timeout = std::chrono::seconds(config.sendgrid.timeout_seconds),
                          .max_in_flight = config.sendgrid.throttle.max_in_flight},
                      clock)));
      } catch (const std::invalid_argument& e) {
        throw InputError(std::string("channels.email.providers (\"sendgrid\"): ") + e.what());
      }
    } else if (name == "ses") {
      const auto& ses = config.ses;
      try {
        providers.push_back(rates.Throttle(
            name, ses.throttle,
            std::make_unique<channels::ses::SesChannel>(
                      http,
                      channels::ses::SesSettings{
                          .region = ses.region,
                          .base_url = ses.base_url,
                          .credentials = {.access_key_id = ses.access_key_id,
                                          .secret_access_key = ses.secret_access_key,
                                          .session_token = ses.session_token},
                          .configuration_set = ses.configuration_set,
                          .content = ses.content == "raw" ? channels::ses::SesContent::kRaw
                                                          : channels::ses::SesContent::kAuto,
                          .timeout = std::chrono::seconds(ses.timeout_seconds),
                          .max_in_flight = ses.throttle.max_in_flight},
                      clock)));
      } catch (const std::invalid_argument& e) {
        throw InputError(std::string("channels.email.providers (\"ses\"): ") + e.what());
      }
    } else {
      providers.push_back(std::make_unique<channels::file::OutboxChannel>(outbox_dir, runtime.blocking()));
    }
  }
  return OneOrFailover(std::move(providers), config.channels, clock);
}

domain::RetryPolicy RetryPolicyOf(const config::RetryConfig& retry) {
  return {.max_attempts = retry.max_attempts,
          .base_delay = std::chrono::milliseconds(retry.base_delay_ms),
          .max_delay = std::chrono::milliseconds(retry.max_delay_ms),
          .jitter = retry.jitter};
}

std::unique_ptr<channels::Channel> MakeMessagingChannel(const config::HeraldConfig& config, const std::string& channel,
                                                        channels::http::HttpClient& http, SendRates& rates,
                                                        const Clock& clock) {
  auto names = ProvidersOf(config.channels, channel);
  if (names.empty()) names = {config.serve.provider};
  const std::string key = "channels." + channel + ".providers";
  std::vector<std::unique_ptr<channels::Channel>> providers;
  for (const auto& name : names) {
    try {
      providers.push_back(MakeProvider(config, channel, name, http, rates));
    } catch (const std::invalid_argument& e) {
      throw InputError(key + " (\"" + name + "\" for " + channel + "): " + e.what());
    }
  }
  return OneOrFailover(std::move(providers), config.channels, clock);
}

SharedRedis::SharedRedis(redis::RedisUrl url, std::chrono::milliseconds timeout, const Clock& clock)
    : client(std::move(url), {.timeout = timeout}), own_limits(clock), limiter(client, own_limits), sent_cache(client) {}

std::unique_ptr<SharedRedis> OpenRedis(const config::HeraldConfig& config, const Clock& clock) {
  if (config.redis.url.empty()) return nullptr;
  auto url = redis::ParseRedisUrl(config.redis.url);
  if (!url) throw InputError(url.error().message);
  auto shared = std::make_unique<SharedRedis>(std::move(*url), std::chrono::milliseconds(config.redis.timeout_ms), clock);
  try {
    shared->client.Run({"PING"});
  } catch (const redis::RedisError& e) {
    spdlog::warn("{}; rate limits are counted per process and the sent cache is bypassed until it answers", e.what());
  }
  return shared;
}

SendRates::SendRates(SharedRedis* redis, const Clock& clock) : redis_(redis), clock_(clock) {}

dispatch::Shaper* SendRates::Rate(const std::string& name, int per_second) {
  if (per_second <= 0) return nullptr;
  auto& own = own_[name];
  if (!own) {
    const int step = std::gcd(per_second, 1000);
    own = std::make_unique<dispatch::TokenBucket>(per_second, per_second / step,
                                                  std::chrono::milliseconds(1000 / step), clock_.Now());
  }
  if (!redis_) return own.get();
  auto& shared = shared_[name];
  if (!shared) shared = std::make_unique<redis::RedisShaper>(redis_->client, name, per_second, *own);
  return shared.get();
}

std::unique_ptr<channels::Channel> SendRates::Throttle(const std::string& provider,
                                                       const config::ProviderThrottleConfig& limits,
                                                       std::unique_ptr<channels::Channel> channel,
                                                       std::chrono::milliseconds per_recipient) {
  dispatch::ProviderThrottle throttle{.provider = provider,
                                      .rate = Rate("provider:" + provider, limits.per_second),
                                      .in_flight = InFlight(provider, limits.max_in_flight),
                                      .spacing = per_recipient.count() > 0 ? Spacing(provider, per_recipient) : nullptr};
  return std::make_unique<dispatch::ThrottledChannel>(std::move(channel), std::move(throttle), clock_);
}

dispatch::InFlightLimit* SendRates::InFlight(const std::string& provider, int limit) {
  auto& slots = in_flight_[provider];
  if (!slots) {
    if (redis_) {
      slots = std::make_unique<redis::RedisInFlightLimit>(redis_->client, "provider:" + provider, limit);
    } else {
      slots = std::make_unique<dispatch::LocalInFlightLimit>(limit);
    }
  }
  return slots.get();
}

dispatch::RecipientSpacing* SendRates::Spacing(const std::string& provider, std::chrono::milliseconds interval) {
  auto& spacing = spacing_[provider];
  if (!spacing) {
    if (redis_) {
      spacing = std::make_unique<redis::RedisRecipientSpacing>(redis_->client, "provider:" + provider, interval);
    } else {
      spacing = std::make_unique<dispatch::LocalRecipientSpacing>(interval);
    }
  }
  return spacing.get();
}

api::WebhookSettings WebhookSettingsOf(const config::HeraldConfig& config) {
  return {.twilio_auth_token = config.twilio.auth_token,
          .twilio_callback_url = config.twilio.status_callback_url,
          .sendgrid_public_key = config.webhooks.sendgrid_public_key,
          .sns_topic_arns = config.webhooks.sns_topic_arns,
          .sns_url_pattern = config.webhooks.sns_url_pattern};
}

api::UrlFetcher WebhookFetcher(channels::http::HttpClient& http) {
  return [&http](const std::string& url) -> Result<std::string> {
    channels::http::HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.timeout = std::chrono::seconds(10);
    const auto response = http.Perform(std::move(request), boost::asio::use_future).get();
    if (response.transfer_code != 0) return MakeError("webhook.fetch", url + ": " + response.error);
    if (response.status != 200) {
      return MakeError("webhook.fetch", url + " answered HTTP " + std::to_string(response.status));
    }
    if (response.truncated) return MakeError("webhook.fetch", url + " answered more than a certificate's size");
    return response.body;
  };
}

}  // namespace herald::cli
