#include "api/email_job.hpp"

#include <set>

#include "api/api_context.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

// The message parser names the request's fields; a job's are named differently.
ApiError InJobTerms(ApiError error) {
  for (const auto& [request, job] : {std::pair<std::string, std::string>{"recipients[0].to", "recipient_email"},
                                     {"recipients[0]", "recipient_email"},
                                     {"data", "template_data"}}) {
    if (error.message.rfind(request + ":", 0) == 0 || error.message.rfind(request + " ", 0) == 0) {
      error.message = job + error.message.substr(request.size());
      break;
    }
  }
  return error;
}

}  // namespace

std::variant<EmailJob, ApiError> ParseEmailJob(std::string_view body, std::int64_t owner_id, std::int64_t now_ms,
                                               const std::string& fallback_idempotency_key,
                                               const TemplateLookup& templates, const TemplateNameLookup& by_name) {
  auto parsed = ParseJson(body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return *error;
  const auto& job = std::get<json>(parsed);
  const auto invalid = [](const std::string& field, const std::string& why) { return ApiError::Invalid(field + ": " + why); };
  if (!job.is_object()) return ApiError::Invalid("the job must be a JSON object {type, recipient_email, template_id, ...}");
  static const std::set<std::string> kFields = {"type",     "recipient_email", "template_id",    "template_data",
                                                "priority", "scheduled_at",    "idempotency_key"};
  for (const auto& [name, value] : job.items()) {
    if (kFields.count(name) == 0) {
      return invalid(name, "is not a field of an e-mail job (type, recipient_email, template_id, template_data, "
                           "priority, scheduled_at, idempotency_key)");
    }
  }
  EmailJob out;
  const auto type = job.find("type");
  if (type == job.end() || !type->is_string() || type->get<std::string>().empty() || type->get<std::string>().size() > 100) {
    return invalid("type", "must name the job in 1 to 100 characters, e.g. \"welcome_email\"");
  }
  out.type = type->get<std::string>();
  const auto recipient = job.find("recipient_email");
  if (recipient == job.end() || !recipient->is_string()) return invalid("recipient_email", "must be an e-mail address");
  const auto template_ref = job.find("template_id");
  std::int64_t template_id = 0;
  if (template_ref != job.end() && template_ref->is_number_integer() && template_ref->get<std::int64_t>() > 0) {
    template_id = template_ref->get<std::int64_t>();
  } else if (template_ref != job.end() && template_ref->is_string() && !template_ref->get<std::string>().empty()) {
    const auto name = template_ref->get<std::string>();
    const auto found = by_name ? by_name(name) : std::nullopt;
    if (!found) return ApiError::NotFound("TEMPLATE_NOT_FOUND", "template_id: no template is named \"" + name + "\"");
    template_id = *found;
  } else {
    return invalid("template_id", "must be a template's id (a positive integer) or its name");
  }

  json request{{"recipients", json::array({{{"channel", "email"}, {"to", *recipient}}})}, {"template_id", template_id}};
  if (const auto data = job.find("template_data"); data != job.end()) request["data"] = *data;
  for (const char* field : {"priority", "scheduled_at", "idempotency_key"}) {
    if (const auto value = job.find(field); value != job.end()) request[field] = *value;
  }
  if (!request.contains("idempotency_key") && !fallback_idempotency_key.empty()) {
    request["idempotency_key"] = "email-job:" + fallback_idempotency_key;
  }
  auto message = ParseMessageRequest(request, owner_id, now_ms, "", templates);
  if (auto* error = std::get_if<ApiError>(&message)) return InJobTerms(std::move(*error));
  out.message = std::move(std::get<store::NewMessage>(message));
  return out;
}

}  // namespace herald::api
