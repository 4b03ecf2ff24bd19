#include "api/http_server.hpp"

#include <http_parser.h>

#include "api/api_context.hpp"
#include "api/openapi_document.hpp"

namespace herald::api {
namespace {

// What a request line and header section may hold. Larger ones are read (up to
// kMaxHeaderSectionBytes) only to be answered 414 or 431 in the API's error
// shape; a client past that bound has its connection closed, as nothing useful
// can be said to it without reading on.
constexpr std::size_t kMaxTargetBytes = 8 << 10;
constexpr std::size_t kMaxHeaderFields = 100;
constexpr std::size_t kMaxHeaderFieldBytes = 16 << 10;
constexpr std::size_t kMaxHeaderBytes = 64 << 10;
constexpr std::uint32_t kMaxHeaderSectionBytes = 2 << 20;

// In front of the router: refuses requests too large to serve, and answers
// what the router cannot route (a path that does not decode) with 400.
class Gate {
 public:
  Gate(ApiContext& context, std::unique_ptr<Router> router) : context_(context), router_(std::move(router)) {}

  restinio::request_handling_status_t operator()(const Request& req) const {
    if (auto refusal = Refusal(req->header())) {
      if (context_.Admit(req, "refused")) context_.RespondError(req, "refused", *refusal);
      return restinio::request_accepted();
    }
    // Handlers catch their own exceptions (ApiContext's Endpoint); what reaches
    // here is the router failing to decode the path, before any handler ran.
    try {
      return (*router_)(req);
    } catch (const restinio::exception_t& e) {
      if (context_.Admit(req, "refused")) {
        context_.RespondError(req, "refused",
                              ApiError::BadRequest("INVALID_PATH", "the path cannot be decoded: " + std::string(e.what())));
      }
      return restinio::request_accepted();
    }
  }

 private:
  static std::optional<ApiError> Refusal(const restinio::http_request_header_t& header) {
    if (const auto target = header.request_target().size(); target > kMaxTargetBytes) {
      return ApiError{414, "URI_TOO_LONG",
                      "the request target is " + std::to_string(target) + " bytes; at most " +
                          std::to_string(kMaxTargetBytes) + " are served"};
    }
    if (header.fields_count() > kMaxHeaderFields) {
      return ApiError{431, "HEADERS_TOO_LARGE",
                      "the request has " + std::to_string(header.fields_count()) + " header fields; at most " +
                          std::to_string(kMaxHeaderFields) + " are served"};
    }
    std::size_t total = 0;
    std::optional<ApiError> refusal;
    header.for_each_field([&](const restinio::http_header_field_t& field) {
      const auto size = field.name().size() + field.value().size();
      total += size;
      if (size > kMaxHeaderFieldBytes && !refusal) {
        refusal = ApiError{431, "HEADERS_TOO_LARGE",
                           "the " + field.name().substr(0, 64) + " header is " + std::to_string(size) +
                               " bytes; at most " + std::to_string(kMaxHeaderFieldBytes) + " are served"};
      }
    });
    if (refusal) return refusal;
    if (total > kMaxHeaderBytes) {
      return ApiError{431, "HEADERS_TOO_LARGE",
                      "the request's header fields are " + std::to_string(total) + " bytes; at most " +
                          std::to_string(kMaxHeaderBytes) + " are served"};
    }
    return std::nullopt;
  }

  ApiContext& context_;
  std::unique_ptr<Router> router_;
};

struct Traits : public restinio::default_traits_t {
  using request_handler_t = Gate;
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(store::KeyStore& keys, store::MessageStore& messages, app::MessageIntake& intake, const Clock& clock, ApiServerSettings settings,
       ApiServerHooks hooks)
      : settings_(std::move(settings)),
        hooks_(std::move(hooks)),
        context_(keys, messages, clock, settings_.limits, settings_.read_threads, hooks_.on_request,
                 settings_.shared_limiter, settings_.reads.messages),
        messages_(context_, intake, settings_.messages),
        keys_(context_),
        started_(std::chrono::steady_clock::now()) {}

  ~Impl() {
    Stop();
    context_.JoinReadPool();  // its queued work uses the route groups below
    // Last: answers given after Stop (a pool's or the intake's, past the drain
    // deadline) go to the stopped io_context, which must still exist.
    server_.reset();
  }

