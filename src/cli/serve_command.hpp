// `herald serve`: the REST API, its workers and scheduler in one process on the
// embedded defaults (SQLite store in the data dir, e-mail to the outbox unless
// SMTP is configured, mock providers for sms/whatsapp/telegram); `herald keys`
// to create, list and revoke the API keys it accepts; and `herald migrate` to
// create or upgrade the store's schema.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace herald::cli {

struct ServeArgs {
  std::string config_file;
  std::string data_dir;
  std::string listen;
};

struct WorkerArgs {
  std::string config_file;
  std::string data_dir;
  std::string lanes = "email,sms,whatsapp,telegram,paced";
  std::string listen;  // empty: no HTTP
};

struct KeysArgs {
  std::string config_file;
  std::string data_dir;
  std::string name;
  std::string role = "user";
  std::string tier = "free";
  std::int64_t id = 0;
};

struct MigrateArgs {
  std::string config_file;
  std::string data_dir;
};

void AddServeCommand(CLI::App& app, ServeArgs& args);
int RunServe(const ServeArgs& args);

// `herald api`: the whole HTTP API without delivery; `herald worker`: delivery
// of the given lanes without the API. Both on a shared store (PostgreSQL), as
// many of each as wanted; both refuse a store whose schema is behind.
void AddApiCommand(CLI::App& app, ServeArgs& args);
int RunApi(const ServeArgs& args);
void AddWorkerCommand(CLI::App& app, WorkerArgs& args);
int RunWorker(const WorkerArgs& args);

// Adds `keys create|list|revoke`; RunKeys runs whichever was given.
void AddKeysCommand(CLI::App& app, KeysArgs& args);
int RunKeys(const CLI::App& app, const KeysArgs& args);

void AddMigrateCommand(CLI::App& app, MigrateArgs& args);
int RunMigrate(const MigrateArgs& args);

}  // namespace herald::cli
