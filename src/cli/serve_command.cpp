#include "cli/serve_command.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "api/http_server.hpp"
#include "app/message_intake.hpp"
#include "cli/certificates_command.hpp"
#include "cli/run_guard.hpp"
#include "cli/wiring.hpp"
#include "config/herald_config.hpp"
#include "dispatch/delivery_engine.hpp"
#include "dispatch/message_lane.hpp"
#include "dispatch/message_relay.hpp"
#include "dispatch/pacing_rule.hpp"
#include "metrics/registry.hpp"
#include "mime/email_message.hpp"

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

// Brings campaign states up to date with their messages twice a second.
class CampaignSettler {
 public:
  CampaignSettler(store::CampaignStore& store, const Clock& clock)
      : store_(store), clock_(clock), thread_([this] { Run(); }) {}
  ~CampaignSettler() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  CampaignSettler(const CampaignSettler&) = delete;
  CampaignSettler& operator=(const CampaignSettler&) = delete;

 private:
  void Run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
      lock.unlock();
      try {
        store_.Settle(ToUnixMillis(clock_.Now()));
      } catch (const std::exception& e) {
        spdlog::error("campaigns: cannot bring their states up to date: {}", e.what());
      }
      lock.lock();
    }
  }

  store::CampaignStore& store_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// The metrics of the service, declared once (Envoy style) and fed by hooks.
