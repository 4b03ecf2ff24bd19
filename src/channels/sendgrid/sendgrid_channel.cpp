#include "channels/sendgrid/sendgrid_channel.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "channels/http/http_outcome.hpp"
#include "mime/transfer_encoding.hpp"

namespace herald::channels::sendgrid {

using domain::DeliveryOutcome;

namespace {

// Two messages can share a request when everything but the recipient is the same.
bool SameContent(const mime::EmailContent& a, const mime::EmailContent& b) {
  if (a.from.address != b.from.address || a.from.display_name != b.from.display_name || a.subject != b.subject ||
      a.text_body != b.text_body || a.html_body != b.html_body || a.attachments.size() != b.attachments.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.attachments.size(); ++i) {
    const auto& x = a.attachments[i];
    const auto& y = b.attachments[i];
    if (x.filename != y.filename || x.content_type != y.content_type || x.data != y.data) return false;
  }
  return true;
}

nlohmann::json Address(const mime::Mailbox& mailbox) {
  nlohmann::json out = {{"email", mailbox.address}};
  if (!mailbox.display_name.empty()) out["name"] = mailbox.display_name;
  return out;
}

std::string RequestBody(std::span<const RenderedMessage* const> group) {
  const auto& content = *group.front()->parts;
  nlohmann::json personalizations = nlohmann::json::array();
  for (const auto* message : group) {
    nlohmann::json to = nlohmann::json::array();
    const auto& named = message->parts->to;
    if (!named.empty()) {
      for (const auto& mailbox : named) to.push_back(Address(mailbox));
    } else {
      to.push_back({{"email", message->to}});
    }
    personalizations.push_back({{"to", std::move(to)}, {"custom_args", {{"herald_delivery_id", message->delivery_id}}}});
  }
  nlohmann::json parts = nlohmann::json::array();
  // SendGrid wants text/plain before text/html, and no empty value.
  if (!content.text_body.empty()) parts.push_back({{"type", "text/plain"}, {"value", content.text_body}});
  if (!content.html_body.empty()) parts.push_back({{"type", "text/html"}, {"value", content.html_body}});
  nlohmann::json body = {{"personalizations", std::move(personalizations)},
                         {"from", Address(content.from)},
                         {"subject", content.subject},
                         {"content", std::move(parts)},
                         {"categories", {"herald"}}};
  if (!content.attachments.empty()) {
    nlohmann::json attachments = nlohmann::json::array();
    for (const auto& attachment : content.attachments) {
      std::string data;
      mime::AppendBase64(data, attachment.data);
      attachments.push_back({{"content", std::move(data)},
                             {"filename", attachment.filename},
                             {"type", attachment.content_type.empty() ? "application/octet-stream"
                                                                      : attachment.content_type},
                             {"disposition", "attachment"}});
    }
    body["attachments"] = std::move(attachments);
  }
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// SendGrid's errors: {"errors": [{"message": "...", "field": "...", "help": ...}]}.
std::string ErrorWords(const http::HttpResponse& response) {
  const auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  std::string words;
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    for (const auto& error : doc["errors"]) {
      if (!error.is_object()) continue;
      std::string one;
      if (error.contains("field") && error["field"].is_string()) one = error["field"].get<std::string>() + ": ";
      if (error.contains("message") && error["message"].is_string()) one += error["message"].get<std::string>();
      words += (words.empty() ? "" : "; ") + one;
    }
  }
  return http::Excerpt(words.empty() ? response.body : words, 300);
}

std::string Header(const http::HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

}  // namespace

SendGridChannel::SendGridChannel(http::HttpClient& client, SendGridSettings settings, const Clock& clock)
    : client_(client), settings_(std::move(settings)), clock_(clock) {
  const auto base = http::DescribeHttpUrl(settings_.base_url, "sendgrid.base_url");
  while (!settings_.base_url.empty() && settings_.base_url.back() == '/') settings_.base_url.pop_back();
  if (settings_.api_key.empty() || http::HasControlCharacter(settings_.api_key) ||
      settings_.api_key.find(' ') != std::string::npos) {
    throw std::invalid_argument("sendgrid.api_key must be set (HERALD_SENDGRID_API_KEY), one word on one line");
  }
  if (settings_.connect_timeout.count() <= 0 || settings_.timeout.count() <= 0) {
    throw std::invalid_argument("sendgrid connect_timeout and timeout must be positive");
  }
  if (settings_.max_in_flight < 1) throw std::invalid_argument("sendgrid max_in_flight must be at least 1");
  url_ = settings_.base_url + "/v3/mail/send";
  description_ = "sendgrid:" + base;
}

boost::asio::awaitable<std::vector<DeliveryOutcome>> SendGridChannel::Send(std::span<const RenderedMessage> messages,
                                                                           Deadline deadline) {
  std::vector<DeliveryOutcome> outcomes(messages.size());
  // Each group: a message and the later ones with the same content, up to SendGrid's limit.
  std::vector<std::vector<std::size_t>> groups;
  std::vector<bool> grouped(messages.size(), false);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (grouped[i]) continue;
    grouped[i] = true;
    if (!messages[i].parts) {
      outcomes[i] = DeliveryOutcome::Permanent("SendGrid takes e-mail fields: the message has none, only MIME");
      continue;
    }
    groups.push_back({i});
    for (std::size_t j = i + 1; j < messages.size() && groups.back().size() < kMaxPersonalizations; ++j) {
      if (!grouped[j] && messages[j].parts && SameContent(*messages[i].parts, *messages[j].parts)) {
        groups.back().push_back(j);
        grouped[j] = true;
      }
    }
  }
  // The requests go out together, on a strand of their own, so the counting
  // below is serialised whatever threads the executor runs on.
  const auto executor = co_await boost::asio::this_coro::executor;
  co_await boost::asio::co_spawn(boost::asio::make_strand(executor), SendGroups(messages, groups, outcomes, deadline),
                                 boost::asio::use_awaitable);
  co_return outcomes;
}

boost::asio::awaitable<void> SendGridChannel::SendGroups(std::span<const RenderedMessage> messages,
                                                         const std::vector<std::vector<std::size_t>>& groups,
                                                         std::vector<DeliveryOutcome>& outcomes, Deadline deadline) {
  const auto strand = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer all_answered(strand, std::chrono::steady_clock::time_point::max());
  std::size_t pending = groups.size();
  for (const auto& members : groups) {
    boost::asio::co_spawn(
        strand,
        [&, members]() -> boost::asio::awaitable<void> {
          DeliveryOutcome outcome;
          try {
            std::vector<const RenderedMessage*> group;
            for (const auto index : members) group.push_back(&messages[index]);
            outcome = co_await SendGroup(group, deadline);
          } catch (const std::exception& e) {
            // The request may have left: never a resend.
            outcome = DeliveryOutcome::Unknown(std::string("sendgrid request failed: ") + e.what());
          }
          for (const auto index : members) outcomes[index] = outcome;
          if (--pending == 0) all_answered.cancel();
        },
        boost::asio::detached);
  }
  if (pending > 0) {
    boost::system::error_code cancelled;
    co_await all_answered.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, cancelled));
  }
}

