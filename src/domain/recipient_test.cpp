#include "domain/recipient.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/text.hpp"

namespace herald::domain {
namespace {

std::string Repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

void ExpectNormalized(Channel channel, std::string_view to, std::string_view expected) {
  const auto result = NormalizeRecipient(channel, to);
  ASSERT_TRUE(result.has_value()) << ToString(channel) << " " << to << ": " << result.error().message;
  EXPECT_EQ(*result, expected) << to;
}

void ExpectRejected(Channel channel, std::string_view to) {
  const auto result = NormalizeRecipient(channel, to);
  ASSERT_FALSE(result.has_value()) << ToString(channel) << " " << to << " was accepted as " << *result;
  EXPECT_EQ(result.error().code, "recipient.invalid");
  EXPECT_TRUE(result.error().message.starts_with(std::string(ToString(channel)) + " recipient "))
      << result.error().message;
}

// --- channels ---

TEST(Channel, ParsesNamesInAnyCase) {
  EXPECT_EQ(ParseChannel("sms"), Channel::kSms);
  EXPECT_EQ(ParseChannel("SMS"), Channel::kSms);
  EXPECT_EQ(ParseChannel("WhatsApp"), Channel::kWhatsapp);
  EXPECT_EQ(ParseChannel("email"), Channel::kEmail);
  EXPECT_EQ(ParseChannel("telegram"), Channel::kTelegram);
  EXPECT_EQ(ParseChannel(""), std::nullopt);
  EXPECT_EQ(ParseChannel("mail"), std::nullopt);
  EXPECT_EQ(ParseChannel("e-mail"), std::nullopt);
  EXPECT_EQ(ParseChannel("sms "), std::nullopt);
}

TEST(Channel, ToStringRoundTrips) {
  for (const auto channel : {Channel::kSms, Channel::kWhatsapp, Channel::kEmail, Channel::kTelegram}) {
    EXPECT_EQ(ParseChannel(ToString(channel)), channel);
  }
  EXPECT_STREQ(ToString(Channel::kWhatsapp), "whatsapp");
}

// --- phone numbers ---

TEST(NormalizeRecipient, SmsAcceptsE164AndDropsSeparators) {
  ExpectNormalized(Channel::kSms, "+14155552671", "+14155552671");
  ExpectNormalized(Channel::kSms, "+1 (415) 555-2671", "+14155552671");
  ExpectNormalized(Channel::kSms, "+44 20.7946.0958", "+442079460958");
  ExpectNormalized(Channel::kSms, "  +4915112345678\t", "+4915112345678");
  ExpectNormalized(Channel::kSms, "+55-11-91234-5678", "+5511912345678");
  ExpectNormalized(Channel::kSms, "+12345678", "+12345678");                // 8 digits
  ExpectNormalized(Channel::kSms, "+123456789012345", "+123456789012345");  // 15 digits
}

TEST(NormalizeRecipient, SmsRejectsWhatIsNotE164) {
  for (const char* to : {"", "   ", "+", "14155552671", "004915112345678", "+1234567", "+1234567890123456",
                         "+0123456789", "++14155552671", "+1 415 555 267a", "+1-415-555-2671 ext 12",
                         "+1/415/555/2671", "+44 20 7946 0958#", "tel:+14155552671", "+１４１５５５５２６７１",
                         "whatsapp:+14155552671", "+4915112345678\n+4915112345679"}) {
    ExpectRejected(Channel::kSms, to);
  }
}

TEST(NormalizeRecipient, PhoneErrorSaysWhatIsExpectedAndWhy) {
  const auto result = NormalizeRecipient(Channel::kSms, "0123");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().message,
            "sms recipient \"0123\" is not an E.164 phone number (+ and 8 to 15 digits): it does not start with +");
  EXPECT_EQ(NormalizeRecipient(Channel::kSms, "+1234567").error().message,
            "sms recipient \"+1234567\" is not an E.164 phone number (+ and 8 to 15 digits): it has 7 digits");
  EXPECT_NE(NormalizeRecipient(Channel::kSms, "+0123456789").error().message.find("do not start with 0"),
            std::string::npos);
  EXPECT_NE(NormalizeRecipient(Channel::kSms, "004915112345678").error().message.find("00 as +"),
            std::string::npos);
  EXPECT_NE(NormalizeRecipient(Channel::kSms, "whatsapp:+14155552671").error().message.find("only whatsapp"),
            std::string::npos);
}

TEST(NormalizeRecipient, WhatsappTakesTheSameNumbersWithOrWithoutPrefix) {
  ExpectNormalized(Channel::kWhatsapp, "+14155552671", "+14155552671");
  ExpectNormalized(Channel::kWhatsapp, "whatsapp:+14155552671", "+14155552671");
  ExpectNormalized(Channel::kWhatsapp, "WhatsApp: +1 (415) 555-2671", "+14155552671");
  ExpectNormalized(Channel::kWhatsapp, " whatsapp:+5511912345678 ", "+5511912345678");
}

TEST(NormalizeRecipient, WhatsappRejectsBadNumbers) {
  for (const char* to : {"", "whatsapp:", "whatsapp:14155552671", "whatsapp:+0123456789", "whatsapp+14155552671",
                         "whatsapp:whatsapp:+14155552671", "sms:+14155552671", "+1234567"}) {
    ExpectRejected(Channel::kWhatsapp, to);
  }
  EXPECT_NE(NormalizeRecipient(Channel::kWhatsapp, "12").error().message.find("whatsapp recipient \"12\""),
            std::string::npos);
}

// --- e-mail ---

TEST(NormalizeRecipient, EmailLowerCasesOnlyTheDomain) {
  ExpectNormalized(Channel::kEmail, "Alice.Smith+tag@Example.COM", "Alice.Smith+tag@example.com");
  ExpectNormalized(Channel::kEmail, " bob@mail.example.org\r\n", "bob@mail.example.org");
  ExpectNormalized(Channel::kEmail, "o'brien@example.ie", "o'brien@example.ie");
  ExpectNormalized(Channel::kEmail, "user_name-1@sub-domain.example.co.uk", "user_name-1@sub-domain.example.co.uk");
  ExpectNormalized(Channel::kEmail, "x@a.io", "x@a.io");
  ExpectNormalized(Channel::kEmail, "john!#$%&*/=?^`{|}~@example.com", "john!#$%&*/=?^`{|}~@example.com");
  ExpectNormalized(Channel::kEmail, "a@xn--bcher-kva.example", "a@xn--bcher-kva.example");
}

TEST(NormalizeRecipient, EmailLengthLimits) {
  const std::string domain = Repeat("a", 63) + "." + Repeat("b", 63) + "." + Repeat("c", 61);  // 189
  const std::string longest = Repeat("l", 64) + "@" + domain;
  ASSERT_EQ(longest.size(), 254u);
  ExpectNormalized(Channel::kEmail, longest, longest);
  ExpectRejected(Channel::kEmail, Repeat("l", 64) + "@" + domain + "c");  // 255
  ExpectRejected(Channel::kEmail, Repeat("l", 65) + "@example.com");
  ExpectRejected(Channel::kEmail, "a@" + Repeat("d", 64) + ".com");  // label over 63
}

TEST(NormalizeRecipient, EmailRejectsWhatIsNotAnAddress) {
  for (const char* to : {"", "plainaddress", "a@b@example.com", "@example.com", "alice@", "alice@localhost",
                         "alice smith@example.com", "alice@exa mple.com", ".alice@example.com", "alice.@example.com",
                         "al..ice@example.com", "alice@-example.com", "alice@example-.com", "alice@example..com",
                         "alice@.example.com", "alice@example.com.", "alice@192.168.0.1", "alice@[127.0.0.1]",
                         "\"alice\"@example.com", "alice(comment)@example.com", "ünïcode@example.com",
                         "alice@exämple.com", "alice\x01@example.com", "alice@example.com\n@evil.com",
                         "alice@exam_ple.com", "Alice <alice@example.com>"}) {
    ExpectRejected(Channel::kEmail, to);
  }
}

TEST(EmailProblem, TheOneCheckAcceptsCommonAddressesAndRejectsBrokenOnes) {
  EXPECT_FALSE(EmailProblem("first.last+tag@sub.example.co.uk"));
  EXPECT_FALSE(EmailProblem("o'brien_x-y@ex-ample.org"));
  const std::string local(64, 'a');
  const std::string long_ok = local + "@" + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                              std::string(57, 'd') + ".org";
  ASSERT_EQ(long_ok.size(), 254u);
  EXPECT_FALSE(EmailProblem(long_ok));
  EXPECT_TRUE(EmailProblem(long_ok + "x"));  // 255 characters
  for (const auto* bad : {"", "no-at.example.org", "a@b@x.org", "@x.org", "a@localhost", "a b@x.org", "a@x..org",
                          ".a@x.org", "a.@x.org", "a@x.org.", "a@-x.org", "a\t@x.org", "a\x01@x.org", "zoë@x.org",
                          "a@münchen.de", "a@x_y.org", "<a@x.org>", "a@192.168.0.1"}) {
    EXPECT_TRUE(EmailProblem(bad)) << bad;
  }
}

TEST(NormalizeRecipient, EmailErrorGivesTheReason) {
  EXPECT_EQ(NormalizeRecipient(Channel::kEmail, "alice@localhost").error().message,
            "email recipient \"alice@localhost\" is not an e-mail address (local-part@domain.tld): "
            "the domain has no dot");
}

// --- telegram ---

TEST(NormalizeRecipient, TelegramAcceptsChatIdsAndUsernames) {
  ExpectNormalized(Channel::kTelegram, "123456789", "123456789");
  ExpectNormalized(Channel::kTelegram, "-1001234567890", "-1001234567890");  // supergroup / channel
  ExpectNormalized(Channel::kTelegram, "-4567", "-4567");                    // basic group
  ExpectNormalized(Channel::kTelegram, "9223372036854775807", "9223372036854775807");
  ExpectNormalized(Channel::kTelegram, "@Durov_Bot1", "@durov_bot1");
  ExpectNormalized(Channel::kTelegram, "@abcde", "@abcde");
  ExpectNormalized(Channel::kTelegram, " @HeraldNews ", "@heraldnews");
  const std::string longest = "@" + Repeat("u", 32);
  ExpectNormalized(Channel::kTelegram, longest, longest);
}

TEST(NormalizeRecipient, TelegramRejectsOtherForms) {
  for (const std::string& to :
       {std::string(""), std::string("0"), std::string("-0"), std::string("0123"), std::string("-"),
        std::string("12a"), std::string("+123456"), std::string("1 234"), std::string("9223372036854775808"),
        std::string("-9223372036854775809"), std::string("@"), std::string("@abcd"), "@" + Repeat("u", 33),
        std::string("@1abcde"), std::string("@_abcde"), std::string("@abc-def"), std::string("@abc def"),
        std::string("@durov@x"), std::string("durov"), std::string("https://t.me/durov"),
        std::string("@дуров_бот")}) {
    ExpectRejected(Channel::kTelegram, to);
  }
  EXPECT_NE(NormalizeRecipient(Channel::kTelegram, "durov").error().message.find("needs a leading @"),
            std::string::npos);
}

// --- messages stay printable whatever the input ---

TEST(NormalizeRecipient, ErrorMessagesAreValidUtf8AndOneLine) {
  const auto bad = NormalizeRecipient(Channel::kEmail, "al\xff\xfe\nice@example.com");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(text::IsValidUtf8(bad.error().message));
  EXPECT_EQ(bad.error().message.find('\n'), std::string::npos);
  EXPECT_NE(bad.error().message.find("\\xff\\xfe\\x0aice"), std::string::npos) << bad.error().message;

  const auto quoted = NormalizeRecipient(Channel::kTelegram, "a\"b");
  EXPECT_NE(quoted.error().message.find("\"a\\\"b\""), std::string::npos) << quoted.error().message;

  const auto unicode = NormalizeRecipient(Channel::kEmail, "jürgen@example.com");
  EXPECT_NE(unicode.error().message.find("\"jürgen@example.com\""), std::string::npos);

  const auto long_value = NormalizeRecipient(Channel::kSms, Repeat("ж", 500));
  EXPECT_NE(long_value.error().message.find(Repeat("ж", 64) + "...\""), std::string::npos);
  EXPECT_LT(long_value.error().message.size(), 300u);
}

// --- SMS segments ---

TEST(CountSmsSegments, EmptyTextHasNoSegments) {
  const auto count = CountSmsSegments("");
  EXPECT_EQ(count.encoding, "GSM-7");
  EXPECT_EQ(count.characters, 0);
  EXPECT_EQ(count.segments, 0);
}

TEST(CountSmsSegments, Gsm7SingleAndMultipartBoundaries) {
  const struct {
    int length;
    int segments;
  } cases[] = {{1, 1}, {160, 1}, {161, 2}, {306, 2}, {307, 3}, {459, 3}, {460, 4}, {1530, 10}, {1531, 11}};
  for (const auto& c : cases) {
    const auto count = CountSmsSegments(Repeat("a", c.length));
    EXPECT_EQ(count.encoding, "GSM-7");
    EXPECT_EQ(count.characters, c.length);
    EXPECT_EQ(count.segments, c.segments) << c.length << " characters";
  }
}

TEST(CountSmsSegments, ExtensionCharactersTakeTwoSeptets) {
  for (const char* ch : {"€", "[", "]", "{", "}", "\\", "^", "~", "|", "\f"}) {
    const auto count = CountSmsSegments(ch);
    EXPECT_EQ(count.encoding, "GSM-7") << ch;
    EXPECT_EQ(count.characters, 2) << ch;
  }
  EXPECT_EQ(CountSmsSegments("Total: 5€ [paid]").characters, 19);
  EXPECT_EQ(CountSmsSegments(Repeat("€", 80)).segments, 1);  // 160 septets
  const auto over = CountSmsSegments(Repeat("€", 80) + "a");
  EXPECT_EQ(over.characters, 161);
  EXPECT_EQ(over.segments, 2);
  EXPECT_EQ(CountSmsSegments(Repeat("a", 159) + "€").segments, 2);  // 161 septets
}

TEST(CountSmsSegments, EscapePairIsNotSplitAcrossSegments) {
  // 306 septets would fit two 153-septet parts, but the euro sign cannot start
  // in the last septet of the first one.
  const auto count = CountSmsSegments(Repeat("a", 152) + "€" + Repeat("a", 152));
  EXPECT_EQ(count.characters, 306);
  EXPECT_EQ(count.segments, 3);
  EXPECT_EQ(CountSmsSegments(Repeat("a", 151) + "€" + Repeat("a", 153)).segments, 2);
}

TEST(CountSmsSegments, WholeGsmBasicSetStaysGsm7) {
  const std::string basic =
      "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
      "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const auto count = CountSmsSegments(basic);
  EXPECT_EQ(count.encoding, "GSM-7");
  EXPECT_EQ(count.characters, 127);  // the 128 positions but the escape
  EXPECT_EQ(count.segments, 1);
}

TEST(CountSmsSegments, AnyCharacterOutsideGsmSwitchesToUcs2) {
  for (const char* text : {"ç", "`", "\t", "ж", "Ā", "’", "…", "\xe2\x80\x8b", "€ and ê", "\xff"}) {
    EXPECT_EQ(CountSmsSegments(text).encoding, "UCS-2") << text;
  }
  // One such character changes how everything else is counted.
  const auto count = CountSmsSegments(Repeat("a", 159) + "ж");
  EXPECT_EQ(count.encoding, "UCS-2");
  EXPECT_EQ(count.characters, 160);
  EXPECT_EQ(count.segments, 3);
}

TEST(CountSmsSegments, Ucs2SingleAndMultipartBoundaries) {
  const struct {
    int length;
    int segments;
  } cases[] = {{1, 1}, {70, 1}, {71, 2}, {134, 2}, {135, 3}, {670, 10}, {671, 11}};
  for (const auto& c : cases) {
    const auto count = CountSmsSegments(Repeat("ж", c.length));
    EXPECT_EQ(count.encoding, "UCS-2");
    EXPECT_EQ(count.characters, c.length);
    EXPECT_EQ(count.segments, c.segments) << c.length << " characters";
  }
}

TEST(CountSmsSegments, EmojiOutsideTheBmpCountAsTwo) {
  const auto one = CountSmsSegments("😀");
  EXPECT_EQ(one.encoding, "UCS-2");
  EXPECT_EQ(one.characters, 2);
  EXPECT_EQ(one.segments, 1);
  EXPECT_EQ(CountSmsSegments(Repeat("😀", 35)).segments, 1);  // 70 units
  const auto over = CountSmsSegments(Repeat("😀", 35) + "a");
  EXPECT_EQ(over.characters, 71);
  EXPECT_EQ(over.segments, 2);
  EXPECT_EQ(CountSmsSegments("Hi 👋🏽").characters, 7);  // waving hand + skin tone: 2 + 2
}

TEST(CountSmsSegments, SurrogatePairIsNotSplitAcrossSegments) {
  const auto count = CountSmsSegments(Repeat("ж", 66) + "😀" + Repeat("ж", 66));
  EXPECT_EQ(count.characters, 134);
  EXPECT_EQ(count.segments, 3);
  EXPECT_EQ(CountSmsSegments(Repeat("ж", 65) + "😀" + Repeat("ж", 67)).segments, 2);
}

// --- content ---

void ExpectContentError(const Result<void>& result, std::string_view code, std::string_view field) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, code);
  EXPECT_NE(result.error().message.find(field), std::string::npos) << result.error().message;
}

