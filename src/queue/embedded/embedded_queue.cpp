#include "queue/embedded/embedded_queue.hpp"

#include "store/sqlite/database.hpp"
#include "store/sqlite/migrations.hpp"

#include <algorithm>
#include <optional>
#include <tuple>
#include <utility>

namespace herald::queue::embedded {
namespace {

// Real time between polls while waiting for items that are not there yet; delayed
// items become ready by the (injectable) clock, which a condition variable cannot
// see. Publish and Retry in this process wake waiters at once.
constexpr std::chrono::milliseconds kPollInterval{50};

// A lease is identified by the row and the delivery it came from: once a lease has
// expired and the item was taken again, the first holder's ack, retry or dead
// letter no longer applies to it.
constexpr std::string_view kCurrentLease = "id = ? AND delivery_count = ?";

}  // namespace

EmbeddedQueue::EmbeddedQueue(const std::string& db_path, const Clock& clock, std::chrono::milliseconds lease_duration)
    : clock_(clock), lease_duration_(lease_duration), db_(std::make_unique<store::sqlite::Database>(db_path)) {
  // The queue_ tables are migration 0002 of the file, like every other table.
  store::sqlite::Migrate(*db_);
}

EmbeddedQueue::~EmbeddedQueue() = default;

void EmbeddedQueue::EnsureLane(const std::string& lane) {
  std::lock_guard lock(mutex_);
  db_->Prepare("INSERT OR IGNORE INTO queue_lanes (name) VALUES (?)").Bind(1, lane).Step();
}

bool EmbeddedQueue::HasLane(const std::string& lane) {
  std::lock_guard lock(mutex_);
  return db_->Prepare("SELECT 1 FROM queue_lanes WHERE name = ?").Bind(1, lane).Step();
}

RemovedLane EmbeddedQueue::RemoveLane(const std::string& lane) {
  std::lock_guard lock(mutex_);
  store::sqlite::Transaction tx(*db_);
  RemovedLane removed{lane, {}};
  auto query = db_->Prepare("DELETE FROM queue_items WHERE lane = ? RETURNING message_id, id");
  query.Bind(1, lane);
  std::vector<std::pair<std::int64_t, std::string>> rows;
  while (query.Step()) rows.emplace_back(query.ColumnInt(1), query.ColumnText(0));
  std::sort(rows.begin(), rows.end());
  for (auto& row : rows) removed.pending_message_ids.push_back(std::move(row.second));
  db_->Prepare("DELETE FROM queue_lanes WHERE name = ?").Bind(1, lane).Step();
  db_->Prepare("DELETE FROM queue_dead WHERE lane = ?").Bind(1, lane).Step();
  tx.Commit();
  return removed;
}

void EmbeddedQueue::Publish(const std::string& lane, const std::vector<OutgoingItem>& items) {
  if (items.empty()) return;
  {
    std::lock_guard lock(mutex_);
    store::sqlite::Transaction tx(*db_);
    db_->Prepare("INSERT OR IGNORE INTO queue_lanes (name) VALUES (?)").Bind(1, lane).Step();
    auto insert = db_->Prepare(
        "INSERT OR IGNORE INTO queue_items (lane, message_id, body, priority, available_at) VALUES (?,?,?,?,?)");
    const auto now = NowMs();
    for (const auto& item : items) {
      insert.Bind(1, lane).Bind(2, item.message_id).Bind(3, item.body).Bind(4, item.priority).Bind(5, now);
      insert.Step();
      insert.Reset();
    }
    tx.Commit();
  }
  published_.notify_all();
}

std::vector<Lease> EmbeddedQueue::TakeReady(const std::string& lane, int max_items) {
  store::sqlite::Transaction tx(*db_);
  const auto now = NowMs();
  auto take = db_->Prepare(
      "UPDATE queue_items SET leased_until = ?, delivery_count = delivery_count + 1 WHERE id IN ("
      "  SELECT id FROM queue_items WHERE lane = ? AND available_at <= ? AND leased_until <= ? "
      "  ORDER BY priority DESC, id LIMIT ?) "
      "RETURNING id, message_id, body, delivery_count, priority");
  take.Bind(1, now + lease_duration_.count()).Bind(2, lane).Bind(3, now).Bind(4, now).Bind(5, max_items);
  std::vector<std::tuple<std::int64_t, std::int64_t, Lease>> rows;
  while (take.Step()) {
    Lease lease{lane, take.ColumnText(1), take.ColumnText(2), static_cast<int>(take.ColumnInt(3)),
                static_cast<std::uint64_t>(take.ColumnInt(0))};
    rows.emplace_back(-take.ColumnInt(4), take.ColumnInt(0), std::move(lease));
  }
  tx.Commit();
  // RETURNING gives no order; hand items out as they were selected.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  std::vector<Lease> leases;
  leases.reserve(rows.size());
  for (auto& row : rows) leases.push_back(std::move(std::get<2>(row)));
  return leases;
}

std::vector<Lease> EmbeddedQueue::Take(const std::string& lane, int max_items, std::chrono::milliseconds wait) {
  if (max_items <= 0) return {};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock lock(mutex_);
  while (true) {
    auto leases = TakeReady(lane, max_items);
    if (!leases.empty()) return leases;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return {};
    published_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(deadline - now, kPollInterval));
  }
}

