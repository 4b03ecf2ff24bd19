// The templates API (seed 002): reusable subject/html/text bodies with their
// placeholder names, CRUD under /api/v1/templates. A broken template is refused
// with 400 naming the field, so a campaign never fails on one at send time.
#pragma once

#include <memory>

#include "api/api_context.hpp"
#include "store/campaign_store.hpp"

namespace herald::api {

// Owned by the server for as long as the router holds its handlers.
class TemplateRoutes {
 public:
  // GET lists and details read `reads` (a read replica, or `store` itself).
  TemplateRoutes(ApiContext& context, store::TemplateStore& store, store::TemplateStore& reads);
  ~TemplateRoutes();
  TemplateRoutes(const TemplateRoutes&) = delete;
  TemplateRoutes& operator=(const TemplateRoutes&) = delete;
  void Add(Router& router);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
