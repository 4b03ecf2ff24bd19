#include "api/http_server.hpp"

#include "api/api_context.hpp"
#include "api/openapi_document.hpp"

namespace herald::api {
namespace {

struct Traits : public restinio::default_traits_t {
  using request_handler_t = Router;
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(store::KeyStore& keys, store::MessageStore& messages, app::MessageIntake& intake, const Clock& clock, ApiServerSettings settings,
       ApiServerHooks hooks)
      : settings_(std::move(settings)),
        hooks_(std::move(hooks)),
        context_(keys, messages, clock, settings_.limits, settings_.read_threads, hooks_.on_request),
        messages_(context_, intake, settings_.messages),
        keys_(context_),
        started_(std::chrono::steady_clock::now()) {}

  ~Impl() {
    Stop();
    context_.JoinReadPool();  // its queued work uses the route groups below
  }

  void Start() {
    auto router = std::make_unique<Router>();
    AddServiceRoutes(*router);
    messages_.Add(*router);
    keys_.Add(*router);
    if (pacing_) pacing_->Add(*router);
    if (contacts_) contacts_->Add(*router);
    if (templates_) templates_->Add(*router);
    if (campaigns_) campaigns_->Add(*router);
    router->non_matched_request_handler([this](const Request& req) {
      if (!context_.Admit(req, "unmatched")) return restinio::request_accepted();
      context_.RespondError(req, "unmatched",
                            ApiError::NotFound("ROUTE_NOT_FOUND", "no route for " +
                                                                      std::string(req->header().method().c_str()) +
                                                                      " " + std::string(req->header().path())));
      return restinio::request_accepted();
    });
    const auto largest_body = std::max(settings_.messages.max_body_bytes, settings_.messages.max_bulk_body_bytes);
    try {
      server_ = restinio::run_async<Traits>(
          restinio::own_io_context(),
          restinio::server_settings_t<Traits>{}
              .address(settings_.address)
              .port(static_cast<std::uint16_t>(settings_.port))
              .request_handler(std::move(router))
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

  void AddPacing(store::PacingStore& store, dispatch::PacingRule& pacer) {
    pacing_ = std::make_unique<PacingRoutes>(context_, store, pacer);
  }

  void AddCampaigns(store::ContactStore& contacts, store::TemplateStore& templates, store::CampaignStore& campaigns,
                    app::CampaignService& service) {
    contacts_ = std::make_unique<ContactRoutes>(context_, contacts);
    templates_ = std::make_unique<TemplateRoutes>(context_, templates);
    campaigns_ = std::make_unique<CampaignRoutes>(context_, campaigns, service);
    messages_.UseTemplates(templates);
  }

  void Drain(std::chrono::milliseconds deadline) { context_.Drain(deadline); }

  std::vector<RouteInfo> Routes() const { return context_.Routes(); }

  void Stop() {
    if (!server_) return;
    server_->stop();
    server_->wait();
    server_.reset();
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
  const std::chrono::steady_clock::time_point started_;
  restinio::running_server_handle_t<Traits> server_;
};

ApiServer::ApiServer(store::KeyStore& keys, store::MessageStore& messages, app::MessageIntake& intake, const Clock& clock,
                     ApiServerSettings settings, ApiServerHooks hooks)
    : impl_(std::make_unique<Impl>(keys, messages, intake, clock, std::move(settings), std::move(hooks))) {}

ApiServer::~ApiServer() = default;

void ApiServer::AddPacing(store::PacingStore& store, dispatch::PacingRule& pacer) {
  impl_->AddPacing(store, pacer);
}
void ApiServer::AddCampaigns(store::ContactStore& contacts, store::TemplateStore& templates,
                             store::CampaignStore& campaigns, app::CampaignService& service) {
  impl_->AddCampaigns(contacts, templates, campaigns, service);
}
void ApiServer::Start() { impl_->Start(); }
std::vector<RouteInfo> ApiServer::Routes() const { return impl_->Routes(); }
void ApiServer::Drain(std::chrono::milliseconds deadline) { impl_->Drain(deadline); }
void ApiServer::Stop() { impl_->Stop(); }

}  // namespace herald::api
