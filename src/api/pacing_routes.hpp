// The paced sender's API (seed 001): queue SMS messages for the pacer, start and
// stop it, read its status and the sent list. Seed 001's own paths
// (/api/messaging/start|stop, /api/messages/sent) are aliases of the /api/v1 ones.
#pragma once

#include <memory>

#include "api/api_context.hpp"
#include "dispatch/pacing_rule.hpp"
#include "store/pacing_store.hpp"
#include "store/sent_cache.hpp"

namespace herald::api {

// Owned by the server for as long as the router holds its handlers.
class PacingRoutes {
 public:
  // `sent_cache` (nullable, outlives the routes): the sent list reads through it.
  PacingRoutes(ApiContext& context, store::PacingStore& store, dispatch::PacingRule& pacer,
               store::SentCache* sent_cache = nullptr);
  ~PacingRoutes();
  PacingRoutes(const PacingRoutes&) = delete;
  PacingRoutes& operator=(const PacingRoutes&) = delete;
  void Add(Router& router);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
