// Against vectors of AWS's published Signature Version 4 test suite
// (credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30
// 12:36:00 UTC, us-east-1, service "service").
#include "channels/ses/sigv4.hpp"

#include <gtest/gtest.h>

namespace herald::channels::ses {
namespace {

const AwsCredentials kSuite{.access_key_id = "AKIDEXAMPLE",
                            .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};

SigningRequest Suite(std::string method) {
  return {.method = std::move(method),
          .headers = {{"Host", "example.amazonaws.com"}},
          .region = "us-east-1",
          .service = "service",
          .amz_date = "20150830T123600Z"};
}

TEST(SigV4, GetVanilla) {
  const auto signed_request = SignV4(Suite("GET"), kSuite);
  EXPECT_EQ(signed_request.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(signed_request.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(signed_request.headers.front(), (std::pair<std::string, std::string>{"X-Amz-Date", "20150830T123600Z"}));
}

TEST(SigV4, GetVanillaQueryOrderKeyCase) {
  auto request = Suite("GET");
  request.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  const auto signed_request = SignV4(request, kSuite);
  EXPECT_NE(signed_request.canonical_request.find("\nParam1=value1&Param2=value2\n"), std::string::npos);
  EXPECT_EQ(signed_request.authorization.substr(signed_request.authorization.size() - 64),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4, GetUtf8PathIsEncodedOnce) {
  auto request = Suite("GET");
  request.path = "/\xE1\x88\xB4";
  EXPECT_EQ(SignV4(request, kSuite).canonical_request.substr(0, 15), "GET\n/%E1%88%B4\n");
}

TEST(SigV4, PostXWwwFormUrlencoded) {
  auto request = Suite("POST");
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.payload = "Param1=value1";
  const auto signed_request = SignV4(request, kSuite);
  EXPECT_EQ(signed_request.canonical_request,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(signed_request.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(signed_request.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4, ASessionTokenIsSentAndSigned) {
  auto credentials = kSuite;
  credentials.session_token = "session-token";
  const auto signed_request = SignV4(Suite("GET"), credentials);
  EXPECT_NE(signed_request.authorization.find("SignedHeaders=host;x-amz-date;x-amz-security-token"), std::string::npos);
  EXPECT_EQ(signed_request.headers[1], (std::pair<std::string, std::string>{"X-Amz-Security-Token", "session-token"}));
  EXPECT_EQ(signed_request.headers.back().first, "Authorization");
}

TEST(SigV4, HeaderValuesAreTrimmedAndRepeatedNamesJoined) {
  auto request = Suite("GET");
  request.headers.emplace_back("My-Header1", "  a   b  ");
  request.headers.emplace_back("my-header1", "c");
  EXPECT_NE(SignV4(request, kSuite).canonical_request.find("\nmy-header1:a b,c\n"), std::string::npos);
}

TEST(AmzDate, IsTheBasicIsoFormInUtc) { EXPECT_EQ(AmzDate(1440938160), "20150830T123600Z"); }

}  // namespace
}  // namespace herald::channels::ses