struct ServeMetrics {
  explicit ServeMetrics(store::MessageStore& store)
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
                                                  "Paced sender (seed 001) sends by outcome", {"status"})) {
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
  }

  metrics::Registry registry;
  metrics::CounterFamily& http_requests;
  metrics::CounterFamily& messages_published;
  metrics::CounterFamily& messages_processed;
  metrics::CounterFamily& email_jobs;
  metrics::HistogramFamily& processing_seconds;
  metrics::CounterFamily& paced_processed;
};

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
    const auto [host, port] = SplitListen(config.serve.listen);
    auto from = mime::ParseMailbox(config.serve.email_from);
    if (!from) throw InputError("serve.email_from: " + from.error().message);

    SystemClock clock;
    DataDirLock lock(config.data.dir);
    // Every store of this process on one opening of the configured backend.
    const auto stores = OpenStores(config, store::SchemaPolicy::kMigrate, clock);
    if (const auto migrated = DescribeMigration(stores->where(), stores->migration()); !migrated.empty()) {
      spdlog::info("{}", migrated);
    }
    const auto outbox = config.serve.outbox_dir.empty() ? (fs::path(config.data.dir) / "outbox").string()
                                                        : config.serve.outbox_dir;
    IoRuntime runtime;
    channels::http::HttpClient http;
    auto email = MakeEmailChannel(config, outbox, runtime);
    auto messaging = MakeMessagingChannel(config.serve, http);
    ServeMetrics metrics(stores->messages());

    // Seed 001's paced sender: messages of the lane 'paced', sent over the same
    // SMS provider, shaped by a rule that releases N messages per interval.
    dispatch::PacingRule pacer(stores->deliveries(), clock,
                               {.batch_size = config.serve.pacer_batch_size,
                                .interval = std::chrono::seconds(config.serve.pacer_interval_seconds),
                                .retry = RetryPolicyOf(config.serve.pacer_retry)});
    pacer.Recover();
    dispatch::MessageLane paced_lane(stores->deliveries(), pacer, clock);

    // With a broker, the channel lanes take what the outbox relay hands it;
    // without, they read the store's due recipients directly.
    const auto broker = MakeMessageBroker(config, clock);
    // One engine delivers every lane: a lane per channel (seed 004's routing) and the paced lane.
    dispatch::DeliveryEngine engine(runtime, clock, {}, &metrics.registry);
    engine.AddLane(paced_lane, *messaging, dispatch::PacedLaneOptions(pacer));
    pacer.SetOnChange([&engine] { engine.Wake(store::kPacedLane); });
    std::vector<std::unique_ptr<dispatch::MessageLane>> lanes;
    dispatch::LaneOptions lane_options;
    lane_options.retry = RetryPolicyOf(config.serve.retry);
    lane_options.max_in_flight = config.serve.max_in_flight;
    const std::vector<std::string> channel_lanes = {"sms", "whatsapp", "email", "telegram"};
    for (const auto& channel : channel_lanes) {
      lanes.push_back(broker ? std::make_unique<dispatch::MessageLane>(stores->deliveries(), *broker, channel, *from, clock)
                             : std::make_unique<dispatch::MessageLane>(stores->deliveries(), channel, *from, clock));
      engine.AddLane(*lanes.back(), channel == "email" ? *email : *messaging, lane_options);
    }
    std::unique_ptr<dispatch::MessageRelay> relay;
    if (broker) {
      relay = std::make_unique<dispatch::MessageRelay>(stores->deliveries(), *broker, channel_lanes, clock,
                                                       [&engine](const std::string& lane) { engine.Wake(lane); });
    }
    engine.SetObserver([&metrics](const std::string& lane, std::span<const dispatch::Finished> finished) {
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

    app::MessageIntake intake(stores->messages(), clock, [&engine, &metrics, &relay](const std::vector<store::AcceptedMessage>& stored) {
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
      for (const auto& channel : channels) engine.Wake(channel);
    });
    api::ApiServerSettings server_settings;
    server_settings.address = host;
    server_settings.port = port;
    server_settings.io_threads = config.serve.http_threads;
    server_settings.messages.max_bulk_messages = config.serve.max_bulk_messages;
    server_settings.limits = {config.serve.free_per_minute, config.serve.basic_per_minute,
                              config.serve.premium_per_minute};
    api::ApiServerHooks hooks;
    hooks.metrics = [&metrics] { return metrics.registry.Render(); };
    hooks.on_request = [&metrics](const std::string& method, const std::string& route, int status) {
      metrics.http_requests.WithLabels({method, route, std::to_string(status)}).Increment();
    };
    const std::string email_description = email->Describe();
    const std::string messaging_description = messaging->Describe();
    const std::string queue_kind = config.queue.kind;
    hooks.health = [&stores, &pacer, &engine, &relay, queue_kind, email_description, messaging_description] {
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
      health["pacer"] = {{"running", pacer.IsRunning()}};
      // A provider whose latest sends all failed (SMTP down, a webhook answering
      // 5xx) makes the service degraded, with its reason.
      nlohmann::json channels = nlohmann::json::object();
      for (const auto& channel : engine.Health()) {
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
      health["providers"] = {{"email", email_description},
                             {"sms", messaging_description},
                             {"whatsapp", messaging_description},
                             {"telegram", messaging_description}};
      return health;
    };
    // Seeds 002/003. Campaign states follow their messages (scheduled -> sending
    // -> sent or failed) here, in the background, so no GET writes.
    CampaignSettler settler(stores->campaigns(), clock);
    app::CampaignService campaigns(stores->contacts(), stores->templates(), stores->campaigns(), intake, clock);
    api::ApiServer server(stores->keys(), stores->messages(), intake, clock, server_settings, hooks);
    server.AddPacing(stores->pacing(), pacer);
    server.AddCampaigns(stores->contacts(), stores->templates(), stores->campaigns(), campaigns);

    const auto abandoned = stores->deliveries().ResolveAbandoned(ToUnixMillis(clock.Now()));
    if (abandoned > 0) {
      spdlog::warn("{} send(s) were interrupted by the previous stop; recorded as unknown, not resent", abandoned);
    }
    if (relay) relay->Start();
    engine.Start();
    server.Start();
    spdlog::info("listening on http://{}:{} data_dir={} queue={} email={} messaging={}", host, port, config.data.dir,
                 queue_kind, email_description, messaging_description);
    while (!signals.flag()) std::this_thread::sleep_for(std::chrono::milliseconds(50));

    spdlog::info("stopping: finishing in-flight requests and sends (up to {} s)", config.serve.shutdown_seconds);
    server.Drain(std::chrono::seconds(config.serve.shutdown_seconds));
    server.Stop();
    intake.Stop();
    if (relay) relay->Stop();
    engine.Stop();
    spdlog::info("stopped; queued work stays in {}", stores->where());
    return kExitOk;
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
