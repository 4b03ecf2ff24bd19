// The one place where configuration picks concrete implementations: which
// store, which queue backend, which e-mail transport and messaging provider.
// Everything else sees only the interfaces.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "api/webhook_routes.hpp"
#include "certificates/render_worker.hpp"
#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "common/io_runtime.hpp"
#include "config/herald_config.hpp"
#include "dispatch/provider_limits.hpp"
#include "dispatch/shaper.hpp"
#include "domain/retry_policy.hpp"
#include "queue/queue.hpp"
#include "redis/redis_client.hpp"
#include "redis/redis_rate_limiter.hpp"
#include "redis/redis_sent_cache.hpp"
#include "redis/redis_shaper.hpp"
#include "channels/http/http_client.hpp"
#include "store/replica/replica_reads.hpp"
#include "store/stores.hpp"

namespace herald::cli {

// The SQLite file in the data dir shared by the store and the embedded queue.
std::string DatabasePath(const config::HeraldConfig& config);

// Every store of the process, opened once over the configured backend (SQLite:
// herald.db in the data dir, one write turn and reader pool for all). Throws
// std::runtime_error with what to do when the storage or its schema does not fit.
std::unique_ptr<store::Stores> OpenStores(const config::HeraldConfig& config, store::SchemaPolicy policy,
                                          const Clock& clock);

// Seed 002's read replica in front of `primary`, when store.replica_url names
// one; else nullptr. A replica that cannot be reached yet is no error: reads go
// to the primary until it answers.
std::unique_ptr<store::ReplicaReads> OpenReplicaReads(const config::HeraldConfig& config, store::Stores& primary,
                                                      const Clock& clock);

// Creates or upgrades the configured store's schema (SQLite in the data dir, or
// the PostgreSQL database of store.url) and says what it did, as one line.
std::string MigrateStore(const config::HeraldConfig& config);

// What a migration did, as one sentence; empty when it applied nothing.
std::string DescribeMigration(const std::string& where, const store::MigrationReport& report);

// Throws std::runtime_error with an actionable message when the backend cannot be reached.
std::unique_ptr<queue::Queue> MakeQueue(const config::HeraldConfig& config, const Clock& clock);

// The broker that carries the message lanes (queue.kind = rabbitmq), or none:
// with the embedded queue the store's recipients table is their queue, read
// through its due index, with no second copy of each message.
std::unique_ptr<queue::Queue> MakeMessageBroker(const config::HeraldConfig& config, const Clock& clock);

// Throws InputError naming smtp.url when it is set and does not parse: checked
// before a command does anything else.
void CheckEmailSettings(const config::HeraldConfig& config);

// channels.email.providers in failover order ("ses", "sendgrid", "smtp", "outbox"); without
// the list, SMTP when smtp.url is set, otherwise .eml files in the outbox
// folder. On the runtime's threads (SES on `http`, which must not outlive the
// runtime). Settings a provider refuses are an InputError naming them. Each
// provider behind its limits in `rates`.
class SendRates;
std::unique_ptr<channels::Channel> MakeEmailChannel(const config::HeraldConfig& config, const std::string& outbox_dir,
                                                    IoRuntime& runtime, channels::http::HttpClient& http,
                                                    SendRates& rates, const Clock& clock);

domain::RetryPolicy RetryPolicyOf(const config::RetryConfig& retry);

// Certificates render in worker processes of this binary (certificates.*:
// concurrency, render_timeout_seconds, render_memory_mb), so one that would
// take minutes or gigabytes fails alone.
std::unique_ptr<certificates::IsolatedPdfRenderer> MakeCertificateRenderer(const config::HeraldConfig& config);

// The channel of sms, whatsapp or telegram: channels.<name>.providers in
// failover order (twilio, telegram, webhook on `http`; mock), or serve.provider
// without the list. Settings a provider refuses are an InputError naming them.
std::unique_ptr<channels::Channel> MakeMessagingChannel(const config::HeraldConfig& config, const std::string& channel,
                                                        channels::http::HttpClient& http, SendRates& rates,
                                                        const Clock& clock);

// Redis, when redis.url is set: one client for the process, the tier limits it
// counts for every API process (this process's own when Redis is down), and
// seed 001's sent cache.
struct SharedRedis {
  SharedRedis(redis::RedisUrl url, std::chrono::milliseconds timeout, const Clock& clock);
  redis::RedisClient client;
  api::RateLimiter own_limits;
  redis::RedisRateLimiter limiter;
  redis::RedisSentCache sent_cache;
};

// nullptr when redis.url is empty; an InputError naming redis.url when it does
// not parse. Does not need Redis to be up: it is optional at every moment.
std::unique_ptr<SharedRedis> OpenRedis(const config::HeraldConfig& config, const Clock& clock);

// Send rates by name: a lane's (serve.<lane>_per_second, named by the lane)
// and a provider's own (<provider>.per_second, named "provider:<name>"). One
// bucket per name for the whole process, so twilio.per_second holds for sms
// and whatsapp together; with Redis, one for every process (herald:shape:<name>),
// this process's own standing in while Redis does not answer. A provider's
// request slots (<provider>.max_in_flight) and per-recipient spacing are kept
// the same way, one per provider for the process and, with Redis, for every
// worker. Outlives the lanes and channels it shapes.
class SendRates {
 public:
  SendRates(SharedRedis* redis, const Clock& clock);
  // The rate named `name`, made on first use with `per_second` (a second's
  // burst, refilled in the smallest whole steps that make the rate exact:
  // 300/s is 3 every 10 ms, 7/s is 7 a second); nullptr when per_second is 0.
  dispatch::Shaper* Rate(const std::string& name, int per_second);
  // `channel` behind the rate, the request slots and (when `per_recipient` is
  // set) a spacing per recipient of `provider` ("twilio", "ses", …).
  std::unique_ptr<channels::Channel> Throttle(const std::string& provider, const config::ProviderThrottleConfig& limits,
                                              std::unique_ptr<channels::Channel> channel,
                                              std::chrono::milliseconds per_recipient = {});

 private:
  dispatch::InFlightLimit* InFlight(const std::string& provider, int limit);
  dispatch::RecipientSpacing* Spacing(const std::string& provider, std::chrono::milliseconds interval);

  SharedRedis* redis_;
  const Clock& clock_;
  std::map<std::string, std::unique_ptr<dispatch::TokenBucket>> own_;
  std::map<std::string, std::unique_ptr<redis::RedisShaper>> shared_;
  std::map<std::string, std::unique_ptr<dispatch::InFlightLimit>> in_flight_;
  std::map<std::string, std::unique_ptr<dispatch::RecipientSpacing>> spacing_;
};

// The provider webhooks' settings, from [webhooks] and [twilio].
api::WebhookSettings WebhookSettingsOf(const config::HeraldConfig& config);
// GETs for the webhooks (SNS certificates and confirmations) through `http`;
// blocks the calling thread (the API's read pool) until answered.
api::UrlFetcher WebhookFetcher(channels::http::HttpClient& http);

}  // namespace herald::cli
