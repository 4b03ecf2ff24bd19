// API key management for admins (GET, POST /api/v1/keys, DELETE
// /api/v1/keys/{id}), the same operations as `herald keys`. A user key gets 403.
#pragma once

#include <memory>

#include "api/api_context.hpp"

namespace herald::api {

// Owned by the server for as long as the router holds its handlers.
class KeyRoutes {
 public:
  explicit KeyRoutes(ApiContext& context);
  ~KeyRoutes();
  KeyRoutes(const KeyRoutes&) = delete;
  KeyRoutes& operator=(const KeyRoutes&) = delete;
  void Add(Router& router);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
