// Typed configuration for every module, read once at start-up from (lowest to
// highest precedence) built-in defaults, a TOML file, and HERALD_* environment
// variables; command-line flags are applied on top by the CLI. Unknown keys are
// errors, so a typo never silently falls back to a default.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace herald::config {

struct DataConfig {
  std::string dir = "herald-data";
};

struct SmtpConfig {
  std::string url;  // empty: write .eml files into the outbox instead of sending
  std::string username;
  std::string password;  // prefer HERALD_SMTP_PASSWORD over the file
  int max_connections = 4;
  int messages_per_session = 4;  // sent back to back, pipelined, per connection and batch
  int timeout_seconds = 30;
};

// Where messages, contacts, campaigns, keys and certificate deliveries live:
// SQLite in the data dir (the default, no server), or PostgreSQL.
struct StoreConfig {
  std::string kind = "sqlite";  // sqlite | postgres
  std::string url;              // postgres: a libpq URI, postgresql://user:pass@host:port/db
  std::string replica_url;      // postgres: a streaming replica for GET reads (seed 002); empty: none
  int pool_size = 8;            // postgres: connections per process
  int query_timeout_ms = 30000; // postgres: statement_timeout of every query
};

struct QueueConfig {
  std::string kind = "embedded";  // embedded | rabbitmq
  std::string amqp_url = "amqp://guest:guest@127.0.0.1:5672/%2f";
  int prefetch = 64;
};

// Optional Redis, shared by every herald process: tier rate limits counted
// across API processes, and seed 001's cache of sent message ids.
struct RedisConfig {
  std::string url;  // empty: no Redis; redis://[:password@]host[:port][/db]
  int timeout_ms = 250;  // connecting and every command
};

// How a job retries a delivery that failed transiently: the same shape for
// every job ([certificates.retry], [serve.retry], [serve.pacer_retry]), each
// with defaults of its own.
struct RetryConfig {
  int max_attempts = 5;       // sends, then dead
  int base_delay_ms = 2000;   // before the first retry; doubles each attempt
  int max_delay_ms = 300000;  // cap of the delay
  double jitter = 0.2;        // +/- fraction of randomness in each delay
};

// Render threads beyond this only add memory: every event shares the pool.
inline constexpr int kMaxCertificateConcurrency = 64;

struct CertificatesConfig {
  std::string from = "Herald Certificates <certificates@herald.invalid>";
  std::string subject = "Your certificate for {{event_name}}";
  std::string body_file;   // text template; empty: the built-in body
  std::string outbox_dir;  // empty: <data dir>/outbox
  std::string date;        // value of {{date}}; empty: the run's date, e.g. "23 November 2026"
  int concurrency = 0;     // certificates rendered at once; 0: one per core
  // One certificate's bound: a render past it fails that row, not the run.
  int render_timeout_seconds = 60;
  int render_memory_mb = 1024;  // address space of each render worker process
  RetryConfig retry;
};

// `herald serve`: the API, its workers and its providers.
struct ServeConfig {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT
  int http_threads = 1;                    // I/O threads of the HTTP server
  int max_in_flight = 0;       // per lane, sends claimed and not yet answered; 0: the channel's limit
  // Sends per second per lane, across every worker when redis.url is set; 0: as fast as the channel goes.
  int email_per_second = 0;
  int sms_per_second = 0;
  int whatsapp_per_second = 0;
  int telegram_per_second = 0;
  int shutdown_seconds = 10;   // deadline for in-flight requests and sends
  std::string email_from = "Herald <notifications@herald.invalid>";
  std::string outbox_dir;      // empty: <data dir>/outbox
  // sms, whatsapp and telegram unless channels.<name>.providers says otherwise:
  // "mock" (seeded success rate) or "webhook" (POST JSON to webhook_url).
  std::string provider = "mock";
  double mock_success_rate = 0.95;
  int mock_seed = 1;
  std::string webhook_url;
  std::string webhook_auth_header;  // e.g. "Authorization: Bearer ..."; a secret
  int max_bulk_messages = 10000;
  // Requests per minute per API key of each tier (seed 004); 0 means unlimited.
  int free_per_minute = 60;
  int basic_per_minute = 300;
  int premium_per_minute = 1000;
  // API and campaign messages: 3 sends per recipient, then dead (seed 003).
  RetryConfig retry{.max_attempts = 3};
  // The paced sender (seed 001): pacer_batch_size oldest queued messages every
  // pacer_interval_seconds; a transient failure is retried in a later release.
  int pacer_batch_size = 2;
  int pacer_interval_seconds = 120;
  RetryConfig pacer_retry{.max_attempts = 3, .base_delay_ms = 0, .max_delay_ms = 0, .jitter = 0};
};

// Which provider delivers each channel, in failover order: a transient failure
// (or an open circuit) moves a delivery on to the next; an unknown or permanent
// answer never does. Empty: e-mail goes to smtp.url (or the outbox without
// one), the others to serve.provider.
struct ChannelsConfig {
  std::vector<std::string> email;     // "ses", "sendgrid", "smtp", "outbox"
  std::vector<std::string> sms;       // "twilio", "webhook", "mock"
  std::vector<std::string> whatsapp;  // "twilio", "webhook", "mock"
  std::vector<std::string> telegram;  // "telegram", "webhook", "mock"
  // A provider's circuit opens after this many failed sends in a row (transient,
  // throttled or unknown) and stays open this long before one probe is let through.
  int circuit_failures = 5;
  int circuit_open_seconds = 30;
};

