#include "api/contact_routes.hpp"

#include "api/contact_json.hpp"
#include "api/crud_routes.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxCsvBytes = 16 << 20;

// What contacts add to the shared CRUD routes.
struct Contacts {
  using Record = store::ContactRecord;
  static constexpr std::size_t kMaxBodyBytes = 64 << 10;

  store::ContactStore& store;
  store::ContactStore& reads;

  std::optional<Record> Get(std::int64_t id) { return store.GetContact(id); }
  std::optional<Record> Read(std::int64_t id) { return reads.GetContact(id); }
  std::variant<Record, ApiError> Parse(const json& body, std::int64_t owner_id, const Record* existing) {
    return ParseContact(body, owner_id, existing);
  }
  Record Create(Record record, std::int64_t now_ms) { return store.CreateContacts({std::move(record)}, now_ms).at(0); }
  bool Update(const Record& record, std::int64_t now_ms) { return store.UpdateContact(record, now_ms); }
  bool Delete(std::int64_t id) { return store.DeleteContact(id); }
  store::Page<Record> List(const store::PageQuery& query) { return reads.ListContacts(query); }
  json ToJson(const Record& record) { return ContactToJson(record); }
  ApiError NotFound(std::string_view id) {
    return ApiError::NotFound("CONTACT_NOT_FOUND", "contact " + std::string(id) + " does not exist");
  }
};

}  // namespace

class ContactRoutes::Impl {
 public:
  Impl(ApiContext& context, store::ContactStore& store, store::ContactStore& reads)
      : context_(context), store_(store), contacts_{store, reads}, crud_(context, contacts_) {}

  void Add(Router& router) {
    for (const std::string base : {"/api/v1/contacts", "/api/v1/customers"}) {
      context_.AddRoute(router, restinio::http_method_post(), base + "/import", base + "/import", true,
                        [this](auto& req, auto&, auto* c, auto& route) { Import(req, c, route); });
      crud_.Add(router, base);
    }
  }

 private:
  // Valid rows are stored (in one transaction) even when others are rejected;
  // 201 when at least one was stored, else 400 with the same body.
  void Import(const Request& req, const Caller* caller, const std::string& route) {
    if (req->body().size() > kMaxCsvBytes) {
      return context_.RespondError(
          req, route, {413, "PAYLOAD_TOO_LARGE", "the CSV is larger than " + std::to_string(kMaxCsvBytes) + " bytes"},
          caller);
    }
    context_.Offload(req, route, caller, [this, req, route](const Caller* c) {
      auto parsed = ParseContactsCsv(req->body(), c->key.id);
      if (auto* error = std::get_if<ApiError>(&parsed)) return context_.RespondError(req, route, *error, c);
      auto& import = std::get<CsvImport>(parsed);
      json rejected = json::array();
      for (const auto& row : import.rejected) rejected.push_back({{"line", row.line}, {"error", row.message}});
      json ids = json::array();
      if (!import.contacts.empty()) {
        for (const auto& contact : store_.CreateContacts(std::move(import.contacts), context_.NowMs())) {
          ids.push_back(contact.id);
        }
      }
      const int status = ids.empty() ? 400 : 201;
      context_.RespondJson(req, route, status,
                           json{{"imported", ids.size()}, {"rejected", std::move(rejected)}, {"ids", std::move(ids)}},
                           c);
    });
  }

  ApiContext& context_;
  store::ContactStore& store_;
  Contacts contacts_;
  CrudRoutes<Contacts> crud_;
};

ContactRoutes::ContactRoutes(ApiContext& context, store::ContactStore& store, store::ContactStore& reads)
    : impl_(std::make_unique<Impl>(context, store, reads)) {}

ContactRoutes::~ContactRoutes() = default;

void ContactRoutes::Add(Router& router) { impl_->Add(router); }

}  // namespace herald::api
