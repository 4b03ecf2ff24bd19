#include "cli/email_job_consumer.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/email_job.hpp"
#include "api/message_json.hpp"

namespace herald::cli {

EmailJobConsumer::EmailJobConsumer(queue::Queue& queue, store::MessageStore& messages, store::TemplateStore& templates,
                                   std::int64_t owner_key_id, const Clock& clock, std::function<void()> stored)
    : queue_(queue),
      messages_(messages),
      templates_(templates),
      owner_(owner_key_id),
      clock_(clock),
      on_stored_(std::move(stored)) {}

EmailJobConsumer::~EmailJobConsumer() { Stop(); }

void EmailJobConsumer::Start() {
  queue_.EnsureLane(kEmailJobsQueue);
  queue_.EnsureLane(kInvalidEmailJobsQueue);
  thread_ = std::thread([this] {
    while (!stopping_) {
      try {
        RunOnce(std::chrono::milliseconds(200));
      } catch (const std::exception& e) {
        {
          std::lock_guard lock(mutex_);
          if (last_error_ != e.what()) spdlog::warn("email-jobs: {}; taking jobs again in a second", e.what());
          last_error_ = e.what();
        }
        for (int i = 0; i < 20 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
}

void EmailJobConsumer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string EmailJobConsumer::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::optional<std::int64_t> EmailJobConsumer::TemplateNamed(const std::string& name) {
  store::PageQuery query;
  query.owner_id = owner_;
  query.page_size = 500;
  for (query.page = 1;; ++query.page) {
    const auto page = templates_.ListTemplates(query);
    for (const auto& row : page.rows) {
      if (row.name == name) return row.id;
    }
    if (page.rows.size() < static_cast<std::size_t>(query.page_size)) return std::nullopt;
    query.as_of_id = page.as_of_id;
  }
}

int EmailJobConsumer::RunOnce(std::chrono::milliseconds wait) {
  auto leases = queue_.Take(kEmailJobsQueue, 100, wait);
  if (leases.empty()) return 0;
  const auto now_ms = ToUnixMillis(clock_.Now());
  const api::TemplateLookup templates = [this](std::int64_t id) -> std::optional<store::TemplateRecord> {
    auto found = templates_.GetTemplate(id);
    if (!found || found->owner_id != owner_) return std::nullopt;
    return found;
  };
  const api::TemplateNameLookup by_name = [this](const std::string& name) { return TemplateNamed(name); };

  std::vector<store::NewMessage> valid;
  std::vector<queue::Lease> valid_leases;
  std::vector<queue::OutgoingItem> refused;
  std::vector<queue::Lease> refused_leases;
  for (auto& lease : leases) {
    auto job = api::ParseEmailJob(lease.body, owner_, now_ms, lease.message_id, templates, by_name);
    if (auto* error = std::get_if<api::ApiError>(&job)) {
      const nlohmann::json entry{{"reason", error->message},
                                 {"code", error->code},
                                 {"job", lease.body},
                                 {"received_at", api::FormatTimestamp(now_ms)}};
      spdlog::warn("email-jobs: job refused: {}", error->message);
      refused.push_back({.message_id = lease.message_id, .body = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
      refused_leases.push_back(std::move(lease));
      continue;
    }
    valid.push_back(std::move(std::get<api::EmailJob>(job).message));
    valid_leases.push_back(std::move(lease));
  }
  // Refusals are parked before their jobs are acknowledged; a crash in between
  // parks one twice, never loses one.
  if (!refused.empty()) {
    queue_.Publish(kInvalidEmailJobsQueue, refused);
    queue_.Ack(refused_leases);
    invalid_ += static_cast<std::int64_t>(refused.size());
  }
  if (!valid.empty()) {
    const auto count = valid.size();
    // One transaction for the batch; an error leaves every job unacknowledged,
    // so the broker hands them out again (idempotency keys make that harmless).
    try {
      messages_.Accept(std::move(valid), now_ms);
    } catch (...) {
      for (const auto& lease : valid_leases) {
        try {
          queue_.Retry(lease, std::chrono::seconds(1));
        } catch (const std::exception&) {
          // Unacknowledged, it comes back when this connection closes.
        }
      }
      throw;
    }
    queue_.Ack(valid_leases);
    stored_ += static_cast<std::int64_t>(count);
    if (on_stored_) on_stored_();
  }
  std::lock_guard lock(mutex_);
  last_error_.clear();
  return static_cast<int>(leases.size());
}

}  // namespace herald::cli