void EmbeddedQueue::Ack(const std::vector<Lease>& leases) {
  if (leases.empty()) return;
  std::lock_guard lock(mutex_);
  store::sqlite::Transaction tx(*db_);
  auto remove = db_->Prepare("DELETE FROM queue_items WHERE " + std::string(kCurrentLease));
  for (const auto& lease : leases) {
    remove.Bind(1, static_cast<std::int64_t>(lease.tag)).Bind(2, lease.delivery_count);
    remove.Step();
    remove.Reset();
  }
  tx.Commit();
}

void EmbeddedQueue::Retry(const Lease& lease, std::chrono::milliseconds delay) {
  {
    std::lock_guard lock(mutex_);
    db_->Prepare("UPDATE queue_items SET available_at = ?, leased_until = 0 WHERE " + std::string(kCurrentLease))
        .Bind(1, NowMs() + delay.count())
        .Bind(2, static_cast<std::int64_t>(lease.tag))
        .Bind(3, lease.delivery_count)
        .Step();
  }
  published_.notify_all();
}

void EmbeddedQueue::DeadLetter(const Lease& lease, const std::string& reason) {
  std::lock_guard lock(mutex_);
  store::sqlite::Transaction tx(*db_);
  std::optional<DeadItem> dead;
  {
    auto moved = db_->Prepare("DELETE FROM queue_items WHERE " + std::string(kCurrentLease) +
                             " RETURNING lane, message_id, body");
    moved.Bind(1, static_cast<std::int64_t>(lease.tag)).Bind(2, lease.delivery_count);
    if (moved.Step()) dead = DeadItem{moved.ColumnText(1), moved.ColumnText(2), reason, NowMs()};
  }
  if (dead) {
    db_->Prepare("INSERT INTO queue_dead (lane, message_id, body, reason, dead_at) VALUES (?,?,?,?,?)")
        .Bind(1, lease.lane)
        .Bind(2, dead->message_id)
        .Bind(3, dead->body)
        .Bind(4, dead->reason)
        .Bind(5, dead->at_ms)
        .Step();
  }
  tx.Commit();
}

std::int64_t EmbeddedQueue::Depth(const std::string& lane) {
  std::lock_guard lock(mutex_);
  auto query = db_->Prepare("SELECT COUNT(*) FROM queue_items WHERE lane = ? AND leased_until <= ?");
  query.Bind(1, lane).Bind(2, NowMs());
  query.Step();
  return query.ColumnInt(0);
}

void EmbeddedQueue::ReleaseLeases() {
  {
    std::lock_guard lock(mutex_);
    db_->Execute("UPDATE queue_items SET leased_until = 0 WHERE leased_until > 0");
  }
  published_.notify_all();
}

std::vector<DeadItem> EmbeddedQueue::DeadLetters(const std::string& lane) {
  std::lock_guard lock(mutex_);
  auto query = db_->Prepare("SELECT message_id, body, reason, dead_at FROM queue_dead WHERE lane = ? ORDER BY id");
  query.Bind(1, lane);
  std::vector<DeadItem> dead;
  while (query.Step()) dead.push_back({query.ColumnText(0), query.ColumnText(1), query.ColumnText(2), query.ColumnInt(3)});
  return dead;
}

}  // namespace herald::queue::embedded
