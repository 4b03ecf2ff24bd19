// The API's one error shape: {"error":{"code":"MESSAGE_NOT_FOUND","message":"…"}}
// with its HTTP status. Handlers return these as values; the server turns them
// into responses, so every error looks the same whatever produced it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "app/failure.hpp"

namespace herald::api {

struct ApiError {
  int status = 500;
  std::string code;     // stable, machine-readable, UPPER_SNAKE_CASE
  std::string message;  // for people: names the field or value at fault

  std::string Body() const {
    return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
  }

  static ApiError BadRequest(std::string code, std::string message) { return {400, std::move(code), std::move(message)}; }
  static ApiError Unprocessable(std::string message) { return {422, "VALIDATION_FAILED", std::move(message)}; }
  static ApiError NotFound(std::string code, std::string message) { return {404, std::move(code), std::move(message)}; }
  // A use case's refusal as the API answers it.
  static ApiError From(const app::Failure& failure) {
    switch (failure.kind) {
      case app::Failure::Kind::kNotFound: return {404, failure.code, failure.message};
      case app::Failure::Kind::kConflict: return {409, failure.code, failure.message};
      case app::Failure::Kind::kInvalid: break;
    }
    return {422, failure.code, failure.message};
  }
};

}  // namespace herald::api
