// The OpenAPI document (src/api/openapi.json, served at /openapi.json) held
// against a real ApiServer with every route group `herald serve` adds: each
// served operation is documented and each documented one is served, under the
// same path, with the authentication the document declares.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "api/api_server_fixture.hpp"
#include "api/openapi_document.hpp"

namespace herald::api {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const std::set<std::string> kMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

std::string Upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string Lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Listing(const std::set<RouteInfo>& routes) {
  std::ostringstream out;
  for (const auto& route : routes) out << "\n  " << route.method << " " << route.path;
  return out.str();
}

// What is in `a` and not in `b`.
std::set<RouteInfo> Missing(const std::set<RouteInfo>& a, const std::set<RouteInfo>& b) {
  std::set<RouteInfo> out;
  for (const auto& route : a) {
    if (!b.count(route)) out.insert(route);
  }
  return out;
}

// A local reference ("#/components/parameters/Id") followed, or the object itself.
const json& Resolve(const json& document, const json& object) {
  if (!object.contains("$ref")) return object;
  return document.at(json::json_pointer(object["$ref"].get<std::string>().substr(1)));
}

// The server as `herald serve` wires it, with the document it serves.
class OpenApiDocumentTest : public ApiServerFixture {
 protected:
  void SetUp() override {
    ApiServerFixture::SetUp();
    document_ = json::parse(OpenApiDocument());
  }

  std::set<RouteInfo> Documented() const {
    std::set<RouteInfo> out;
    for (const auto& [path, item] : document_.at("paths").items()) {
      for (const auto& [method, operation] : item.items()) {
        if (kMethods.count(method)) out.insert({Upper(method), path});
      }
    }
    return out;
  }

  json document_;
};

TEST_F(OpenApiDocumentTest, EveryServedRouteIsDocumentedAndEveryDocumentedOneIsServed) {
  const auto routes = server_->Routes();
  const std::set<RouteInfo> served(routes.begin(), routes.end());
  const auto documented = Documented();
  ASSERT_FALSE(served.empty());
  const auto undocumented = Missing(served, documented);
  const auto unserved = Missing(documented, served);
  EXPECT_TRUE(undocumented.empty()) << "served but not in src/api/openapi.json:" << Listing(undocumented);
  EXPECT_TRUE(unserved.empty()) << "in src/api/openapi.json but not served:" << Listing(unserved);
}

// Routes() names what was registered; this asks the router itself. Without a
// key, a documented operation answers 401 if the document says it needs one
// and anything but 401 otherwise; never ROUTE_NOT_FOUND.
TEST_F(OpenApiDocumentTest, EveryDocumentedOperationAnswersWithTheDocumentedAuthentication) {
  const bool secured_by_default = !document_.value("security", json::array()).empty();
  for (const auto& route : Documented()) {
    std::string path = route.path;
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{')) {
      path.replace(open, path.find('}', open) - open + 1, "1");
    }
    const auto& operation = document_["paths"][route.path][Lower(route.method)];
    const bool secured = operation.contains("security") ? !operation["security"].empty() : secured_by_default;
    const auto response = Call(route.method, path);
    const auto body = json::parse(response.body, nullptr, false);
    const std::string code = body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
    EXPECT_NE(code, "ROUTE_NOT_FOUND") << route.method << " " << path;
    if (secured) {
      EXPECT_EQ(response.status, 401) << route.method << " " << path << " is documented as needing X-API-Key";
    } else {
      EXPECT_NE(response.status, 401) << route.method << " " << path << " is documented as open";
    }
  }
}

TEST_F(OpenApiDocumentTest, EveryPathParameterIsDeclaredAndOperationIdsAreUnique) {
  std::set<std::string> operation_ids;
  for (const auto& [path, item] : document_["paths"].items()) {
    std::set<std::string> declared;
    for (const auto& parameter : item.value("parameters", json::array())) {
      const auto& p = Resolve(document_, parameter);
      if (p["in"] == "path") declared.insert(p["name"].get<std::string>());
    }
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
      const auto name = path.substr(open + 1, path.find('}', open) - open - 1);
      for (const auto& [method, operation] : item.items()) {
        if (!kMethods.count(method)) continue;
        bool found = declared.count(name) > 0;
        for (const auto& parameter : operation.value("parameters", json::array())) {
          const auto& p = Resolve(document_, parameter);
          found = found || (p["in"] == "path" && p["name"] == name);
        }
        EXPECT_TRUE(found) << method << " " << path << " does not declare the path parameter " << name;
      }
    }
    for (const auto& [method, operation] : item.items()) {
      if (!kMethods.count(method)) continue;
      ASSERT_TRUE(operation.contains("operationId")) << method << " " << path;
      EXPECT_TRUE(operation_ids.insert(operation["operationId"].get<std::string>()).second)
          << "operationId " << operation["operationId"] << " is used twice";
    }
  }
}

TEST_F(OpenApiDocumentTest, IsServedWithoutAKeyAndNamesTheVersionHealthReports) {
  const auto served = Get("/openapi.json");
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(served.Header("content-type"), "application/json");
  EXPECT_EQ(served.body, OpenApiDocument());
  EXPECT_EQ(document_["openapi"].get<std::string>().substr(0, 2), "3.");
  const auto health = json::parse(Get("/health").body);
  EXPECT_EQ(document_["info"]["version"], health["version"]);
}

}  // namespace
}  // namespace herald::api
