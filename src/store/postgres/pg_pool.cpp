#include "store/postgres/pg_pool.hpp"

namespace herald::store::postgres {

PgPool::PgPool(std::string url, int size, std::chrono::milliseconds query_timeout)
    : url_(std::move(url)), where_(DescribeConnection(url_)), query_timeout_(query_timeout), unopened_(size) {}

PgPool::Lease PgPool::Acquire() {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [this] { return !idle_.empty() || unopened_ > 0; });
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  --unopened_;
  lock.unlock();
  try {
    return Lease(*this, std::make_unique<PgConnection>(url_, query_timeout_));
  } catch (...) {
    lock.lock();
    ++unopened_;
    freed_.notify_one();
    throw;
  }
}

void PgPool::Release(std::unique_ptr<PgConnection> connection) {
  std::vector<std::unique_ptr<PgConnection>> dropped;  // closed after the lock is let go
  std::lock_guard lock(mutex_);
  // A connection the server dropped is not given out again, nor are the idle
  // ones: a restart dropped them too, and each would fail one more request.
  if (connection->Broken()) {
    unopened_ += 1 + static_cast<int>(idle_.size());
    dropped.swap(idle_);
    dropped.push_back(std::move(connection));
    freed_.notify_all();
    return;
  }
  idle_.push_back(std::move(connection));
  freed_.notify_one();
}

PgPool::Lease::~Lease() {
  if (connection_) pool_->Release(std::move(connection_));
}

PgTransaction::~PgTransaction() {
  if (done_) return;
  try {
    db_.Exec("ROLLBACK");
  } catch (const std::exception&) {
    // A broken connection: the server rolled back when it went away.
  }
}

void PgTransaction::Commit() {
  db_.Exec("COMMIT");
  done_ = true;
}

}  // namespace herald::store::postgres
