// Stable digests for ids that must be the same on every run (delivery ids,
// certificate verification codes) and random ids for things that must not (run ids).
#pragma once

#include <string>
#include <string_view>

namespace herald {

// Lower-case hex SHA-256 of the bytes.
std::string Sha256Hex(std::string_view bytes);
// `bytes` random bytes from the OS, as lower-case hex.
std::string RandomHex(int bytes);

}  // namespace herald
