#include "mime/header_writer.hpp"

#include <glib.h>
#include <gtest/gtest.h>

#include "common/text.hpp"

namespace herald::mime {
namespace {

std::vector<std::string> Lines(const std::string& field) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < field.size()) {
    const auto end = field.find("\r\n", start);
    lines.push_back(field.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

std::string Written(const std::function<void(HeaderWriter&)>& write, std::string_view name = "Subject") {
  std::string out;
  HeaderWriter header(out, name);
  write(header);
  header.Finish();
  return out;
}

// Decodes one "=?utf-8?b?...?=" or "=?utf-8?q?...?=" word on its own.
std::string DecodeWord(std::string_view word) {
  EXPECT_EQ(word.substr(0, 8), "=?utf-8?");
  EXPECT_EQ(word.substr(word.size() - 2), "?=");
  const std::string payload(word.substr(10, word.size() - 12));
  if (word[8] == 'b') {
    gsize length = 0;
    guchar* bytes = g_base64_decode(payload.c_str(), &length);
    std::string out(reinterpret_cast<char*>(bytes), length);
    g_free(bytes);
    return out;
  }
  std::string out;
  for (size_t i = 0; i < payload.size(); ++i) {
    if (payload[i] == '_') {
      out += ' ';
    } else if (payload[i] == '=') {
      out += static_cast<char>(std::stoi(payload.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += payload[i];
    }
  }
  return out;
}

// Every word is at most 75 characters, decodes to whole UTF-8 characters on its
// own, and the words together give back the text.
void ExpectEncodedWordsOf(const std::string& encoded, const std::string& text) {
  std::string joined;
  size_t start = 0;
  while (start < encoded.size()) {
    const auto word_start = encoded.find("=?", start);
    if (word_start == std::string::npos) break;
    const auto word_end = encoded.find("?=", word_start + 10) + 2;
    const auto word = encoded.substr(word_start, word_end - word_start);
    EXPECT_LE(word.size(), HeaderWriter::kEncodedWordLimit) << word;
    const auto decoded = DecodeWord(word);
    EXPECT_TRUE(text::IsValidUtf8(decoded)) << word;
    joined += decoded;
    start = word_end;
  }
  EXPECT_EQ(joined, text);
}

TEST(HeaderWriter, PlainAsciiIsFoldedAtSpacesAndUnfoldsToTheSameText) {
  const std::string subject = "Your certificate of attendance for the Annual International Conference on Very "
                              "Long Event Names, held in Lisbon  (with a double space) and more words to fold";
  const auto field = Written([&](HeaderWriter& h) { h.AppendUnstructured(subject); });
  const auto lines = Lines(field);
  ASSERT_GT(lines.size(), 1u);
  std::string unfolded;
  for (const auto& line : lines) {
    EXPECT_LE(line.size(), HeaderWriter::kLineLimit) << line;
    unfolded += line;
  }
  EXPECT_EQ(unfolded, "Subject: " + subject);
  EXPECT_EQ(field.find("=?"), std::string::npos);
}

TEST(HeaderWriter, TextThatFoldingCannotKeepIsEncoded) {
  for (const std::string subject : {std::string(" leading"), std::string("trailing "), std::string("a =?x?= b"),
                                    std::string("tab\there"), std::string(90, 'w'), std::string("Zoë")}) {
    const auto field = Written([&](HeaderWriter& h) { h.AppendUnstructured(subject); });
    for (const auto& line : Lines(field)) EXPECT_LE(line.size(), HeaderWriter::kLineLimit) << line;
    ExpectEncodedWordsOf(field, subject);
  }
}

TEST(HeaderWriter, EncodedWordsSplitBetweenCharactersAndFitTheirLines) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "Zoë 参加証明書 😀 Сертификат ";
  const auto field = Written([&](HeaderWriter& h) { h.AppendEncodedWords(text); }, "X-A-Rather-Long-Header-Name");
  for (const auto& line : Lines(field)) EXPECT_LE(line.size(), HeaderWriter::kLineLimit) << line;
  ExpectEncodedWordsOf(field, text);
}

TEST(HeaderWriter, Base64WordsBeforeTheLastCarryNoPadding) {
  // After "ë" every 3-byte character keeps the length at 1 mod 3: such a word
  // must be written in Q form, since a padded base64 word cuts GMime's decoding short.
  std::string text = "Zoë";
  for (int i = 0; i < 40; ++i) text += "参";
  const auto encoded = EncodeHeaderWord(text);
  ExpectEncodedWordsOf(encoded, text);
  EXPECT_NE(encoded.find("=?utf-8?q?Zo=C3=AB"), std::string::npos) << encoded;
  const auto last_word = encoded.rfind("=?");
  EXPECT_EQ(encoded.substr(0, last_word).find("=?="), std::string::npos) << encoded;
  EXPECT_EQ(encoded.substr(0, last_word).find("==?="), std::string::npos) << encoded;
}

TEST(HeaderWriter, DisplayNamesAreAtomsQuotedOrEncoded) {
  const auto phrase = [](const std::string& name) {
    return Written([&](HeaderWriter& h) { h.AppendPhrase(name); }, "From");
  };
  EXPECT_EQ(phrase("Ada Lovelace"), "From: Ada Lovelace\r\n");
  EXPECT_EQ(phrase("Doe, John"), "From: \"Doe, John\"\r\n");
  EXPECT_EQ(phrase("Dr. \"Who\" \\o/"), "From: \"Dr. \\\"Who\\\" \\\\o/\"\r\n");
  EXPECT_EQ(phrase("Ada  Lovelace"), "From: \"Ada  Lovelace\"\r\n");
  EXPECT_EQ(phrase("Алексей"), "From: =?utf-8?b?0JDQu9C10LrRgdC10Lk=?=\r\n");
  EXPECT_EQ(phrase("=?utf-8?b?eA==?="), "From: =?utf-8?b?PT91dGYtOD9iP2VBPT0/PQ==?=\r\n");
}

TEST(HeaderWriter, AddressesFoldBetweenMailboxesNotInside) {
  const auto field = Written(
      [](HeaderWriter& h) {
        for (int i = 0; i < 8; ++i) {
          if (i > 0) h.AppendRaw(",");
          h.AppendPhrase("Recipient " + std::to_string(i));
          h.AppendAddress("recipient" + std::to_string(i) + "@example.org", true);
        }
      },
      "To");
  const auto lines = Lines(field);
  ASSERT_GT(lines.size(), 2u);
  for (const auto& line : lines) {
    EXPECT_LE(line.size(), HeaderWriter::kLineLimit) << line;
    EXPECT_EQ(std::count(line.begin(), line.end(), '<'), std::count(line.begin(), line.end(), '>')) << line;
  }
}

TEST(HeaderWriter, EncodeHeaderWordLeavesPlainTextAlone) {
  EXPECT_EQ(EncodeHeaderWord("plain text"), "plain text");
  EXPECT_EQ(EncodeHeaderWord(""), "");
  const std::string text = std::string(60, 'x') + "é" + std::string(80, 'z');
  const auto encoded = EncodeHeaderWord(text);
  ExpectEncodedWordsOf(encoded, text);
  EXPECT_NE(encoded.find("?=\r\n =?"), std::string::npos);
}

}  // namespace
}  // namespace herald::mime
