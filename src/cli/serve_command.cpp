#include "cli/serve_command.hpp"

#include <spdlog/spdlog.h>

#include <utility>  // before Asio: Boost 1.74 needs it under g++ 12

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <mutex>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "api/http_server.hpp"
#include "channels/failover/failover_channel.hpp"
#include "app/message_intake.hpp"
#include "cli/certificates_command.hpp"
#include "cli/delivery_liveness.hpp"
#include "cli/email_job_consumer.hpp"
#include "cli/periodic_task.hpp"
#include "cli/run_guard.hpp"
#include "cli/wiring.hpp"
#include "config/herald_config.hpp"
#include "dispatch/certificate_worker.hpp"
#include "dispatch/delivery_engine.hpp"
#include "dispatch/message_lane.hpp"
#include "dispatch/message_relay.hpp"
#include "dispatch/pacing_rule.hpp"
#include "metrics/registry.hpp"
#include "mime/email_message.hpp"
#include "redis/redis_list_queue.hpp"
#include "redis/redis_shaper.hpp"

namespace herald::cli {
namespace {

namespace fs = std::filesystem;

config::HeraldConfig LoadServeConfig(const std::string& file_arg, const std::string& data_dir) {
  std::string file = file_arg;
  if (file.empty()) {
    if (const char* from_env = std::getenv("HERALD_CONFIG")) file = from_env;
  }
  auto loaded = config::LoadConfig(file, config::ProcessEnvironment(), config::ProcessEnvironmentNames());
  if (!loaded) throw InputError(loaded.error().message);
  auto c = std::move(loaded).value();
  if (!data_dir.empty()) c.data.dir = data_dir;
  return c;
}

std::pair<std::string, int> SplitListen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw InputError("--listen must be HOST:PORT, got \"" + listen + "\"");
  const auto host = listen.substr(0, colon);
  const auto port_text = listen.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (host.empty() || port_text.empty() || *end != '\0' || port < 1 || port > 65535) {
    throw InputError("--listen must be HOST:PORT with a port from 1 to 65535, got \"" + listen + "\"");
  }
  return {host, static_cast<int>(port)};
}

// The metrics of the service, declared once (Envoy style) and fed by hooks.
struct ServeMetrics {
  ServeMetrics(store::MessageStore& store, store::TrackingStore& tracking)
      : http_requests(registry.AddCounterFamily("http_requests_total", "HTTP requests answered",
                                                {"method", "route", "status"})),
        messages_published(registry.AddCounterFamily("messages_published_total",
                                                     "Recipients stored and queued for delivery", {"channel"})),
        messages_processed(registry.AddCounterFamily("messages_processed_total",
                                                     "Delivery attempts by outcome", {"channel", "status"})),
        email_jobs(registry.AddCounterFamily("email_jobs_processed_total", "E-mail delivery attempts by outcome",
                                             {"status"})),
        processing_seconds(registry.AddHistogramFamily("message_processing_duration_seconds",
                                                       "Time to render and hand one message to its provider",
                                                       {"channel"})),
        paced_processed(registry.AddCounterFamily("paced_messages_processed_total",
                                                  "Paced sender (seed 001) sends by outcome", {"status"})),
        certificates_processed(registry.AddCounterFamily("certificates_processed_total",
                                                         "Certificate sends by event lane and outcome",
                                                         {"lane", "status"})) {
    registry.AddCallbackGaugeFamily("queue_depth", "Recipients waiting per lane (queued, due or not)", {"lane"},
                                    [&store] {
                                      std::vector<metrics::LabeledValue> depth;
                                      for (const auto& [key, count] : store.CountByLaneAndStatus()) {
                                        if (key.second == "queued") {
                                          depth.push_back({{key.first}, static_cast<double>(count)});
                                        }
                                      }
                                      return depth;
                                    });
    registry.AddCallbackGaugeFamily("provider_events", "Provider webhook events stored, by provider and kind",
                                    {"provider", "kind"}, [&tracking] {
                                      std::vector<metrics::LabeledValue> events;
                                      for (const auto& [key, count] : tracking.CountEventsByProviderAndKind()) {
                                        events.push_back({{key.first, key.second}, static_cast<double>(count)});
                                      }
                                      return events;
                                    });
  }

  // Each failover list's providers: 1 while a provider's circuit is open
  // (skipped) or half-open (one probe allowed), 0 while closed.
  void AddCircuits(const std::map<std::string, const channels::Channel*>& channels) {
    registry.AddCallbackGaugeFamily(
        "provider_circuit_open", "1 while a provider's circuit breaker skips it or lets one probe through",
        {"channel", "provider"}, [channels] {
          std::vector<metrics::LabeledValue> circuits;
          for (const auto& [name, channel] : channels) {
            const auto* failover = dynamic_cast<const channels::failover::FailoverChannel*>(channel);
            if (failover == nullptr) continue;
            for (const auto& provider : failover->Health()) {
              circuits.push_back({{name, provider.provider},
                                  provider.state == channels::failover::CircuitState::kClosed ? 0.0 : 1.0});
            }
          }
          return circuits;
        });
  }

