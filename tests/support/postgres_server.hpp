// A private PostgreSQL 15 server for tests: initdb into a temporary folder, the
// server in the foreground on an ephemeral loopback port with its socket in
// that folder, stopped by PID. As root, both run as the `postgres` user (they
// refuse root). Starting takes 1-3 s; share one per test binary
// (SharedPostgresServer) and give each test its own database (NewDatabaseUrl).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace herald::testing {

class PostgresServer {
 public:
  // Returns once the server accepts connections; throws std::runtime_error
  // naming the log when it does not within a minute.
  PostgresServer();
  // SIGTERM (a fast shutdown), then SIGKILL for whatever is left.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // A new, empty database, and the libpq URI that names it.
  std::string NewDatabaseUrl(const std::string& database) const;
  // psql against a database of this server; returns stdout (unaligned, tuples only).
  std::string Psql(const std::string& database, const std::string& sql) const;
  // SIGKILL and start again on the same data folder (crash recovery).
  void Restart();
  // SIGKILL only; StartAgain() brings it back on the same port and data.
  void Kill();
  void StartAgain();

  // A hot standby streaming from `primary` (pg_basebackup -R: its base backup
  // and primary_conninfo), on a port of its own; read-only, a moment behind.
  static std::unique_ptr<PostgresServer> StartReplicaOf(const PostgresServer& primary);

 private:
  struct ReplicaOf {
    const PostgresServer& primary;
  };
  explicit PostgresServer(ReplicaOf replica);
  void PrepareFolder();
  void Start();
  std::vector<std::string> AsPostgres(std::vector<std::string> argv) const;

  TempDir dir_;
  std::string data_dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

// One server per test binary, started on first use and stopped when the tests end.
PostgresServer& SharedPostgresServer();

}  // namespace herald::testing
