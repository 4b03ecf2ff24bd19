// `herald serve`'s HTTP side: RESTinio on Boost.Asio (measured 1.5x Boost.Beast
// here) with the route groups of the API. Handlers never block an I/O thread:
// writes go through the group-commit intake, reads to a small pool, and answers
// are sent from there.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/api_context.hpp"
#include "api/key_routes.hpp"
#include "app/campaigns.hpp"
#include "app/message_intake.hpp"
#include "api/message_routes.hpp"
#include "api/pacing_routes.hpp"
#include "api/campaign_routes.hpp"
#include "api/contact_routes.hpp"
#include "api/template_routes.hpp"
#include "api/webhook_routes.hpp"
#include "common/clock.hpp"
#include "store/campaign_store.hpp"
#include "store/key_store.hpp"
#include "store/message_store.hpp"
#include "store/pacing_store.hpp"

namespace herald::api {

// Where GET lists and details, and template lookups, read: seed 002's read
// replica (store/replica). Each left null reads the store given for writes.
struct ReadStores {
  store::MessageStore* messages = nullptr;
  store::ContactStore* contacts = nullptr;
  store::TemplateStore* templates = nullptr;
  store::CampaignStore* campaigns = nullptr;
};

struct ApiServerSettings {
  std::string address = "127.0.0.1";
  int port = 8080;
  int io_threads = 1;
  int read_threads = 2;
  RateLimitSettings limits;
  // Counts the tier limits for every process (Redis); nullptr: this process on its own.
  RequestLimiter* shared_limiter = nullptr;
  MessageRouteSettings messages;
  ReadStores reads;
  // Only GET /health, /ready, /metrics and /openapi.json: what herald worker serves
  // for probes and scrapers, beside no API.
  bool service_routes_only = false;
};

struct ApiServerHooks {
  // Extra fields for GET /health (store, queue, providers), evaluated per call.
  std::function<nlohmann::json()> health;
  // Why the process cannot serve (its store or queue unreachable), or nullopt:
  // GET /ready answers 503 with it, or 200. None: always ready.
  std::function<std::optional<std::string>()> ready;
  // Prometheus text for GET /metrics.
  std::function<std::string()> metrics;
  // Called once per answered request (method, route pattern, status) for metrics.
  ApiContext::RequestObserver on_request;
};

class ApiServer {
 public:
  ApiServer(store::KeyStore& keys, store::MessageStore& messages, app::MessageIntake& intake, const Clock& clock,
            ApiServerSettings settings, ApiServerHooks hooks = {});
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Also serves the paced sender's routes (seed 001); call before Start().
  // `sent_cache` (nullable): seed 001's cache in front of the sent list.
  void AddPacing(store::PacingStore& store, dispatch::PacingRule& pacer, store::SentCache* sent_cache = nullptr);
  // Also serves contacts, templates and campaigns (seeds 002, 003); `service`
  // does what the campaign routes ask. Call before Start().
  void AddCampaigns(store::ContactStore& contacts, store::TemplateStore& templates, store::CampaignStore& campaigns,
                    app::CampaignService& service);
  // Also serves the provider webhooks (/webhooks/twilio, /sendgrid, /ses),
  // which store what they report in `tracking`; `fetch` GETs SNS signing
  // certificates and subscription confirmations. Throws std::invalid_argument
  // naming a setting that cannot be used. Call before Start().
  void AddWebhooks(store::TrackingStore& tracking, WebhookSettings settings, UrlFetcher fetch);
  // Listens; throws std::runtime_error naming the address when it cannot.
  void Start();
  // The operations served, as Start() registered them (empty before); the
  // tests hold them against the OpenAPI document served at /openapi.json.
  std::vector<RouteInfo> Routes() const;
  // Answers new requests with 503 from now on, then waits (up to `deadline`)
  // for the requests being handled to be answered.
  void Drain(std::chrono::milliseconds deadline);
  // Closes the listener and every connection.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