boost::asio::awaitable<DeliveryOutcome> SendGridChannel::SendGroup(std::span<const RenderedMessage* const> group,
                                                                   Deadline deadline) {
  const auto left = http::TimeLeft(deadline);
  if (!left) co_return DeliveryOutcome::Transient("the send's deadline passed before the request to SendGrid was made");
  http::HttpRequest request;
  request.url = url_;
  request.body = RequestBody(group);
  request.headers = {"Content-Type: application/json", "Accept: application/json",
                     "Authorization: Bearer " + settings_.api_key};
  request.connect_timeout = std::min(settings_.connect_timeout, *left);
  request.timeout = std::min(settings_.timeout, *left);
  const auto request_bytes = static_cast<std::int64_t>(request.body.size());
  const auto response = co_await client_.Perform(std::move(request));
  if (response.status == 0) co_return http::NoAnswerOutcome(response, request_bytes, description_);

  const long status = response.status;
  const int code = static_cast<int>(status);
  std::string detail = "HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) {
    const auto id = Header(response, "x-message-id");
    if (id.empty()) detail += "; accepted, but the answer has no X-Message-Id";
    auto outcome = DeliveryOutcome::Accepted(id, detail);
    outcome.code = code;
    co_return outcome;
  }
  if (const auto words = ErrorWords(response); !words.empty()) detail += ": " + words;
  if (status == 429) {
    // X-RateLimit-Reset is the Unix time the limit resets at.
    std::chrono::milliseconds wait = std::chrono::seconds(response.retry_after_s);
    const auto reset = Header(response, "x-ratelimit-reset");
    if (!reset.empty() && std::all_of(reset.begin(), reset.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        reset.size() < 12) {
      const auto at_ms = std::stoll(reset) * 1000;
      wait = std::max(wait, std::chrono::milliseconds(std::max(0LL, at_ms - ToUnixMillis(clock_.Now()))));
    }
    co_return DeliveryOutcome::Throttled(detail, code, wait);
  }
  if (status >= 500 || status == 408) {
    auto outcome = DeliveryOutcome::Transient(detail, code);
    outcome.retry_after = std::chrono::seconds(response.retry_after_s);
    co_return outcome;
  }
  if (status == 401 || status == 403) co_return DeliveryOutcome::Permanent(detail + " (check sendgrid.api_key)", code);
  co_return DeliveryOutcome::Permanent(detail, code);
}

}  // namespace herald::channels::sendgrid
