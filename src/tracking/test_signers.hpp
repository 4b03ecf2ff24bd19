// For tests: throw-away keys that sign as the providers do, so webhook
// requests can be made that Herald must accept (and, changed, refuse).
#pragma once

#include <nlohmann/json.hpp>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "tracking/webhook_signatures.hpp"

namespace herald::tracking::testing {

using KeyPointer = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// An RSA key with a self-signed certificate, as an SNS signing certificate.
struct SigningCertificate {
  KeyPointer key{nullptr, EVP_PKEY_free};
  std::string pem;
};

inline SigningCertificate MakeCertificate() {
  SigningCertificate out;
  out.key.reset(EVP_RSA_gen(2048));
  std::unique_ptr<X509, decltype(&X509_free)> certificate(X509_new(), X509_free);
  X509_set_version(certificate.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 3600);
  X509_set_pubkey(certificate.get(), out.key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(certificate.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sns.test"), -1, -1, 0);
  X509_set_issuer_name(certificate.get(), X509_get_subject_name(certificate.get()));
  X509_sign(certificate.get(), out.key.get(), EVP_sha256());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), certificate.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  out.pem.assign(data, static_cast<std::size_t>(size));
  return out;
}

// A P-256 key, as SendGrid's Signed Event Webhook has, with its public half
// in the form SendGrid shows (base64 DER SubjectPublicKeyInfo).
struct EcKey {
  KeyPointer key{nullptr, EVP_PKEY_free};
  std::string public_key_base64;
};

inline EcKey MakeEcKey() {
  EcKey out;
  out.key.reset(EVP_EC_gen("P-256"));
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(out.key.get(), &der);
  out.public_key_base64 = Base64Encode(std::string_view(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size)));
  OPENSSL_free(der);
  return out;
}

// base64 of `key`'s signature of `data` (RSA PKCS#1 v1.5, or DER ECDSA).
inline std::string Sign(EVP_PKEY* key, const EVP_MD* digest, const std::string& data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestSignInit(context.get(), nullptr, digest, nullptr, key);
  std::size_t size = 0;
  EVP_DigestSign(context.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string signature(size, '\0');
  EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  signature.resize(size);
  return Base64Encode(signature);
}

// An SNS message as SNS posts it (JSON), signed (version 1) with `certificate`
// for the fields its type signs. `m.timestamp` empty: a fixed one.
inline nlohmann::json SignedSnsMessage(SnsMessage m, const SigningCertificate& certificate) {
  if (m.signature_version.empty()) m.signature_version = "1";
  if (m.timestamp.empty()) m.timestamp = "2026-12-04T09:30:00.000Z";
  m.signature = Sign(certificate.key.get(), m.signature_version == "2" ? EVP_sha256() : EVP_sha1(), SnsStringToSign(m));
  nlohmann::json out{{"Type", m.type},
                     {"MessageId", m.message_id},
                     {"TopicArn", m.topic_arn},
                     {"Message", m.message},
                     {"Timestamp", m.timestamp},
                     {"SignatureVersion", m.signature_version},
                     {"Signature", m.signature},
                     {"SigningCertURL", m.signing_cert_url}};
  if (m.subject) out["Subject"] = *m.subject;
  if (!m.subscribe_url.empty()) out["SubscribeURL"] = m.subscribe_url;
  if (!m.token.empty()) out["Token"] = m.token;
  return out;
}

}  // namespace herald::tracking::testing
