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

namespace herald::cli {

// The SQLite file in the data dir shared by the store and the embedded queue.
std::string DatabasePath(const config::HeraldConfig& config);

// Throws std::runtime_error with an actionable message when the backend cannot be reached.
std::unique_ptr<queue::Queue> MakeQueue(const config::HeraldConfig& config, const Clock& clock);

// SMTP when smtp.url is set, otherwise .eml files in the outbox folder; on the runtime's threads.
std::unique_ptr<channels::Channel> MakeEmailChannel(const config::HeraldConfig& config, const std::string& outbox_dir,
                                                    IoRuntime& runtime);

}  // namespace herald::cli
