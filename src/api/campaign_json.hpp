// JSON of the templates (seed 002) and campaigns (seed 003) APIs.
// Placeholders follow the policy of app/campaign_content.hpp.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "api/api_error.hpp"
#include "store/campaign_records.hpp"

namespace herald::api {

// --- templates ---
// A full template from POST or PUT; with `existing` (PATCH) only named fields change.
std::variant<store::TemplateRecord, ApiError> ParseTemplateRequest(const nlohmann::json& body, std::int64_t owner_id,
                                                                   const store::TemplateRecord* existing = nullptr);
nlohmann::json TemplateToJson(const store::TemplateRecord& record);

// --- campaigns ---
// POST /api/v1/campaigns. template_id is not resolved here (the routes check it
// exists); base_template is parsed so a broken one is refused at once.
std::variant<store::CampaignRecord, ApiError> ParseCampaignRequest(const nlohmann::json& body, std::int64_t owner_id,
                                                                   std::int64_t now_ms);
nlohmann::json CampaignToJson(const store::CampaignRecord& campaign);
nlohmann::json StatsToJson(const store::CampaignStats& stats);

}  // namespace herald::api
