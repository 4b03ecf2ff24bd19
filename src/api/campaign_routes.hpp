// The campaigns API (seed 003): create, list, get with delivery stats, send to
// the owner's contacts and preview one contact's text, under /api/v1/campaigns
// and seed 003's own /campaigns paths. A send renders each contact's message and
// stores it through the message intake, so the channel workers deliver it like
// any API message; an idempotency key per (campaign, contact) makes a second
// send add nothing for contacts already sent to.
#pragma once

#include <memory>

#include "api/api_context.hpp"
#include "api/message_intake.hpp"
#include "store/campaign_store.hpp"

namespace herald::api {

// Owned by the server for as long as the router holds its handlers.
class CampaignRoutes {
 public:
  CampaignRoutes(ApiContext& context, store::ContactStore& contacts, store::TemplateStore& templates,
                 store::CampaignStore& campaigns, MessageIntake& intake);
  ~CampaignRoutes();
  CampaignRoutes(const CampaignRoutes&) = delete;
  CampaignRoutes& operator=(const CampaignRoutes&) = delete;
  void Add(Router& router);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
