// AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
// the canonical request, the string to sign and the Authorization header of one
// HTTP request, with HMAC-SHA256 from OpenSSL. Pure: the caller gives the time.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace herald::channels::ses {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // a secret
  std::string session_token;      // temporary credentials only; sent as X-Amz-Security-Token
};

struct SigningRequest {
  std::string method = "POST";
  std::string path = "/";  // not yet encoded: each segment is URI-encoded here
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // Host included; X-Amz-Date is added
  std::string payload;
  std::string region;
  std::string service;
  std::string amz_date;  // "YYYYMMDDTHHMMSSZ", UTC
};

struct SignedRequest {
  std::string canonical_request;
  std::string string_to_sign;
  std::string authorization;  // the Authorization header's value
  // Headers to send besides the caller's: X-Amz-Date, X-Amz-Security-Token when
  // there is a session token, and Authorization.
  std::vector<std::pair<std::string, std::string>> headers;
};

SignedRequest SignV4(const SigningRequest& request, const AwsCredentials& credentials);

// "YYYYMMDDTHHMMSSZ" for a Unix time in seconds.
std::string AmzDate(long long unix_seconds);

}  // namespace herald::channels::ses
