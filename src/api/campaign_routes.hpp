// The campaigns API (seed 003): create, list, get with delivery stats, send to
// the owner's contacts and preview one contact's text, under /api/v1/campaigns
// and seed 003's own /campaigns paths. The routes parse, check who may see
// what, call app::CampaignService and format its answer.
#pragma once

#include <memory>

#include "api/api_context.hpp"
#include "app/campaigns.hpp"
#include "store/campaign_store.hpp"

namespace herald::api {

// Owned by the server for as long as the router holds its handlers.
class CampaignRoutes {
 public:
  // GET lists and details read `reads` (a read replica, or `campaigns` itself).
  CampaignRoutes(ApiContext& context, store::CampaignStore& campaigns, store::CampaignStore& reads,
                 app::CampaignService& service);
  ~CampaignRoutes();
  CampaignRoutes(const CampaignRoutes&) = delete;
  CampaignRoutes& operator=(const CampaignRoutes&) = delete;
  void Add(Router& router);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::api
