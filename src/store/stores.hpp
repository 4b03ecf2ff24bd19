// Every store of one backend, opened once per process over one storage: what
// the wiring hands to the commands, and what the contract suite runs against.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/campaign_store.hpp"
#include "store/certificate_store.hpp"
#include "store/key_store.hpp"
#include "store/message_delivery_store.hpp"
#include "store/message_store.hpp"
#include "store/pacing_store.hpp"
#include "store/tracking_store.hpp"

namespace herald::store {

enum class SchemaPolicy {
  kMigrate,         // apply what the storage lacks (the all-in-one commands, tools, tests)
  kRequireCurrent,  // refuse storage whose schema is behind: `herald migrate` applies it
};

// What opening the storage did to its schema.
struct MigrationReport {
  int from_version = 0;  // 0: new storage
  int to_version = 0;
  std::vector<std::string> applied;  // migration names, in the order applied
  bool adopted_unversioned = false;  // the storage predates versioning and was taken over
};

// One versioned schema migration of a backend: an SQL file of its migrations
// folder (NNNN_name.sql), compiled in.
struct Migration {
  int version = 0;
  std::string_view name;  // the file's name without .sql, e.g. "0001_initial"
  std::string_view sql;
};

// Storage whose schema is not the one this binary needs; the message says what to do.
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws SchemaError when storage at `where` has a schema `version` this binary,
// which knows up to `latest`, cannot use: newer always; behind as well when
// `require_current` (then the message names `herald migrate`).
inline void CheckSchemaVersion(const std::string& where, int version, int latest, bool require_current) {
  if (version > latest) {
    throw SchemaError(where + " has schema version " + std::to_string(version) + ", newer than this herald knows (" +
                      std::to_string(latest) +
                      "): it was written by a newer herald; run that version, or restore a backup made before the "
                      "upgrade");
  }
  if (require_current && version < latest) {
    throw SchemaError(where + " has schema version " + std::to_string(version) + ", this herald needs " +
                      std::to_string(latest) + ": run `herald migrate` (with the same --config) first");
  }
}

class Stores {
 public:
  virtual ~Stores() = default;
  virtual KeyStore& keys() = 0;
  virtual MessageStore& messages() = 0;
  virtual MessageDeliveryStore& deliveries() = 0;
  virtual TrackingStore& tracking() = 0;
  virtual ContactStore& contacts() = 0;
  virtual TemplateStore& templates() = 0;
  virtual CampaignStore& campaigns() = 0;
  virtual PacingStore& pacing() = 0;
  virtual CertificateStore& certificates() = 0;
  // The backend's name, for /health ("sqlite", "postgres").
  virtual std::string_view kind() const = 0;
  // Where the data is, for messages: a file, or user@host:port/database.
  virtual std::string where() const = 0;
  virtual const MigrationReport& migration() const = 0;
};

}  // namespace herald::store
