// Rows of the campaign side of the API service (seeds 002 and 003): contacts
// (seed 003's customers), reusable templates and campaigns, as the campaign
// store hands them out. Plain data; validation lives in the API's *_json files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herald::store {

// A person a campaign can reach. Every text field may be missing (NULL); a
// contact holds at least one address (phone, email or telegram_chat_id),
// already normalised by the caller.
struct ContactRecord {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;  // the API key that created it
  std::optional<std::string> phone;
  std::optional<std::string> email;
  std::optional<std::string> telegram_chat_id;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> location;
  std::optional<std::string> preferred_product;
  std::string attributes_json = "{}";  // free-form JSON object
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct TemplateRecord {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;
  std::string name;
  std::optional<std::string> channel;  // nullopt: usable on any channel
  std::string subject;
  std::string html;
  std::string text;
  std::vector<std::string> variables;  // placeholder names found in subject, html and text
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// A template's variables as stored: one name per line (a placeholder name
// cannot hold a newline, so this is unambiguous), and back.
inline std::string JoinVariableNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += '\n';
    out += name;
  }
  return out;
}

inline std::vector<std::string> SplitVariableNames(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Stored campaign states: draft -> sending, or scheduled -> sending; "sending"
// becomes "sent" (or "failed" when nothing got through) once none of its
// messages is pending.
struct CampaignRecord {
  std::int64_t id = 0;
  std::int64_t owner_id = 0;
  std::string name;
  std::string channel;  // sms, whatsapp, email, telegram
  std::string status;
  std::string base_template;  // empty when template_id is set
  std::optional<std::int64_t> template_id;
  std::string subject;
  std::optional<std::int64_t> scheduled_at_ms;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

// Delivery state of a campaign's messages (one recipient each).
struct CampaignStats {
  std::int64_t total = 0;
  std::int64_t pending = 0;  // queued or being sent
  std::int64_t sent = 0;
  std::int64_t failed = 0;  // failed, dead-lettered or unknown
  std::int64_t cancelled = 0;
  // Recipients a provider reported on (webhooks), each counted once per kind.
  std::int64_t delivered = 0;
  std::int64_t read = 0;
  std::int64_t clicked = 0;
  std::int64_t bounced = 0;
  std::int64_t complained = 0;

  // Counts `count` recipients with a provider event of `kind` (a tracking word).
  void AddTracked(const std::string& kind, std::int64_t count) {
    if (kind == "delivered") delivered += count;
    if (kind == "read") read += count;
    if (kind == "clicked") clicked += count;
    if (kind == "bounced") bounced += count;
    if (kind == "complained") complained += count;
  }

  // Counts `count` recipients in `status` (a delivery status word).
  void Add(const std::string& status, std::int64_t count) {
    total += count;
    if (status == "queued" || status == "sending") {
      pending += count;
    } else if (status == "sent") {
      sent += count;
    } else if (status == "cancelled") {
      cancelled += count;
    } else {
      failed += count;
    }
  }
};

// Lists are owner-scoped (nullopt: every owner, for admins) and cut from a
// snapshot: rows with id <= as_of_id, so pages neither repeat nor skip rows
// while new ones are added.
struct PageQuery {
  std::optional<std::int64_t> owner_id;
  std::optional<std::int64_t> as_of_id;
  int page = 1;
  int page_size = 20;
};

struct CampaignFilter {
  std::string channel;  // empty: any
  std::string status;   // empty: any
};

template <typename Row>
struct Page {
  std::vector<Row> rows;
  std::int64_t total_count = 0;
  std::int64_t as_of_id = 0;
};

// Which message a campaign sent to which contact.
struct CampaignMessageLink {
  std::int64_t contact_id = 0;
  std::int64_t message_id = 0;
};

}  // namespace herald::store
