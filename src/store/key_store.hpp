// KeyStore: the API keys of seed 004. Only the SHA-256 of a key is stored; its
// plain text exists once, in the IssuedKey handed back when it is made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/api_records.hpp"

namespace herald::store {

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  virtual ApiKeyRecord CreateKey(const std::string& name, const std::string& role, const std::string& tier,
                                 const std::string& key_hash, const std::string& key_prefix, std::int64_t now_ms) = 0;
  // Makes a random key ("hk_" and 48 hex digits) and stores its hash.
  virtual IssuedKey IssueKey(const std::string& name, const std::string& role, const std::string& tier,
                             std::int64_t now_ms) = 0;
  // The key with this hash, unless it was revoked.
  virtual std::optional<ApiKeyRecord> FindActiveKey(const std::string& key_hash) = 0;
  virtual std::vector<ApiKeyRecord> ListKeys() = 0;
  // False when no key has this id or it was revoked already.
  virtual bool RevokeKey(std::int64_t id, std::int64_t now_ms) = 0;
};

}  // namespace herald::store
