#include "tests/support/postgres_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <stdexcept>

#include "tests/support/shared_server.hpp"

namespace herald::testing {
namespace {

constexpr const char* kPostgresBin = "/usr/lib/postgresql/15/bin/";

}  // namespace

std::vector<std::string> PostgresServer::AsPostgres(std::vector<std::string> argv) const {
  if (geteuid() != 0) return argv;
  // setpriv execs in place (no child in between), so the PID is the server's own.
  std::vector<std::string> wrapped = {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

void PostgresServer::PrepareFolder() {
  data_dir_ = dir_.path() + "/data";
  std::filesystem::create_directories(data_dir_);
  ::chmod(data_dir_.c_str(), 0700);
  if (geteuid() == 0) {
    // The postgres user must reach its folder inside ours.
    ::chmod(dir_.path().c_str(), 0755);
    RunCommand({"chown", "postgres:postgres", data_dir_, dir_.path()}, std::chrono::seconds(10));
  }
}

PostgresServer::PostgresServer() {
  PrepareFolder();
  const auto initdb = RunCommand(AsPostgres({std::string(kPostgresBin) + "initdb", "-D", data_dir_, "-A", "trust",
                                             "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"}),
                                 std::chrono::seconds(120));
  if (initdb.exit_code != 0) throw std::runtime_error("initdb failed in " + data_dir_ + ": " + initdb.output);
  port_ = FreePort();
  Start();
}

PostgresServer::PostgresServer(ReplicaOf replica) {
  PrepareFolder();
  // initdb's pg_hba.conf lets loopback replication connections in (trust).
  const auto backup = RunCommand(
      AsPostgres({std::string(kPostgresBin) + "pg_basebackup", "-D", data_dir_, "-R", "-X", "stream", "-c", "fast",
                  "--no-sync", "-h", "127.0.0.1", "-p", std::to_string(replica.primary.port()), "-U", "postgres"}),
      std::chrono::seconds(120));
  if (backup.exit_code != 0) throw std::runtime_error("pg_basebackup failed into " + data_dir_ + ": " + backup.output);
  port_ = FreePort();
  Start();
}

std::unique_ptr<PostgresServer> PostgresServer::StartReplicaOf(const PostgresServer& primary) {
  return std::unique_ptr<PostgresServer>(new PostgresServer(ReplicaOf{primary}));
}

void PostgresServer::Start() {
  server_ = std::make_unique<ChildProcess>(ChildProcess::Options{
      .argv = AsPostgres({std::string(kPostgresBin) + "postgres", "-D", data_dir_, "-p", std::to_string(port_), "-c",
                          "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_.path(), "-c",
                          "fsync=off", "-c", "max_connections=200"}),
      .stdout_path = dir_.path() + "/server.out",
      .stderr_path = dir_.path() + "/server.log"});
  const bool up = WaitFor(
      [&] {
        return server_->Wait(std::chrono::milliseconds(0)).has_value() ||
               RunCommand({std::string(kPostgresBin) + "pg_isready", "-q", "-h", "127.0.0.1", "-p",
                           std::to_string(port_)},
                          std::chrono::seconds(5))
                       .exit_code == 0;
      },
      std::chrono::seconds(60));
  if (!up || server_->Wait(std::chrono::milliseconds(0))) {
    throw std::runtime_error("PostgreSQL did not start on port " + std::to_string(port_) + "; see " + dir_.path() +
                             "/server.log");
  }
}

PostgresServer::~PostgresServer() {
  if (server_ && !server_->Wait(std::chrono::milliseconds(0))) {
    server_->Signal(SIGINT);  // fast shutdown
    server_->Wait(std::chrono::seconds(20));
  }
  server_.reset();
}

void PostgresServer::Restart() {
  Kill();
  Start();
}

void PostgresServer::Kill() {
  server_->Signal(SIGKILL);
  server_->Wait(std::chrono::seconds(10));
  // Its children (backends, writers) leave once the postmaster is gone.
  WaitFor([&] { return RunCommand({"pgrep", "-f", "postgres.*" + data_dir_}, std::chrono::seconds(5)).output.empty(); },
          std::chrono::seconds(20));
}

void PostgresServer::StartAgain() { Start(); }

std::string PostgresServer::Psql(const std::string& database, const std::string& sql) const {
  return RunCommand({"psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", std::to_string(port_),
                     "-U", "postgres", "-d", database, "-c", sql},
                    std::chrono::seconds(60))
      .output;
}

std::string PostgresServer::NewDatabaseUrl(const std::string& database) const {
  Psql("postgres", "CREATE DATABASE \"" + database + "\"");
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

PostgresServer& SharedPostgresServer() { return SharedPerTestBinary<PostgresServer>(); }

}  // namespace herald::testing
