// What a channel says happened to one send. Channels return it; only the
// delivery engine turns it into a state change (domain::Decide), so the
// classification lives here.
#pragma once

#include <chrono>
#include <string>

namespace herald::domain {

enum class OutcomeKind {
  kAccepted,   // the provider took responsibility; provider_message_id set when known
  kTransient,  // not delivered, safe to try again later (SMTP 4xx, connection refused)
  kThrottled,  // not delivered, provider asks us to slow down
  kPermanent,  // refused for good (SMTP 5xx): retrying cannot help
  kUnknown,    // the provider may or may not have it (connection lost after DATA terminator)
};

struct DeliveryOutcome {
  OutcomeKind kind = OutcomeKind::kUnknown;
  std::string provider_message_id;
  std::string detail;  // provider's reply text or local reason, for reports
  int code = 0;        // provider status (e.g. SMTP reply code) when there is one
  // Retryable outcomes: the provider's own "not before" (HTTP Retry-After,
  // Telegram's retry_after); the retry waits at least this long. 0: none given.
  std::chrono::milliseconds retry_after{0};

  static DeliveryOutcome Accepted(std::string id, std::string detail = {}) {
    return {OutcomeKind::kAccepted, std::move(id), std::move(detail), 250};
  }
  static DeliveryOutcome Transient(std::string detail, int code = 0) {
    return {OutcomeKind::kTransient, {}, std::move(detail), code};
  }
  static DeliveryOutcome Throttled(std::string detail, int code, std::chrono::milliseconds retry_after = {}) {
    return {OutcomeKind::kThrottled, {}, std::move(detail), code, retry_after};
  }
  static DeliveryOutcome Permanent(std::string detail, int code = 0) {
    return {OutcomeKind::kPermanent, {}, std::move(detail), code};
  }
  static DeliveryOutcome Unknown(std::string detail) {
    return {OutcomeKind::kUnknown, {}, std::move(detail), 0};
  }
  bool IsRetryable() const { return kind == OutcomeKind::kTransient || kind == OutcomeKind::kThrottled; }
};

const char* ToString(OutcomeKind kind);


}  // namespace herald::domain