TEST(ValidateContent, AcceptsOrdinaryMessagesOnEveryChannel) {
  EXPECT_TRUE(ValidateContent(Channel::kSms, "", "Your code is 123456").has_value());
  EXPECT_TRUE(ValidateContent(Channel::kWhatsapp, "", "Olá! Seu pedido saiu 🚚").has_value());
  EXPECT_TRUE(ValidateContent(Channel::kTelegram, "", "Build *green*\nall 42 tests").has_value());
  EXPECT_TRUE(ValidateContent(Channel::kEmail, "Your certificate\tis ready", "<p>Hello</p>").has_value());
  EXPECT_TRUE(ValidateContent(Channel::kEmail, "", "no subject is allowed").has_value());
}

TEST(ValidateContent, BodyMustHoldTextInValidUtf8) {
  for (const auto channel : {Channel::kSms, Channel::kWhatsapp, Channel::kEmail, Channel::kTelegram}) {
    ExpectContentError(ValidateContent(channel, "", ""), "content.invalid", "body is empty");
    ExpectContentError(ValidateContent(channel, "", " \n\t "), "content.invalid", "body is empty");
    ExpectContentError(ValidateContent(channel, "", "caf\xe9"), "content.invalid", "body is not valid UTF-8");
    ExpectContentError(ValidateContent(channel, "", std::string("a\0b", 3)), "content.invalid", "NUL");
    ExpectContentError(ValidateContent(channel, "caf\xe9", "hello"), "content.invalid", "subject");
  }
  EXPECT_EQ(ValidateContent(Channel::kTelegram, "", "").error().message, "telegram body is empty");
}

