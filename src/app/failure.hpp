// Why a use case refused: a kind the caller maps onto its own answer (an HTTP
// status, an exit code), a stable code and a sentence naming the field or
// value at fault.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace herald::app {

struct Failure {
  enum class Kind {
    kInvalid,   // the input cannot be used as given
    kNotFound,  // something it names does not exist (or is not the caller's)
    kConflict,  // valid, but the current state does not allow it
  };
  Kind kind = Kind::kInvalid;
  std::string code;     // UPPER_SNAKE_CASE, stable
  std::string message;

  static Failure Invalid(std::string message) { return {Kind::kInvalid, "VALIDATION_FAILED", std::move(message)}; }
  static Failure NotFound(std::string code, std::string message) {
    return {Kind::kNotFound, std::move(code), std::move(message)};
  }
  static Failure Conflict(std::string code, std::string message) {
    return {Kind::kConflict, std::move(code), std::move(message)};
  }
};

// A use case's answer: its result, or why not.
template <typename T>
using Outcome = std::variant<T, Failure>;

}  // namespace herald::app
