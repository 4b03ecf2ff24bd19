#include "tracking/webhook_signatures.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

namespace herald::tracking {
namespace {

struct FreeKey {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct FreeDigestContext {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
struct FreeCertificate {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct FreeBio {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Key = std::unique_ptr<EVP_PKEY, FreeKey>;

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Key ParsePublicKey(std::string_view public_key_base64) {
  const auto der = Base64Decode(public_key_base64);
  if (!der) return nullptr;
  const auto* bytes = reinterpret_cast<const unsigned char*>(der->data());
  return Key(d2i_PUBKEY(nullptr, &bytes, static_cast<long>(der->size())));
}

bool VerifyWith(EVP_PKEY* key, const EVP_MD* digest, std::string_view data, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, FreeDigestContext> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, digest, nullptr, key) != 1) return false;
  return EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.size() % 4 != 0) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
               c == '=';
      })) {
    return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (written < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as data: take it off again.
  std::size_t size = static_cast<std::size_t>(written);
  if (text.back() == '=') --size;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

std::string TwilioSignature(std::string_view auth_token, std::string_view url,
                            std::vector<std::pair<std::string, std::string>> params) {
  // Twilio's SDKs sign each distinct (name, value) pair once, in sorted order.
  std::sort(params.begin(), params.end());
  params.erase(std::unique(params.begin(), params.end()), params.end());
  std::string data(url);
  for (const auto& [name, value] : params) data += name + value;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

bool TwilioSignatureValid(std::string_view auth_token, std::string_view url,
                          const std::vector<std::pair<std::string, std::string>>& params, std::string_view signature) {
  if (auth_token.empty() || signature.empty()) return false;
  return ConstantTimeEqual(TwilioSignature(auth_token, url, params), signature);
}

std::optional<std::string> SendGridKeyProblem(std::string_view public_key_base64) {
  if (!Base64Decode(public_key_base64)) return "is not base64 (paste the verification key SendGrid shows)";
  const auto key = ParsePublicKey(public_key_base64);
  if (!key) return "is not a DER public key (paste the verification key SendGrid shows)";
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_EC) return "is not an elliptic-curve (ECDSA) key";
  return std::nullopt;
}

bool SendGridSignatureValid(std::string_view public_key_base64, std::string_view timestamp, std::string_view payload,
                            std::string_view signature_base64) {
  if (timestamp.empty() || signature_base64.empty()) return false;
  const auto key = ParsePublicKey(public_key_base64);
  const auto signature = Base64Decode(signature_base64);
  if (!key || !signature || EVP_PKEY_base_id(key.get()) != EVP_PKEY_EC) return false;
  std::string data(timestamp);
  data += payload;
  return VerifyWith(key.get(), EVP_sha256(), data, *signature);
}

std::string SnsStringToSign(const SnsMessage& message) {
  std::string out;
  auto add = [&out](std::string_view name, std::string_view value) {
    out.append(name).append("\n").append(value).append("\n");
  };
  add("Message", message.message);
  add("MessageId", message.message_id);
  if (message.type == "Notification") {
    if (message.subject) add("Subject", *message.subject);
    add("Timestamp", message.timestamp);
  } else {
    add("SubscribeURL", message.subscribe_url);
    add("Timestamp", message.timestamp);
    add("Token", message.token);
  }
  add("TopicArn", message.topic_arn);
  add("Type", message.type);
  return out;
}

bool SnsSignatureValid(const SnsMessage& message, std::string_view certificate_pem) {
  const EVP_MD* digest = message.signature_version == "1"   ? EVP_sha1()
                         : message.signature_version == "2" ? EVP_sha256()
                                                            : nullptr;
  if (digest == nullptr) return false;
  const auto signature = Base64Decode(message.signature);
  if (!signature || signature->empty()) return false;
  std::unique_ptr<BIO, FreeBio> bio(BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())));
  if (!bio) return false;
  std::unique_ptr<X509, FreeCertificate> certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return false;
  Key key(X509_get_pubkey(certificate.get()));
  if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) return false;
  return VerifyWith(key.get(), digest, SnsStringToSign(message), *signature);
}

}  // namespace herald::tracking
