// The one place where configuration picks concrete implementations: which queue
// backend, which e-mail transport. Everything else sees only the interfaces.
#pragma once

#include <memory>
#include <string>

#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "common/io_runtime.hpp"
#include "config/herald_config.hpp"
#include "queue/queue.hpp"
#include "store/sqlite/shared_database.hpp"

namespace herald::cli {

// The SQLite file in the data dir shared by the store and the embedded queue.
std::string DatabasePath(const config::HeraldConfig& config);

// herald.db, opened once per process and shared by all its stores. Throws
// store::sqlite::SchemaError (the message says what to do) when the schema does not fit.
std::unique_ptr<store::sqlite::SharedDatabase> OpenDatabase(const config::HeraldConfig& config,
                                                            store::sqlite::SchemaPolicy policy);

// What a migration did, as one sentence; empty when it applied nothing.
std::string DescribeMigration(const std::string& path, const store::sqlite::MigrationReport& report);

// Throws std::runtime_error with an actionable message when the backend cannot be reached.
std::unique_ptr<queue::Queue> MakeQueue(const config::HeraldConfig& config, const Clock& clock);

// SMTP when smtp.url is set, otherwise .eml files in the outbox folder; on the runtime's threads.
std::unique_ptr<channels::Channel> MakeEmailChannel(const config::HeraldConfig& config, const std::string& outbox_dir,
                                                    IoRuntime& runtime);

}  // namespace herald::cli