  metrics::Registry registry;
  metrics::CounterFamily& http_requests;
  metrics::CounterFamily& messages_published;
  metrics::CounterFamily& messages_processed;
  metrics::CounterFamily& email_jobs;
  metrics::HistogramFamily& processing_seconds;
  metrics::CounterFamily& paced_processed;
  metrics::CounterFamily& certificates_processed;
};

// What one process does: the HTTP API (with the intake, the outbox relay when a
// broker carries the lanes, and the campaign settler), the delivery of some
// lanes, or both (herald serve).
struct ProcessRoles {
  std::string command;             // serve, api or worker: for the logs
  bool api = false;
  // herald worker --listen: /health and /metrics of its delivery, no API.
  bool service_http = false;
  std::vector<std::string> lanes;  // delivered here: channel lanes and/or the paced lane
  store::SchemaPolicy schema = store::SchemaPolicy::kRequireCurrent;
  // herald serve on SQLite holds the data dir lock: no other process delivers
  // from its store, so whatever was left sending at start was abandoned.
  bool sole_deliverer = false;
};

// The email-jobs lane needs a source (RabbitMQ's queue or Redis's list) and a live API key to own its messages.
void RequireEmailJobOwner(const config::HeraldConfig& config, bool has_source, store::KeyStore& keys) {
  if (!has_source) {
    throw InputError("the email-jobs lane takes jobs from RabbitMQ's queue email-jobs or Redis's list email-jobs: set "
                     "queue.kind = \"rabbitmq\" (HERALD_QUEUE_KIND) or redis.url (HERALD_REDIS_URL)");
  }
  const auto owner = config.email_jobs.owner_key_id;
  if (owner == 0) {
    throw InputError("the email-jobs lane needs email_jobs.owner_key_id (HERALD_EMAIL_JOBS_OWNER_KEY_ID): the id of "
                     "the API key whose messages and templates the jobs are (`herald keys list`)");
  }
  for (const auto& key : keys.ListKeys()) {
    if (key.id == owner && !key.revoked_at_ms) return;
  }
  throw InputError("email_jobs.owner_key_id: there is no active API key with id " + std::to_string(owner) +
                   " (`herald keys list`; create one with `herald keys create --name <service>`)");
}

const std::vector<std::string>& ChannelLanes() {
  static const std::vector<std::string> lanes = {"sms", "whatsapp", "email", "telegram"};
  return lanes;
}

bool Has(const std::vector<std::string>& lanes, const std::string& lane) {
  return std::find(lanes.begin(), lanes.end(), lane) != lanes.end();
}

// herald worker --lanes certificates: the event lanes herald certificates runs leave on the broker.
constexpr const char* kCertificatesLanes = "certificates";

// serve.<lane>_per_second.
int PerSecond(const config::HeraldConfig& config, const std::string& lane) {
  const auto& serve = config.serve;
  if (lane == "email") return serve.email_per_second;
  if (lane == "sms") return serve.sms_per_second;
  if (lane == "whatsapp") return serve.whatsapp_per_second;
  if (lane == "telegram") return serve.telegram_per_second;
  return 0;
}

int RunProcess(const config::HeraldConfig& config, const ProcessRoles& roles, const SignalStop& signals) {
  const bool serves_http = roles.api || roles.service_http;
  const auto [host, port] = serves_http ? SplitListen(config.serve.listen) : std::pair<std::string, int>{};
  auto from = mime::ParseMailbox(config.serve.email_from);
  if (!from) throw InputError("serve.email_from: " + from.error().message);

  if (Has(roles.lanes, kCertificatesLanes) && config.queue.kind != "rabbitmq") {
    throw InputError("the certificates lane takes the event lanes of `herald certificates --queue rabbitmq` from "
                     "RabbitMQ: set queue.kind = \"rabbitmq\" (HERALD_QUEUE_KIND) and queue.amqp_url");
  }

  SystemClock clock;
  // Every store of this process on one opening of the configured backend.
  const auto stores = OpenStores(config, roles.schema, clock);
  if (const auto migrated = DescribeMigration(stores->where(), stores->migration()); !migrated.empty()) {
    spdlog::info("{}", migrated);
  }
  // Seed 002: the API's GET reads from a streaming replica, when one is named.
  const auto replica = roles.api ? OpenReplicaReads(config, *stores, clock) : nullptr;
  // Kept current off the request threads: opening a replica may take a connect timeout.
  std::optional<PeriodicTask> replica_probe;
  if (replica) replica_probe.emplace("store replica", store::kReplicaRetryInterval, [&replica] { replica->Probe(); });
  const auto outbox = config.serve.outbox_dir.empty() ? (fs::path(config.data.dir) / "outbox").string()
                                                      : config.serve.outbox_dir;
  const auto redis = OpenRedis(config, clock);
  SendRates send_rates(redis.get(), clock);
  IoRuntime runtime;
  channels::http::HttpClient http;
  auto email = MakeEmailChannel(config, outbox, runtime, http, send_rates, clock);
  // One channel per messaging lane, each with its own providers; the paced lane
  // (seed 001's SMS provider) sends over the sms one.
  std::map<std::string, std::unique_ptr<channels::Channel>> messaging;
  for (const auto& name : {"sms", "whatsapp", "telegram"}) messaging[name] = MakeMessagingChannel(config, name, http, send_rates, clock);
  ServeMetrics metrics(stores->messages(), stores->tracking());
  {
    std::map<std::string, const channels::Channel*> circuits{{"email", email.get()}};
    for (const auto& [name, channel] : messaging) circuits[name] = channel.get();
    metrics.AddCircuits(circuits);
  }
  // Sent-cache writes leave the engine's threads: a slow Redis never holds a send.
  boost::asio::thread_pool cache_writer(1);

  // Seed 001's paced sender: messages of the lane 'paced', sent over the same
  // SMS provider, shaped by a rule that releases N messages per interval. The
  // API starts and stops it; the process delivering the lane follows.
  dispatch::PacingRule pacer(stores->deliveries(), clock,
                             {.batch_size = config.serve.pacer_batch_size,
                              .interval = std::chrono::seconds(config.serve.pacer_interval_seconds),
                              .retry = RetryPolicyOf(config.serve.pacer_retry)});
  pacer.Recover();
  std::optional<PeriodicTask> pacer_follower;
  if (!roles.sole_deliverer) pacer_follower.emplace("paced sender", std::chrono::seconds(1), [&pacer] { pacer.Follow(); });

  // With a broker, the channel lanes take what the outbox relay hands it;
  // without, they read the store's due recipients directly.
  const auto broker = MakeMessageBroker(config, clock);
  if (Has(roles.lanes, kEmailJobsQueue)) RequireEmailJobOwner(config, broker || redis, stores->keys());
  std::optional<DeliveryLiveness> liveness;
  std::unique_ptr<dispatch::DeliveryEngine> engine;
  std::unique_ptr<dispatch::MessageLane> paced_lane;
  std::vector<std::unique_ptr<dispatch::MessageLane>> lanes;
  // The certificate lanes: their own engine (restarted as the event lanes
  // change), renderer and e-mail channel, on the same I/O runtime.
  std::unique_ptr<certificates::IsolatedPdfRenderer> certificate_renderer;
  std::unique_ptr<channels::Channel> certificate_email;
  std::unique_ptr<dispatch::CertificateWorker> certificate_worker;
  const bool delivers_certificates = Has(roles.lanes, kCertificatesLanes);
  if (!roles.lanes.empty()) {
    std::vector<DeliveryLiveness::Resolver> resolvers{ResolveAbandonedMessages(stores->deliveries())};
    if (delivers_certificates) {
      resolvers.push_back(ResolveAbandonedCertificates(
          stores->certificates(), stores->deliveries().claimant(),
          [](const std::vector<store::CertificateDelivery>& rows) {
            for (const auto& row : rows) {
              spdlog::warn("certificate for {} ({}) was being sent by a process that stopped; recorded as unknown, "
                           "not resent",
                           row.email, row.event_name);
            }
          }));
    }
    liveness.emplace(stores->deliveries(), clock, roles.sole_deliverer, std::move(resolvers));
    // One engine delivers every lane: a lane per channel (seed 004's routing) and the paced lane.
    engine = std::make_unique<dispatch::DeliveryEngine>(runtime, clock, dispatch::EngineSettings{}, &metrics.registry);
    if (Has(roles.lanes, store::kPacedLane)) {
      paced_lane = std::make_unique<dispatch::MessageLane>(stores->deliveries(), pacer, clock);
      engine->AddLane(*paced_lane, *messaging.at("sms"), dispatch::PacedLaneOptions(pacer));
      pacer.SetOnChange([&engine] { engine->Wake(store::kPacedLane); });
    }
    dispatch::LaneOptions lane_options;
    lane_options.retry = RetryPolicyOf(config.serve.retry);
    lane_options.max_in_flight = config.serve.max_in_flight;
    // A broker hands items over asynchronously, and nothing in a worker process
    // wakes its lanes when it does: look again soon rather than after the
    // store's idle poll (an empty look is one poll() on the socket).
    if (broker) lane_options.idle_poll = std::chrono::milliseconds(20);
    for (const auto& channel : ChannelLanes()) {
      if (!Has(roles.lanes, channel)) continue;
      lanes.push_back(broker ? std::make_unique<dispatch::MessageLane>(stores->deliveries(), *broker, channel, *from, clock)
                             : std::make_unique<dispatch::MessageLane>(stores->deliveries(), channel, *from, clock));
      auto options = lane_options;
      options.shaper = send_rates.Rate(channel, PerSecond(config, channel));
      engine->AddLane(*lanes.back(), channel == "email" ? *email : *messaging.at(channel), options);
    }
    engine->SetObserver([&metrics, &redis, &cache_writer, &clock](const std::string& lane,
                                                                   std::span<const dispatch::Finished> finished) {
      if (redis && lane == store::kPacedLane) {
        // Seed 001: the provider's id and the sent time of each paced send, for the sent list.
        std::vector<store::SentEntry> sent;
        for (const auto& f : finished) {
          if (f.kind != dispatch::Finished::Kind::kSent || f.decision.status != domain::DeliveryStatus::kSent) continue;
          sent.push_back({dispatch::MessageIdOf(*f.item), f.outcome.provider_message_id, ToUnixMillis(clock.Now())});
        }
        if (!sent.empty()) {
          boost::asio::post(cache_writer, [&redis, sent = std::move(sent)] { redis->sent_cache.Remember(sent); });
        }
      }
      for (const auto& f : finished) {
        if (f.kind != dispatch::Finished::Kind::kSent && f.kind != dispatch::Finished::Kind::kRenderFailed) continue;
        const char* status = domain::ToString(f.decision.status);
        if (lane == store::kPacedLane) {
          metrics.paced_processed.WithLabels({status}).Increment();
          continue;
        }
        metrics.messages_processed.WithLabels({lane, status}).Increment();
        if (lane == "email") metrics.email_jobs.WithLabels({status}).Increment();
        metrics.processing_seconds.WithLabels({lane}).Observe(std::chrono::duration<double>(f.send_time).count());
      }
    });
  }
  if (delivers_certificates) {
    CheckEmailSettings(config);
    certificate_renderer = MakeCertificateRenderer(config);
    certificate_email = MakeEmailChannel(config,
                                         config.certificates.outbox_dir.empty()
                                             ? (fs::path(config.data.dir) / "outbox").string()
                                             : config.certificates.outbox_dir,
                                         runtime, http, send_rates, clock);
    certificate_worker = std::make_unique<dispatch::CertificateWorker>(
        stores->certificates(), *broker, *certificate_email, runtime, *certificate_renderer, clock,
        stores->deliveries().claimant(),
        dispatch::CertificateWorkerOptions{
            .retry = RetryPolicyOf(config.certificates.retry),
            .render_threads = config.certificates.concurrency,
            .observer = [&metrics](const std::string& lane, std::span<const dispatch::Finished> finished) {
              for (const auto& f : finished) {
                if (f.kind != dispatch::Finished::Kind::kSent && f.kind != dispatch::Finished::Kind::kRenderFailed) {
                  continue;
                }
                metrics.certificates_processed.WithLabels({lane, domain::ToString(f.decision.status)}).Increment();
              }
            }});
  }
  // The outbox relay runs where messages are accepted.
  std::unique_ptr<dispatch::MessageRelay> relay;
  if (broker && roles.api) {
    relay = std::make_unique<dispatch::MessageRelay>(stores->deliveries(), *broker, ChannelLanes(), clock,
                                                     [&engine](const std::string& lane) {
                                                       if (engine) engine->Wake(lane);
                                                     });
  }

  // Seed 002's fast path: jobs from the broker's email-jobs queue, and from
  // Redis's email-jobs list, become messages here.
  std::unique_ptr<redis::RedisListQueue> redis_job_list;
  std::vector<std::pair<std::string, std::unique_ptr<EmailJobConsumer>>> email_jobs;
  if (Has(roles.lanes, kEmailJobsQueue)) {
    const auto wake_email = [&relay, &engine] {
      if (relay) {
        relay->Wake();
      } else if (engine) {
        engine->Wake("email");
      }
    };
    const auto take_jobs_from = [&](const std::string& source, queue::Queue& jobs) {
      email_jobs.emplace_back(source, std::make_unique<EmailJobConsumer>(jobs, stores->messages(), stores->templates(),
                                                                         config.email_jobs.owner_key_id, clock,
                                                                         wake_email));
    };
    if (broker) take_jobs_from("rabbitmq", *broker);
    if (redis) {
      redis_job_list = std::make_unique<redis::RedisListQueue>(
          redis->client, redis::RedisListQueueOptions{.plain_lanes = {kEmailJobsQueue, kInvalidEmailJobsQueue}});
      take_jobs_from("redis", *redis_job_list);
    }
  }

  std::unique_ptr<app::MessageIntake> intake;
  std::optional<PeriodicTask> settler;
  std::unique_ptr<app::CampaignService> campaigns;
  std::unique_ptr<api::ApiServer> server;
  const std::string email_description = email->Describe();
  std::string messaging_description;
  for (const auto& [name, channel] : messaging) {
    messaging_description += (messaging_description.empty() ? "" : " ") + name + "=" + channel->Describe();
  }
  const std::string queue_kind = config.queue.kind;
  if (serves_http) {
    // herald worker's service routes accept no message; the intake is idle there.
    intake = std::make_unique<app::MessageIntake>(
        stores->messages(), clock, [&engine, &metrics, &relay](const std::vector<store::AcceptedMessage>& stored) {
          std::set<std::string> channels;
          for (const auto& entry : stored) {
            if (!entry.created) continue;
            for (const auto& recipient : entry.message.recipients) {
              channels.insert(recipient.channel);
              metrics.messages_published.WithLabels({recipient.channel}).Increment();
            }
          }
          if (relay) {
            if (!channels.empty()) relay->Wake();
            return;
          }
          // Without a broker, lanes in another process find the work at their next poll.
          if (engine) {
            for (const auto& channel : channels) engine->Wake(channel);
          }
        });
    api::ApiServerSettings server_settings;
    server_settings.address = host;
    server_settings.port = port;
    server_settings.io_threads = config.serve.http_threads;
    server_settings.messages.max_bulk_messages = config.serve.max_bulk_messages;
    server_settings.limits = {config.serve.free_per_minute, config.serve.basic_per_minute,
                              config.serve.premium_per_minute};
    server_settings.service_routes_only = !roles.api;
    if (redis) server_settings.shared_limiter = &redis->limiter;
    if (replica) {
      server_settings.reads = {.messages = &replica->messages(),
                               .contacts = &replica->contacts(),
                               .templates = &replica->templates(),
                               .campaigns = &replica->campaigns()};
    }
    api::ApiServerHooks hooks;
    hooks.metrics = [&metrics] { return metrics.registry.Render(); };
    hooks.on_request = [&metrics](const std::string& method, const std::string& route, int status) {
      metrics.http_requests.WithLabels({method, route, std::to_string(status)}).Increment();
    };
    hooks.health = [&stores, &replica, &pacer, &engine, &relay, &redis, &email_jobs, &certificate_worker, queue_kind,
                    &email, &messaging] {
      nlohmann::json health;
      try {
        std::int64_t queued = 0;
        for (const auto& [key, count] : stores->messages().CountByLaneAndStatus()) {
          if (key.second == "queued") queued += count;
        }
        health["store"] = {{"status", "ok"}, {"kind", stores->kind()}};
        health["queue"] = {{"status", "ok"}, {"kind", queue_kind}, {"queued", queued}};
        if (relay) {
          health["queue"]["published"] = relay->published();
          if (const auto error = relay->last_error(); !error.empty()) {
            health["status"] = "degraded";
            health["reason"] = "queue: cannot hand messages to the broker: " + error;
            health["queue"]["status"] = "error";
            health["queue"]["error"] = error;
          }
        }
      } catch (const std::exception& e) {
        health["status"] = "degraded";
        health["store"] = {{"status", "error"}, {"error", e.what()}};
      }
      if (replica) {
        const auto state = replica->health();
        nlohmann::json block{{"status", state.up ? "ok" : "error"},
                             {"where", state.where},
                             {"reads", state.replica_reads},
                             {"primary_reads", state.primary_reads}};
        if (!state.up) {
          block["error"] = state.error;
          health["status"] = "degraded";
          health["reason"] = "store replica " + state.where + ": " + state.error + "; reads go to the primary";
        }
        health["store"]["replica"] = std::move(block);
      }
      health["pacer"] = {{"running", pacer.IsRunning()}};
      if (certificate_worker) {
        auto& block = health["certificates"];
        block = {{"status", "ok"}, {"events", certificate_worker->lanes()}};
        if (const auto error = certificate_worker->last_error(); !error.empty()) {
          health["status"] = "degraded";
          health["reason"] = "certificates: " + error;
          block["status"] = "error";
          block["error"] = error;
        }
      }
      if (!email_jobs.empty()) {
        auto& block = health["email_jobs"];
        block = {{"status", "ok"}, {"sources", nlohmann::json::array()}};
        std::int64_t stored = 0;
        std::int64_t invalid = 0;
        for (const auto& [source, consumer] : email_jobs) {
          block["sources"].push_back(source);
          stored += consumer->stored();
          invalid += consumer->invalid();
          if (const auto error = consumer->last_error(); !error.empty()) {
            health["status"] = "degraded";
            health["reason"] = "email-jobs from " + source + ": " + error;
            block["status"] = "error";
            block["error"] = error;
          }
        }
        block["stored"] = stored;
        block["invalid"] = invalid;
      }
      if (redis) {
        health["redis"] = {{"status", "ok"}, {"url", redis->client.Describe()}};
        try {
          redis->client.Run({"PING"});
        } catch (const redis::RedisError& e) {
          health["status"] = "degraded";
          health["reason"] = std::string(e.what()) +
                             "; rate limits are counted per process and the sent list reads the store until it answers";
          health["redis"]["status"] = "error";
          health["redis"]["error"] = e.what();
        }
      }
      // A provider whose latest sends all failed (SMTP down, a webhook answering
      // 5xx) makes the service degraded, with its reason. Only the lanes this
      // process delivers (none in herald api).
      nlohmann::json channels = nlohmann::json::object();
      for (const auto& channel : engine ? engine->Health() : std::vector<dispatch::DeliveryEngine::ChannelHealth>{}) {
        nlohmann::json entry{{"status", channel.degraded ? "degraded" : "ok"},
                             {"consecutive_failures", channel.consecutive_failures}};
        if (!channel.last_failure.empty()) entry["last_failure"] = channel.last_failure;
        if (channel.degraded) {
          health["status"] = "degraded";
          health["reason"] = channel.channel + ": its last " + std::to_string(channel.consecutive_failures) +
                             " sends failed: " + channel.last_failure;
        }
        channels[channel.channel] = std::move(entry);
      }
      health["channels"] = std::move(channels);
      // Each channel's provider, and with a failover list each provider's circuit.
      nlohmann::json providers = nlohmann::json::object();
      nlohmann::json circuits = nlohmann::json::object();
      const auto describe = [&](const std::string& name, const channels::Channel& channel) {
        providers[name] = channel.Describe();
        const auto* failover = dynamic_cast<const channels::failover::FailoverChannel*>(&channel);
        if (failover == nullptr) return;
        nlohmann::json list = nlohmann::json::array();
        for (const auto& provider : failover->Health()) {
          list.push_back({{"provider", provider.provider},
                          {"circuit", channels::failover::ToString(provider.state)},
                          {"consecutive_failures", provider.consecutive_failures}});
        }
        circuits[name] = std::move(list);
      };
      describe("email", *email);
      for (const auto& [name, channel] : messaging) describe(name, *channel);
      health["providers"] = std::move(providers);
      if (!circuits.empty()) health["circuits"] = std::move(circuits);
      return health;
    };
    // A lane of the broker, declared again as its check: the API's relay feeds
    // every channel lane; a worker checks one it takes from.
    std::string probe_lane = roles.api ? dispatch::MessageQueueName("email") : std::string();
    for (const auto& lane : roles.lanes) {
      if (probe_lane.empty() && Has(ChannelLanes(), lane)) probe_lane = dispatch::MessageQueueName(lane);
    }
    hooks.ready = [&stores, &relay, &broker, probe_lane]() -> std::optional<std::string> {
      try {
        stores->deliveries().LoadSchedule();  // one row: the store answers
      } catch (const std::exception& e) {
        return std::string("store: ") + e.what();
      }
      if (relay) {
        if (const auto error = relay->last_error(); !error.empty()) return "queue: " + error;
      }
      if (broker && !probe_lane.empty()) {
        try {
          broker->EnsureLane(probe_lane);
        } catch (const std::exception& e) {
          return std::string("queue: ") + e.what();
        }
      }
      return std::nullopt;
    };
    server = std::make_unique<api::ApiServer>(stores->keys(), stores->messages(), *intake, clock, server_settings, hooks);
  }
  if (roles.api) {
    // Seeds 002/003. Campaign states follow their messages (scheduled -> sending
    // -> sent or failed) here, in the background, so no GET writes.
    settler.emplace("campaigns: cannot bring their states up to date", std::chrono::milliseconds(500),
                    [&stores, &clock] { stores->campaigns().Settle(ToUnixMillis(clock.Now())); });
    campaigns = std::make_unique<app::CampaignService>(stores->contacts(), stores->templates(), stores->campaigns(),
                                                       *intake, clock);
    server->AddPacing(stores->pacing(), pacer, redis ? &redis->sent_cache : nullptr);
    server->AddCampaigns(stores->contacts(), stores->templates(), stores->campaigns(), *campaigns);
    try {
      server->AddWebhooks(stores->tracking(), WebhookSettingsOf(config), WebhookFetcher(http));
    } catch (const std::invalid_argument& e) {
      throw InputError(e.what());
    }
  }

  if (relay) relay->Start();
  for (auto& [source, consumer] : email_jobs) consumer->Start();
  if (engine) engine->Start();
  if (certificate_worker) certificate_worker->Start();
  if (server) server->Start();
  std::string delivers;
  for (const auto& lane : roles.lanes) delivers += (delivers.empty() ? "" : ",") + lane;
  if (roles.api) {
    spdlog::info("{}: listening on http://{}:{} store={} queue={} delivers={} email={} messaging={}", roles.command,
                 host, port, stores->where(), queue_kind, delivers.empty() ? "nothing" : delivers, email_description,
                 messaging_description);
  } else {
    spdlog::info("{}: delivering {} from store={} queue={} email={} messaging={}{}", roles.command, delivers,
                 stores->where(), queue_kind, email_description, messaging_description,
                 server ? fmt::format(" health and metrics on http://{}:{}", host, port) : std::string());
  }
  while (!signals.flag()) std::this_thread::sleep_for(std::chrono::milliseconds(50));

  spdlog::info("stopping: finishing in-flight requests and sends (up to {} s)", config.serve.shutdown_seconds);
  if (server) {
    server->Drain(std::chrono::seconds(config.serve.shutdown_seconds));
    server->Stop();
  }
  if (intake) intake->Stop();
  for (auto& [source, consumer] : email_jobs) consumer->Stop();
  if (relay) relay->Stop();
  if (engine) engine->Stop();
  if (certificate_worker) certificate_worker->Stop();
  cache_writer.join();
  spdlog::info("stopped; queued work stays in {}", stores->where());
  return kExitOk;
}

// herald api and herald worker share their store with other processes.
void RequireSharedStore(const config::HeraldConfig& config, const std::string& command) {
  if (config.store.kind == "postgres") return;
  throw InputError("herald " + command +
                   " shares its store with other herald processes, which SQLite cannot do across machines: set "
                   "store.kind = \"postgres\" and store.url (HERALD_STORE_KIND, HERALD_STORE_URL), or run "
                   "`herald serve`, which does everything in one process on SQLite");
}

std::vector<std::string> ParseLanes(const std::string& text) {
  std::vector<std::string> lanes;
  std::string all;
  for (const auto& lane : ChannelLanes()) all += lane + ",";
  all += std::string(store::kPacedLane) + "," + kEmailJobsQueue + "," + kCertificatesLanes;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const auto comma = std::min(text.find(',', begin), text.size());
    const auto lane = text.substr(begin, comma - begin);
    if (lane != store::kPacedLane && lane != kEmailJobsQueue && lane != kCertificatesLanes &&
        !Has(ChannelLanes(), lane)) {
      throw InputError("--lanes: unknown lane \"" + lane + "\"; the lanes are " + all);
    }
    if (!Has(lanes, lane)) lanes.push_back(lane);
    begin = comma + 1;
  }
  return lanes;
}

}  // namespace