  void Start() {
    auto router = std::make_unique<Router>();
    AddServiceRoutes(*router);
    if (!settings_.service_routes_only) {
      messages_.Add(*router);
      keys_.Add(*router);
      if (pacing_) pacing_->Add(*router);
      if (contacts_) contacts_->Add(*router);
      if (templates_) templates_->Add(*router);
      if (campaigns_) campaigns_->Add(*router);
      if (webhooks_) webhooks_->Add(*router);
    }
    router->non_matched_request_handler([this](const Request& req) {
      if (!context_.Admit(req, "unmatched")) return restinio::request_accepted();
      context_.RespondError(req, "unmatched",
                            ApiError::NotFound("ROUTE_NOT_FOUND", "no route for " +
                                                                      std::string(req->header().method().c_str()) +
                                                                      " " + std::string(req->header().path())));
      return restinio::request_accepted();
    });
    const auto largest_body = std::max(settings_.messages.max_body_bytes, settings_.messages.max_bulk_body_bytes);
    // http_parser's own bound (80 KiB by default) would close the connection
    // before the gate could answer; this one is process-wide and only raised.
    http_parser_set_max_header_size(kMaxHeaderSectionBytes);
    try {
      server_ = restinio::run_async<Traits>(
          restinio::own_io_context(),
          restinio::server_settings_t<Traits>{}
              .address(settings_.address)
              .port(static_cast<std::uint16_t>(settings_.port))
              .request_handler(std::make_unique<Gate>(context_, std::move(router)))
              .handle_request_timeout(std::chrono::seconds(60))
              .read_next_http_message_timelimit(std::chrono::seconds(75))
              // One byte over our own limit, so the handler can answer 413 in our error shape.
              .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}.max_body_size(largest_body + 1)),
          static_cast<std::size_t>(settings_.io_threads));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + settings_.address + ":" + std::to_string(settings_.port) + ": " +
                               e.what());
    }
  }

  void AddPacing(store::PacingStore& store, dispatch::PacingRule& pacer, store::SentCache* sent_cache) {
    pacing_ = std::make_unique<PacingRoutes>(context_, store, pacer, sent_cache);
  }

  void AddWebhooks(store::TrackingStore& tracking, WebhookSettings settings, UrlFetcher fetch) {
    webhooks_ = std::make_unique<WebhookRoutes>(context_, tracking, std::move(settings), std::move(fetch));
  }

  void AddCampaigns(store::ContactStore& contacts, store::TemplateStore& templates, store::CampaignStore& campaigns,
                    app::CampaignService& service) {
    const auto& reads = settings_.reads;
    contacts_ = std::make_unique<ContactRoutes>(context_, contacts, reads.contacts ? *reads.contacts : contacts);
    templates_ =
        std::make_unique<TemplateRoutes>(context_, templates, reads.templates ? *reads.templates : templates);
    campaigns_ =
        std::make_unique<CampaignRoutes>(context_, campaigns, reads.campaigns ? *reads.campaigns : campaigns, service);
    messages_.UseTemplates(reads.templates ? *reads.templates : templates);
  }

  void Drain(std::chrono::milliseconds deadline) { context_.Drain(deadline); }

  std::vector<RouteInfo> Routes() const { return context_.Routes(); }

  // Closes the listener and the connections; the server object lives on until ~Impl.
  void Stop() {
    if (!server_ || stopped_) return;
    server_->stop();
    server_->wait();
    stopped_ = true;
  }

 private:
  // Unauthenticated: probes, scrapers and API tooling have no API key.
  void AddServiceRoutes(Router& router) {
    const auto get = restinio::http_method_get();
    context_.AddRoute(router, get, "/health", "/health", false, [this](auto& req, auto&, auto*, auto& route) {
      nlohmann::json body{{"status", "ok"},
                          {"version", HERALD_VERSION},
                          {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(
                                                 std::chrono::steady_clock::now() - started_)
                                                 .count()}};
      if (hooks_.health) body.update(hooks_.health());
      context_.RespondJson(req, route, 200, body, nullptr);
    });
    // Readiness (for a load balancer or Kubernetes): can this process do its work now?
    context_.AddRoute(router, get, "/ready", "/ready", false, [this](auto& req, auto&, auto*, auto& route) {
      const auto failure = hooks_.ready ? hooks_.ready() : std::nullopt;
      if (failure) {
        context_.RespondJson(req, route, 503, {{"status", "not ready"}, {"reason", *failure}}, nullptr);
        return;
      }
      context_.RespondJson(req, route, 200, {{"status", "ready"}}, nullptr);
    });
    context_.AddRoute(router, get, "/metrics", "/metrics", false, [this](auto& req, auto&, auto*, auto& route) {
      context_.Respond(req, route, 200, hooks_.metrics ? hooks_.metrics() : std::string(), nullptr, {},
                       "text/plain; version=0.0.4; charset=utf-8");
    });
    context_.AddRoute(router, get, "/openapi.json", "/openapi.json", false,
                      [this](auto& req, auto&, auto*, auto& route) {
                        context_.Respond(req, route, 200, std::string(OpenApiDocument()), nullptr);
                      });
  }

  const ApiServerSettings settings_;
  const ApiServerHooks hooks_;
  ApiContext context_;
  MessageRoutes messages_;
  KeyRoutes keys_;
  std::unique_ptr<PacingRoutes> pacing_;  // set by AddPacing
  std::unique_ptr<ContactRoutes> contacts_;    // set by AddCampaigns
  std::unique_ptr<TemplateRoutes> templates_;  // set by AddCampaigns
  std::unique_ptr<CampaignRoutes> campaigns_;  // set by AddCampaigns
  std::unique_ptr<WebhookRoutes> webhooks_;    // set by AddWebhooks
  const std::chrono::steady_clock::time_point started_;
  restinio::running_server_handle_t<Traits> server_;
  bool stopped_ = false;
};

ApiServer::ApiServer(store::KeyStore& keys, store::MessageStore& messages, app::MessageIntake& intake, const Clock& clock,
                     ApiServerSettings settings, ApiServerHooks hooks)
    : impl_(std::make_unique<Impl>(keys, messages, intake, clock, std::move(settings), std::move(hooks))) {}

ApiServer::~ApiServer() = default;

void ApiServer::AddPacing(store::PacingStore& store, dispatch::PacingRule& pacer, store::SentCache* sent_cache) {
  impl_->AddPacing(store, pacer, sent_cache);
}
void ApiServer::AddCampaigns(store::ContactStore& contacts, store::TemplateStore& templates,
                             store::CampaignStore& campaigns, app::CampaignService& service) {
  impl_->AddCampaigns(contacts, templates, campaigns, service);
}
void ApiServer::AddWebhooks(store::TrackingStore& tracking, WebhookSettings settings, UrlFetcher fetch) {
  impl_->AddWebhooks(tracking, std::move(settings), std::move(fetch));
}
void ApiServer::Start() { impl_->Start(); }
std::vector<RouteInfo> ApiServer::Routes() const { return impl_->Routes(); }
void ApiServer::Drain(std::chrono::milliseconds deadline) { impl_->Drain(deadline); }
void ApiServer::Stop() { impl_->Stop(); }

}  // namespace herald::api
