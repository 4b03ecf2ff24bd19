// JSON of the messages API (seed 004): request bodies parsed into store rows,
// with every field validated and named in errors, and stored rows written back
// as the documented response shapes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "api/api_error.hpp"
#include "store/api_records.hpp"
#include "store/campaign_records.hpp"

namespace herald::api {

// The template with this id if the caller may use it, else nullopt.
using TemplateLookup = std::function<std::optional<store::TemplateRecord>(std::int64_t id)>;

// One message object of POST /api/v1/messages or of the bulk "messages" array.
// `where` prefixes field names in errors (e.g. "messages[3]."). A message names
// either its content or a template_id, whose text (else html) and subject are
// rendered with "data" by the placeholder policy of campaign_json.hpp; without
// `templates` every template_id is unknown.
std::variant<store::NewMessage, ApiError> ParseMessageRequest(const nlohmann::json& body, std::int64_t owner_id,
                                                              std::int64_t now_ms, const std::string& where = "",
                                                              const TemplateLookup& templates = {});

// The message's overall status from its recipients: scheduled, queued,
// processing, sent, partially_sent, failed or cancelled.
std::string MessageStatus(const store::MessageRecord& message, std::int64_t now_ms);

// Full view: per-recipient status, attempts, provider message id, timestamps.
nlohmann::json MessageToJson(const store::MessageRecord& message, std::int64_t now_ms);

// RFC 3339 UTC time with milliseconds, e.g. "2026-11-23T10:00:00.000Z".
std::string FormatTimestamp(std::int64_t unix_ms);

// The states a retry request puts back in the queue: {"statuses": [...]} of
// failed, dead and unknown; no body, or no "statuses", means failed and dead.
// An unknown send (it may have arrived) is only retried when named.
std::variant<std::vector<std::string>, ApiError> ParseRetryStatuses(const nlohmann::json& body);
// 409 NOTHING_TO_RETRY: `what` ("message 7 has no recipient") is in none of `statuses`.
ApiError NothingToRetry(const std::string& what, const std::vector<std::string>& statuses);
// RFC 3339 date-time with "Z" or a numeric offset; nullopt when malformed.
std::optional<std::int64_t> ParseTimestamp(const std::string& text);

}  // namespace herald::api
