// The API's one error shape: {"error":{"code":"MESSAGE_NOT_FOUND","message":"…"}}
// with its HTTP status. Handlers return these as values; the server turns them
// into responses, so every error looks the same whatever produced it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "app/failure.hpp"

namespace herald::api {

// JSON text that can always be written: bytes stored before they were checked
// (or echoed from a request) that are not UTF-8 come out as U+FFFD instead of
// failing the whole answer.
inline std::string JsonText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct ApiError {
  int status = 500;
  std::string code;     // stable, machine-readable, UPPER_SNAKE_CASE
  std::string message;  // for people: names the field or value at fault

  std::string Body() const {
    return JsonText(nlohmann::json{{"error", {{"code", code}, {"message", message}}}});
  }

  static ApiError BadRequest(std::string code, std::string message) { return {400, std::move(code), std::move(message)}; }
  // A field is missing or wrong: 400, as seed 003 specifies; `message` names the field.
  static ApiError Invalid(std::string message) { return {400, "VALIDATION_FAILED", std::move(message)}; }
  static ApiError NotFound(std::string code, std::string message) { return {404, std::move(code), std::move(message)}; }
  // A use case's refusal as the API answers it.
  static ApiError From(const app::Failure& failure) {
    switch (failure.kind) {
      case app::Failure::Kind::kNotFound: return {404, failure.code, failure.message};
      case app::Failure::Kind::kConflict: return {409, failure.code, failure.message};
      case app::Failure::Kind::kInvalid: break;
    }
    return {400, failure.code, failure.message};
  }
};

}  // namespace herald::api
