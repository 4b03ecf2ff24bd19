#include "dispatch/certificate_lane.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/files.hpp"
#include "dispatch/lease_settlement.hpp"

namespace herald::dispatch {
namespace {

using domain::DeliveryStatus;

struct CertificateItem final : WorkItem {
  queue::Lease lease;
  store::CertificateDelivery row;
  std::string pdf_path;  // where its PDF is, once rendered
};

CertificateItem& ItemOf(const Finished& f) { return static_cast<CertificateItem&>(*f.item); }

std::string DeliveryIdOf(const queue::Lease& lease) {
  const auto body = nlohmann::json::parse(lease.body, nullptr, false);
  if (body.is_object() && body.contains("delivery_id") && body["delivery_id"].is_string()) {
    return body["delivery_id"].get<std::string>();
  }
  return lease.message_id;
}

// Written under a temporary name and renamed, so a crash never leaves half a PDF
// under the final name. The temporary is opened without following links, and
// the rename replaces a link at the final name rather than writing through it.
void WriteFileAtomically(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  auto temporary = path;
  temporary += ".part";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + temporary.string() + ": " + std::strerror(errno));
  if (!WriteAll(fd, bytes)) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error("cannot write " + temporary.string() + ": " + std::strerror(error));
  }
  ::close(fd);
  std::filesystem::rename(temporary, path);
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in.good() && !in.eof()) return std::nullopt;
  return bytes.str();
}

}  // namespace

std::string CertificateQueueName(const std::string& event_slug) { return "herald.certificates." + event_slug; }

std::string CertificateLeaseBody(const std::string& delivery_id) {
  return nlohmann::json{{"delivery_id", delivery_id}}.dump();
}

CertificateLane::CertificateLane(store::CertificateStore& store, queue::Queue& queue,
                                 const certificates::CertificateComposer& composer, ActiveEvent event,
                                 std::string out_dir, std::string run_id, const Clock& clock)
    : store_(store),
      queue_(queue),
      composer_(composer),
      event_(std::move(event)),
      queue_name_(CertificateQueueName(event_.slug)),
      out_dir_(std::move(out_dir)),
      run_id_(std::move(run_id)),
      clock_(clock) {}

std::vector<std::shared_ptr<WorkItem>> CertificateLane::Take(int max) {
  auto leases = queue_.Take(queue_name_, max, std::chrono::milliseconds(0));
  std::vector<std::shared_ptr<WorkItem>> items;
  if (leases.empty()) return items;
  std::vector<std::string> ids;
  ids.reserve(leases.size());
  for (const auto& lease : leases) ids.push_back(DeliveryIdOf(lease));
  std::vector<store::CertificateDelivery> loaded;
  try {
    loaded = store_.GetMany(ids);
  } catch (const std::exception&) {
    ReturnLeases(queue_, leases);
    throw;
  }
  std::map<std::string, store::CertificateDelivery> rows;
  for (auto& row : loaded) rows.emplace(row.id, std::move(row));
  std::vector<queue::Lease> stale;
  std::set<std::string> taken;
  for (std::size_t i = 0; i < leases.size(); ++i) {
    auto it = rows.find(ids[i]);
    if (it == rows.end() || it->second.status != DeliveryStatus::kQueued || !taken.insert(ids[i]).second ||
        !held_.Hold(ids[i])) {
      // Already final (a copy delivered again after a crash), a second copy in
      // this batch or of one this lane holds, or unknown to the store: nothing to send.
      stale.push_back(std::move(leases[i]));
      continue;
    }
    auto item = std::make_shared<CertificateItem>();
    item->delivery_id = ids[i];
    item->recipient = it->second.email;
    item->attempts = it->second.attempts;
    item->lease = std::move(leases[i]);
    item->row = it->second;
    items.push_back(std::move(item));
  }
  stale_ += static_cast<std::int64_t>(stale.size());
  AckStale(queue_, stale);
  return items;
}

Result<channels::RenderedMessage> CertificateLane::Render(WorkItem& work) {
  auto& item = static_cast<CertificateItem&>(work);
  // A delivery whose PDF an earlier attempt saved gets that PDF again, unrendered.
  if (!item.row.pdf_path.empty()) {
    if (auto pdf = ReadWholeFile(item.row.pdf_path)) {
      auto composed = composer_.Compose(item.row, std::move(*pdf));
      if (!composed) return Unexpected<Error>(composed.error());
      item.pdf_path = item.row.pdf_path;
      return std::move(composed->email);
    }
  }
  auto composed = composer_.Compose(item.row);
  if (!composed) return Unexpected<Error>(composed.error());
  const auto path = std::filesystem::path(out_dir_) / event_.slug / composed->pdf_file_name;
  WriteFileAtomically(path, composed->pdf);
  ++rendered_;
  item.pdf_path = path.string();
  return std::move(composed->email);
}

std::vector<bool> CertificateLane::Commit(std::span<const Finished> finished,
                                          std::span<const std::shared_ptr<WorkItem>> claims) {
  std::vector<store::DeliveryUpdate> updates;
  updates.reserve(finished.size());
  for (const auto& f : finished) {
    if (f.kind != Finished::Kind::kSent && f.kind != Finished::Kind::kRenderFailed) continue;
    const auto& item = ItemOf(f);
    store::DeliveryUpdate update;
    update.id = item.delivery_id;
    update.status = f.decision.status;
    // A success keeps the server's reply; anything else its reason.
    update.detail = f.decision.status == DeliveryStatus::kSent ? f.outcome.detail : f.decision.detail;
    update.provider_id = f.outcome.provider_message_id;
    update.message_id = f.message_id;
    update.pdf_path = item.pdf_path;
    update.claimed = f.kind == Finished::Kind::kSent;
    updates.push_back(std::move(update));
  }
  std::vector<std::string> ids;
  ids.reserve(claims.size());
  for (const auto& item : claims) ids.push_back(item->delivery_id);
  return store_.RecordAndClaim(updates, ids, run_id_);
}

void CertificateLane::Settle(std::span<const Finished> finished) {
  // Acknowledged only now that the outcome is stored.
  SettleLeases(queue_, finished, clock_.Now(),
               [](const WorkItem& item) -> const queue::Lease& { return static_cast<const CertificateItem&>(item).lease; });
  for (const auto& f : finished) held_.Release(f.item->delivery_id);
}

bool CertificateLane::HasOpenWork() { return store_.OpenCount(event_.slug) > 0; }

}  // namespace herald::dispatch
