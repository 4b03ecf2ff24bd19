#include "api/template_routes.hpp"

#include "api/campaign_json.hpp"
#include "api/crud_routes.hpp"

namespace herald::api {
namespace {

// What templates add to the shared CRUD routes.
struct Templates {
  using Record = store::TemplateRecord;
  static constexpr std::size_t kMaxBodyBytes = 1 << 20;

  store::TemplateStore& store;
  store::TemplateStore& reads;

  std::optional<Record> Get(std::int64_t id) { return store.GetTemplate(id); }
  std::optional<Record> Read(std::int64_t id) { return reads.GetTemplate(id); }
  std::variant<Record, ApiError> Parse(const nlohmann::json& body, std::int64_t owner_id, const Record* existing) {
    return ParseTemplateRequest(body, owner_id, existing);
  }
  Record Create(Record record, std::int64_t now_ms) { return store.CreateTemplate(std::move(record), now_ms); }
  bool Update(const Record& record, std::int64_t now_ms) { return store.UpdateTemplate(record, now_ms); }
  bool Delete(std::int64_t id) { return store.DeleteTemplate(id); }
  store::Page<Record> List(const store::PageQuery& query) { return reads.ListTemplates(query); }
  nlohmann::json ToJson(const Record& record) { return TemplateToJson(record); }
  ApiError NotFound(std::string_view id) {
    return ApiError::NotFound("TEMPLATE_NOT_FOUND", "template " + std::string(id) + " does not exist");
  }
};

}  // namespace

class TemplateRoutes::Impl {
 public:
  Impl(ApiContext& context, store::TemplateStore& store, store::TemplateStore& reads)
      : templates_{store, reads}, crud_(context, templates_) {}

  void Add(Router& router) { crud_.Add(router, "/api/v1/templates"); }

 private:
  Templates templates_;
  CrudRoutes<Templates> crud_;
};

TemplateRoutes::TemplateRoutes(ApiContext& context, store::TemplateStore& store, store::TemplateStore& reads)
    : impl_(std::make_unique<Impl>(context, store, reads)) {}

TemplateRoutes::~TemplateRoutes() = default;

void TemplateRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
