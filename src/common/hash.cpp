#include "common/hash.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "common/text.hpp"

namespace herald {

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return text::Hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string RandomHex(int bytes) {
  std::vector<unsigned char> buffer(static_cast<size_t>(bytes));
  if (RAND_bytes(buffer.data(), bytes) != 1) throw std::runtime_error("the OS random source failed");
  return text::Hex(std::string_view(reinterpret_cast<const char*>(buffer.data()), buffer.size()));
}

}  // namespace herald