TEST(ValidateContent, SmsIsLimitedInSegments) {
  EXPECT_TRUE(ValidateContent(Channel::kSms, "", Repeat("a", 1530)).has_value());
  const auto gsm = ValidateContent(Channel::kSms, "", Repeat("a", 1531));
  ExpectContentError(gsm, "content.too_long", "sms body");
  EXPECT_EQ(gsm.error().message, "sms body needs 11 segments (GSM-7, 1531 characters); at most 10 are allowed");
  EXPECT_TRUE(ValidateContent(Channel::kSms, "", Repeat("ж", 670)).has_value());
  ExpectContentError(ValidateContent(Channel::kSms, "", Repeat("ж", 671)), "content.too_long", "UCS-2");

  ContentLimits one_part;
  one_part.max_sms_segments = 1;
  EXPECT_TRUE(ValidateContent(Channel::kSms, "", Repeat("a", 160), one_part).has_value());
  ExpectContentError(ValidateContent(Channel::kSms, "", Repeat("a", 161), one_part), "content.too_long", "body");
}

TEST(ValidateContent, SubjectIsIgnoredOutsideEmail) {
  EXPECT_TRUE(ValidateContent(Channel::kSms, "line\r\nbreak", "hello").has_value());
  EXPECT_TRUE(ValidateContent(Channel::kTelegram, Repeat("s", 5000), "hello").has_value());
}