void AddServeCommand(CLI::App& app, ServeArgs& args) {
  auto* cmd = app.add_subcommand("serve", "Run the REST API with its workers and scheduler");
  cmd->add_option("--listen", args.listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  cmd->add_option("--data-dir", args.data_dir, "State folder: database and outbox (default herald-data)");
  cmd->add_option("--config", args.config_file, "TOML configuration file");
}

int RunServe(const ServeArgs& args) {
  return ReportingErrors([&] {
    SignalStop signals;  // first, so every thread started below has the signals blocked
    auto config = LoadServeConfig(args.config_file, args.data_dir);
    if (!args.listen.empty()) config.serve.listen = args.listen;
    DataDirLock lock(config.data.dir);
    ProcessRoles roles{.command = "serve", .api = true, .schema = store::SchemaPolicy::kMigrate};
    roles.lanes = ChannelLanes();
    roles.lanes.emplace_back(store::kPacedLane);
    if (config.email_jobs.owner_key_id != 0) roles.lanes.emplace_back(kEmailJobsQueue);
    // On PostgreSQL, herald worker processes may deliver from the same store.
    roles.sole_deliverer = config.store.kind != "postgres";
    return RunProcess(config, roles, signals);
  });
}

void AddApiCommand(CLI::App& app, ServeArgs& args) {
  auto* cmd = app.add_subcommand(
      "api", "Run the REST API only (no delivery), beside herald worker processes, on PostgreSQL");
  cmd->add_option("--listen", args.listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  cmd->add_option("--data-dir", args.data_dir, "State folder (default herald-data)");
  cmd->add_option("--config", args.config_file, "TOML configuration file");
}

int RunApi(const ServeArgs& args) {
  return ReportingErrors([&] {
    SignalStop signals;
    auto config = LoadServeConfig(args.config_file, args.data_dir);
    if (!args.listen.empty()) config.serve.listen = args.listen;
    RequireSharedStore(config, "api");
    return RunProcess(config, {.command = "api", .api = true}, signals);
  });
}

void AddWorkerCommand(CLI::App& app, WorkerArgs& args) {
  auto* cmd = app.add_subcommand(
      "worker", "Deliver messages only (no API): as many as you like, beside herald api, on PostgreSQL");
  cmd->add_option("--lanes", args.lanes, "Lanes to deliver, comma-separated (default email,sms,whatsapp,telegram,paced; also email-jobs: seed 002's queue of e-mail jobs, taken by default when email_jobs.owner_key_id is set; and certificates: the event lanes of `herald certificates --queue rabbitmq` runs)");
  cmd->add_option("--listen", args.listen, "HOST:PORT to serve GET /health and /metrics on (default: none)");
  cmd->add_option("--data-dir", args.data_dir, "State folder: the outbox when SMTP is not set (default herald-data)");
  cmd->add_option("--config", args.config_file, "TOML configuration file");
}

int RunWorker(const WorkerArgs& args) {
  return ReportingErrors([&] {
    SignalStop signals;
    auto config = LoadServeConfig(args.config_file, args.data_dir);
    auto lanes = ParseLanes(args.lanes);
    // Configured and not named: the default lanes take e-mail jobs too.
    if (args.lanes == WorkerArgs{}.lanes && config.email_jobs.owner_key_id != 0) lanes.emplace_back(kEmailJobsQueue);
    RequireSharedStore(config, "worker");
    if (!args.listen.empty()) config.serve.listen = args.listen;
    return RunProcess(config, {.command = "worker", .service_http = !args.listen.empty(), .lanes = lanes}, signals);
  });
}

void AddKeysCommand(CLI::App& app, KeysArgs& args) {
  auto* keys = app.add_subcommand("keys", "Manage the API keys `herald serve` accepts");
  keys->require_subcommand(1);
  auto* create = keys->add_subcommand("create", "Create a key; prints it once, as the only line on stdout");
  create->add_option("--name", args.name, "Who or what the key is for")->required();
  create->add_option("--role", args.role, "admin or user (default user)")->check(CLI::IsMember({"admin", "user"}));
  create->add_option("--tier", args.tier, "Rate-limit tier: free (60/min), basic (300/min), premium (1000/min)")
      ->check(CLI::IsMember({"free", "basic", "premium"}));
  keys->add_subcommand("list", "List keys (never the keys themselves)");
  auto* revoke = keys->add_subcommand("revoke", "Revoke a key by id");
  revoke->add_option("id", args.id, "Key id, as shown by `herald keys list`")->required();
  for (auto* cmd : {create, keys->get_subcommand("list"), revoke}) {
    cmd->add_option("--data-dir", args.data_dir, "State folder (default herald-data)");
    cmd->add_option("--config", args.config_file, "TOML configuration file");
  }
}

int RunKeys(const CLI::App& app, const KeysArgs& args) {
  return ReportingErrors([&] {
    const auto config = LoadServeConfig(args.config_file, args.data_dir);
    // No data dir lock: keys are managed while the server runs; SQLite serialises the writes.
    const SystemClock clock;
    const auto stores = OpenStores(config, store::SchemaPolicy::kMigrate, clock);
    auto& store = stores->keys();
    const auto now = ToUnixMillis(clock.Now());
    const auto* keys = app.get_subcommand("keys");
    if (keys->got_subcommand("create")) {
      std::cout << store.IssueKey(args.name, args.role, args.tier, now).key << "\n";
      return kExitOk;
    }
    if (keys->got_subcommand("list")) {
      std::cout << "id\tname\trole\ttier\tprefix\tstatus\n";
      for (const auto& key : store.ListKeys()) {
        std::cout << key.id << "\t" << key.name << "\t" << key.role << "\t" << key.tier << "\t" << key.key_prefix
                  << "…\t" << (key.revoked_at_ms ? "revoked" : "active") << "\n";
      }
      return kExitOk;
    }
    if (!store.RevokeKey(args.id, now)) {
      std::cerr << "error: no active key with id " << args.id << "\n";
      return kExitInputError;
    }
    std::cerr << "revoked key " << args.id << " (a running server stops accepting it within 5 s)\n";
    return kExitOk;
  });
}

void AddMigrateCommand(CLI::App& app, MigrateArgs& args) {
  auto* migrate = app.add_subcommand("migrate", "Create or upgrade the schema of the configured store");
  migrate->add_option("--data-dir", args.data_dir, "State folder (default herald-data)");
  migrate->add_option("--config", args.config_file, "TOML configuration file");
}

int RunMigrate(const MigrateArgs& args) {
  return ReportingErrors([&] {
    std::cout << MigrateStore(LoadServeConfig(args.config_file, args.data_dir)) << "\n";
    return kExitOk;
  });
}

}  // namespace herald::cli
