#include "tracking/webhook_signatures.hpp"

#include <gtest/gtest.h>

#include "tracking/test_signers.hpp"

namespace herald::tracking {
namespace {

// Twilio's own example (its security documentation and every Twilio SDK's tests).
const std::string kTwilioUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const std::vector<std::pair<std::string, std::string>> kTwilioParams{
    {"To", "+18005551212"}, {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+14158675309"},
    {"Digits", "1234"},     {"From", "+14158675309"}};

TEST(TwilioSignature, MatchesTwilioPublishedExampleWhateverOrderTheParametersCameIn) {
  EXPECT_EQ(TwilioSignature("12345", kTwilioUrl, kTwilioParams), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  EXPECT_TRUE(TwilioSignatureValid("12345", kTwilioUrl, kTwilioParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  // A repeated pair is signed once, values sorted (the SDKs' second vector).
  EXPECT_EQ(TwilioSignature("12345", kTwilioUrl,
                            {{"Sid", "CA123"}, {"SidAccount", "AC123"}, {"Digits", "5678"}, {"Digits", "1234"},
                             {"Digits", "1234"}}),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
}

TEST(TwilioSignature, AnyChangeToTokenUrlOrParametersIsRefused) {
  const std::string good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
  EXPECT_FALSE(TwilioSignatureValid("54321", kTwilioUrl, kTwilioParams, good));
  EXPECT_FALSE(TwilioSignatureValid("12345", kTwilioUrl + "&extra=1", kTwilioParams, good));
  auto changed = kTwilioParams;
  changed[3].second = "9999";
  EXPECT_FALSE(TwilioSignatureValid("12345", kTwilioUrl, changed, good));
  EXPECT_FALSE(TwilioSignatureValid("12345", kTwilioUrl, kTwilioParams, ""));
  EXPECT_FALSE(TwilioSignatureValid("", kTwilioUrl, kTwilioParams, TwilioSignature("", kTwilioUrl, kTwilioParams)))
      << "no auth token configured verifies nothing";
}

// SendGrid's published Event Webhook example (its SDKs' tests).
const std::string kSendGridKey =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/"
    "1FwCM/QmGUhA==";
const std::string kSendGridPayload = R"({"category":"example_payload","event":"test_event","message_id":"message_id"})";
const std::string kSendGridSignature =
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";

TEST(SendGridSignature, VerifiesSendGridsPublishedExample) {
  EXPECT_TRUE(SendGridSignatureValid(kSendGridKey, "1588788367", kSendGridPayload, kSendGridSignature));
  EXPECT_EQ(SendGridKeyProblem(kSendGridKey), std::nullopt);
}

TEST(SendGridSignature, RefusesAnotherKeyPayloadTimestampOrSignature) {
  const std::string other_key =
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/"
      "R1NGe1OPzpA==";
  EXPECT_FALSE(SendGridSignatureValid(other_key, "1588788367", kSendGridPayload, kSendGridSignature));
  EXPECT_FALSE(SendGridSignatureValid(kSendGridKey, "1588788367", kSendGridPayload + " ", kSendGridSignature));
  EXPECT_FALSE(SendGridSignatureValid(kSendGridKey, "1388788367", kSendGridPayload, kSendGridSignature));
  auto flipped = kSendGridSignature;
  flipped[flipped.size() - 4] = flipped[flipped.size() - 4] == '2' ? '3' : '2';
  EXPECT_FALSE(SendGridSignatureValid(kSendGridKey, "1588788367", kSendGridPayload, flipped));
  EXPECT_FALSE(SendGridSignatureValid(kSendGridKey, "1588788367", kSendGridPayload, "not base64!"));
  EXPECT_FALSE(SendGridSignatureValid("garbage", "1588788367", kSendGridPayload, kSendGridSignature));
  EXPECT_NE(SendGridKeyProblem("garbage!"), std::nullopt);
  EXPECT_NE(SendGridKeyProblem("AAAA"), std::nullopt);
}

using testing::MakeCertificate;
using testing::Sign;

SnsMessage Notification() {
  SnsMessage m;
  m.type = "Notification";
  m.message_id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324";
  m.topic_arn = "arn:aws:sns:us-west-2:123456789012:MyTopic";
  m.subject = "My First Message";
  m.message = "Hello world!";
  m.timestamp = "2012-05-02T00:54:06.655Z";
  m.signature_version = "1";
  m.signing_cert_url = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem";
  return m;
}

TEST(SnsSignature, TheStringToSignListsTheFieldsOfEachTypeInOrder) {
  auto m = Notification();
  EXPECT_EQ(SnsStringToSign(m),
            "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nMy First Message\n"
            "Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
            "Type\nNotification\n");
  m.subject.reset();
  EXPECT_EQ(SnsStringToSign(m).find("Subject"), std::string::npos) << "a notification without Subject signs none";
  m.type = "SubscriptionConfirmation";
  m.subscribe_url = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=abc";
  m.token = "abc";
  EXPECT_EQ(SnsStringToSign(m),
            "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
            "SubscribeURL\nhttps://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=abc\n"
            "Timestamp\n2012-05-02T00:54:06.655Z\nToken\nabc\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
            "Type\nSubscriptionConfirmation\n");
}

TEST(SnsSignature, VersionsOneAndTwoVerifyAndAnyChangedFieldIsRefused) {
  const auto certificate = MakeCertificate();
  auto m = Notification();
  m.signature = Sign(certificate.key.get(), EVP_sha1(), SnsStringToSign(m));
  EXPECT_TRUE(SnsSignatureValid(m, certificate.pem));
  auto v2 = m;
  v2.signature_version = "2";
  EXPECT_FALSE(SnsSignatureValid(v2, certificate.pem)) << "a SHA1 signature is not a SHA256 one";
  v2.signature = Sign(certificate.key.get(), EVP_sha256(), SnsStringToSign(v2));
  EXPECT_TRUE(SnsSignatureValid(v2, certificate.pem));

  auto changed = m;
  changed.message = "Hello world?";
  EXPECT_FALSE(SnsSignatureValid(changed, certificate.pem));
  changed = m;
  changed.topic_arn += "2";
  EXPECT_FALSE(SnsSignatureValid(changed, certificate.pem));
  changed = m;
  changed.signature_version = "3";
  EXPECT_FALSE(SnsSignatureValid(changed, certificate.pem));
  EXPECT_FALSE(SnsSignatureValid(m, MakeCertificate().pem)) << "another certificate";
  EXPECT_FALSE(SnsSignatureValid(m, "not a certificate"));
}

TEST(Base64, RoundTripsEveryPaddingAndRefusesWhatIsNotBase64) {
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(text)), text);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Decode("Zg=="), "f");
  EXPECT_EQ(Base64Decode("Zg="), std::nullopt);
  EXPECT_EQ(Base64Decode("Z!=="), std::nullopt);
}

}  // namespace
}  // namespace herald::tracking