// A provider's own limits, whatever lane sends through it: <provider>.per_second
// (messages a second, across every worker when redis.url is set; 0: none of
// Herald's own) and <provider>.max_in_flight (requests awaiting an answer at
// once, per lane; in a failover list the smallest of the list holds the lane).
struct ProviderThrottleConfig {
  int per_second = 0;
  int max_in_flight = 16;
};

// Twilio's Programmable Messaging API, for sms and whatsapp.
struct TwilioConfig {
  std::string base_url = "https://api.twilio.com";
  std::string account_sid;            // "AC…"
  std::string auth_token;             // a secret: HERALD_TWILIO_AUTH_TOKEN
  std::string from;                   // SMS sender: E.164 number or alphanumeric id
  std::string whatsapp_from;          // WhatsApp sender, E.164 (sent as whatsapp:+…)
  std::string messaging_service_sid;  // "MG…": lets Twilio pick the sender instead
  std::string status_callback_url;    // where Twilio posts delivery status; empty: none
  int timeout_seconds = 30;
  ProviderThrottleConfig throttle;    // one account: sms and whatsapp share its rate
};

// Amazon SES (v2 API), for email. Each credential left empty here is taken
// from the standard AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
// and AWS_REGION (or AWS_DEFAULT_REGION) variables.
struct SesConfig {
  std::string region;
  std::string access_key_id;
  std::string secret_access_key;  // a secret
  std::string session_token;      // a secret; temporary credentials only
  std::string base_url;           // empty: https://email.<region>.amazonaws.com
  std::string configuration_set;  // optional ConfigurationSetName
  std::string content = "auto";   // "auto": Simple for text and HTML, Raw with attachments; "raw": always Raw
  int timeout_seconds = 30;
  ProviderThrottleConfig throttle;
};

// SendGrid's v3 Mail Send API, for email.
struct SendGridConfig {
  std::string base_url = "https://api.sendgrid.com";
  std::string api_key;  // a secret: HERALD_SENDGRID_API_KEY
  int timeout_seconds = 30;
  ProviderThrottleConfig throttle;
};

// Telegram's Bot API, for telegram.
struct TelegramConfig {
  std::string base_url = "https://api.telegram.org";
  std::string bot_token;   // a secret: HERALD_TELEGRAM_BOT_TOKEN
  std::string parse_mode;  // "", "HTML", "MarkdownV2" or "Markdown"
  int timeout_seconds = 30;
  // Telegram's documented limits for one bot: 30 messages a second in all, one a second per chat.
  ProviderThrottleConfig throttle{.per_second = 30};
  int per_chat_interval_ms = 1000;  // 0: no spacing per chat
};

// Provider webhooks (POST /webhooks/...), each off until its settings are set;
// /webhooks/twilio takes twilio.auth_token and twilio.status_callback_url.
struct WebhooksConfig {
  // SendGrid's Signed Event Webhook verification key (base64, as SendGrid shows it).
  std::string sendgrid_public_key;
  // The SNS topics SES publishes this sender's events to; empty: /webhooks/ses off.
  std::vector<std::string> sns_topic_arns;
  // Where SNS signing certificates and subscription confirmations may be fetched from.
  std::string sns_url_pattern = R"(^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/)";
};

// Seed 002's fast path: e-mail jobs other services publish to the RabbitMQ
// queue `email-jobs`, taken by the workers' `email-jobs` lane.
struct EmailJobsConfig {
  // The API key whose messages (and templates) the jobs are; 0: no email-jobs lane.
  int owner_key_id = 0;
};

struct HeraldConfig {
  DataConfig data;
  SmtpConfig smtp;
  StoreConfig store;
  QueueConfig queue;
  RedisConfig redis;
  EmailJobsConfig email_jobs;
  CertificatesConfig certificates;
  ServeConfig serve;
  ChannelsConfig channels;
  TwilioConfig twilio;
  TelegramConfig telegram;
  SesConfig ses;
  SendGridConfig sendgrid;
  WebhooksConfig webhooks;
};

// Reads a variable from the environment; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnvironment();
// Names of all HERALD_* variables in the process environment.
std::vector<std::string> ProcessEnvironmentNames();

// file_path empty: defaults and environment only. env_names: the HERALD_* names
// present, checked against the known keys so a misspelt variable is reported.
Result<HeraldConfig> LoadConfig(const std::string& file_path, const EnvLookup& env,
                                const std::vector<std::string>& env_names);

// One line per key with its environment variable and current value, secrets
// masked: secret keys whole, and in every URL the password (or a lone user
// token) and every query value.
std::string DescribeConfig(const HeraldConfig& config);

// "https://user:pw@host/p?token=t&x=1#f" -> "https://user:***@host/p?token=***&x=***#f".
std::string MaskUrlCredentials(const std::string& url);

}  // namespace herald::config
