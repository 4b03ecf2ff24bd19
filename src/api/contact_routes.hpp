// The contacts API (seed 003's customers): create, get, list, update, delete and
// CSV import under /api/v1/contacts, with /api/v1/customers as an alias. Users
// see their own contacts, admins everyone's. Store work runs on the read pool.
#pragma once

#include <memory>

#include "api/api_context.hpp"
#include "store/campaign_store.hpp"

namespace herald::api {

// Owned by the server for as long as the router holds its handlers.
class ContactRoutes {
 public:
  // GET lists and details read `reads` (a read replica, or `store` itself).
  ContactRoutes(ApiContext& context, store::ContactStore& store, store::ContactStore& reads);
  ~ContactRoutes();
  ContactRoutes(const ContactRoutes&) = delete;
  ContactRoutes& operator=(const ContactRoutes&) = delete;
  void Add(Router& router);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
