// Seed 002's fast path: an e-mail job as other services publish it to the
// `email-jobs` queue, turned into a message like the API's.
//
//   {"type": "welcome_email", "recipient_email": "ann@example.org",
//    "template_id": 7 | "welcome_template", "template_data": {"user_name": "Ann"},
//    "priority": 1, "scheduled_at": "2026-12-24T09:00:00Z", "idempotency_key": "welcome-ann"}
//
// `type` names the job in logs; template_id is a template's id or its name
// among the owner's templates. Unknown fields are refused, so a misspelt one
// never silently falls back.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "api/api_error.hpp"
#include "api/message_json.hpp"
#include "store/api_records.hpp"

namespace herald::api {

// The id of the owner's template with this name, if there is one.
using TemplateNameLookup = std::function<std::optional<std::int64_t>(const std::string& name)>;

struct EmailJob {
  std::string type;
  store::NewMessage message;
};

// The job, or why it is refused, naming the field (its message is what goes to
// `email-jobs.invalid`). `fallback_idempotency_key` (the broker's message id,
// when the publisher set one) keys a job that names no idempotency_key, so a
// job delivered twice is stored once.
std::variant<EmailJob, ApiError> ParseEmailJob(std::string_view body, std::int64_t owner_id, std::int64_t now_ms,
                                               const std::string& fallback_idempotency_key,
                                               const TemplateLookup& templates, const TemplateNameLookup& by_name);

}  // namespace herald::api
