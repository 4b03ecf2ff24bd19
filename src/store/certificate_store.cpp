#include "store/certificate_store.hpp"

#include <array>

namespace herald::store {
namespace {

constexpr std::array<std::pair<DeliveryStatus, const char*>, 7> kStatusNames{{
    {DeliveryStatus::kQueued, "queued"},
    {DeliveryStatus::kSending, "sending"},
    {DeliveryStatus::kSent, "sent"},
    {DeliveryStatus::kFailed, "failed"},
    {DeliveryStatus::kUnknown, "unknown"},
    {DeliveryStatus::kDead, "dead"},
    {DeliveryStatus::kCancelled, "cancelled"},
}};

}  // namespace

const char* ToString(DeliveryStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "unknown";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view text) {
  for (const auto& [value, name] : kStatusNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

}  // namespace herald::store