TEST(ValidateContent, TelegramAndWhatsappCountUtf16Units) {
  for (const auto channel : {Channel::kTelegram, Channel::kWhatsapp}) {
    EXPECT_TRUE(ValidateContent(channel, "", Repeat("a", 4096)).has_value());
    ExpectContentError(ValidateContent(channel, "", Repeat("a", 4097)), "content.too_long", "body is 4097 characters");
    EXPECT_TRUE(ValidateContent(channel, "", Repeat("ж", 4096)).has_value());  // 8192 bytes
    EXPECT_TRUE(ValidateContent(channel, "", Repeat("😀", 2048)).has_value());
    ExpectContentError(ValidateContent(channel, "", Repeat("😀", 2049)), "content.too_long", "4098 characters");
  }
  EXPECT_EQ(ValidateContent(Channel::kWhatsapp, "", Repeat("a", 4097)).error().message,
            "whatsapp body is 4097 characters long; at most 4096 are allowed");
}

TEST(ValidateContent, EmailSubjectIsOneHeaderLine) {
  ExpectContentError(ValidateContent(Channel::kEmail, "Hi\r\nBcc: all@example.com", "x"), "content.invalid",
                     "email subject contains a line break");
  ExpectContentError(ValidateContent(Channel::kEmail, "Hi\nthere", "x"), "content.invalid", "subject");
  ExpectContentError(ValidateContent(Channel::kEmail, "Hi\rthere", "x"), "content.invalid", "subject");
  ExpectContentError(ValidateContent(Channel::kEmail, "bell\x07", "x"), "content.invalid", "subject");
  EXPECT_TRUE(ValidateContent(Channel::kEmail, Repeat("s", 998), "x").has_value());
  ExpectContentError(ValidateContent(Channel::kEmail, Repeat("s", 999), "x"), "content.too_long", "subject");
}

TEST(ValidateContent, EmailBodyHasASizeLimit) {
  EXPECT_TRUE(ValidateContent(Channel::kEmail, "s", std::string(kMaxEmailBodyBytes, 'x')).has_value());
  ExpectContentError(ValidateContent(Channel::kEmail, "s", std::string(kMaxEmailBodyBytes + 1, 'x')),
                     "content.too_long", "email body");
}

}  // namespace
}  // namespace herald::domain
