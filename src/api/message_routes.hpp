// The messages API of seed 004: POST /api/v1/messages (with Idempotency-Key),
// POST /api/v1/messages/bulk, GET one, GET a filtered page, DELETE to cancel.
// Accepted messages go through the group-commit intake; reads use the read pool.
#pragma once

#include <memory>

#include "api/api_context.hpp"
#include "app/message_intake.hpp"

namespace herald::store {
class TemplateStore;
}

namespace herald::api {

struct MessageRouteSettings {
  int max_bulk_messages = 10000;
  std::size_t max_body_bytes = 1 << 20;        // single requests
  std::size_t max_bulk_body_bytes = 64 << 20;  // POST /api/v1/messages/bulk
};

// Owned by the server for as long as the router holds its handlers.
class MessageRoutes {
 public:
  MessageRoutes(ApiContext& context, app::MessageIntake& intake, MessageRouteSettings settings);
  ~MessageRoutes();
  MessageRoutes(const MessageRoutes&) = delete;
  MessageRoutes& operator=(const MessageRoutes&) = delete;
  void Add(Router& router);
  // Lets messages name a template_id; without it every template_id is unknown.
  void UseTemplates(store::TemplateStore& templates);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
