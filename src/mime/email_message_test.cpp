#include "mime/email_message.hpp"

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace herald::mime {
namespace {

using nlohmann::json;

std::string AllBytes() {
  std::string data;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  }
  return data;
}

EmailContent Sample() {
  EmailContent c;
  c.from = {"Events Team", "events@example.org"};
  c.to = {{"Ada Lovelace", "ada@example.org"}};
  c.subject = "Your certificate";
  c.text_body = "Dear Ada,\n\nthank you.\n.leading dot line\n";
  c.date = std::chrono::system_clock::from_time_t(1795000000);
  c.message_id = MakeMessageId("abc123", "example.org");
  return c;
}

// Parses with GMime and returns the message (caller unrefs).
GMimeMessage* ParseWithGMime(const std::string& raw) {
  static const bool initialised = [] {
    g_mime_init();
    return true;
  }();
  (void)initialised;
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(raw.data(), raw.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* message = g_mime_parser_construct_message(parser, nullptr);
  g_object_unref(parser);
  g_object_unref(stream);
  return message;
}

struct GMimeAttachment {
  std::string filename;
  std::string data;
};

std::vector<GMimeAttachment> AttachmentsOf(GMimeMessage* message) {
  std::vector<GMimeAttachment> out;
  GMimePartIter* iter = g_mime_part_iter_new(reinterpret_cast<GMimeObject*>(message));
  do {
    GMimeObject* current = g_mime_part_iter_get_current(iter);
    if (current && GMIME_IS_PART(current) && g_mime_part_is_attachment(GMIME_PART(current))) {
      GMimePart* part = GMIME_PART(current);
      GMimeDataWrapper* content = g_mime_part_get_content(part);
      GMimeStream* mem = g_mime_stream_mem_new();
      g_mime_data_wrapper_write_to_stream(content, mem);
      GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
      const char* name = g_mime_part_get_filename(part);
      out.push_back({name ? name : "", std::string(reinterpret_cast<char*>(bytes->data), bytes->len)});
      g_object_unref(mem);
    }
  } while (g_mime_part_iter_next(iter));
  g_mime_part_iter_free(iter);
  return out;
}

json InspectWithPython(const std::string& raw) {
  herald::testing::TempDir dir;
  const auto path = dir.path() + "/m.eml";
  herald::testing::WriteFile(path, raw);
  const auto result = herald::testing::RunCommand(
      {HERALD_PYTHON, std::string(HERALD_SOURCE_DIR) + "/tests/support/mail_inspect.py", path}, std::chrono::seconds(30));
  EXPECT_EQ(result.exit_code, 0);
  return json::parse(result.output).at(0);
}

void ExpectWellFormedLines(const std::string& raw) {
  size_t start = 0;
  while (start < raw.size()) {
    const auto end = raw.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "message does not end with CRLF";
    const auto line = raw.substr(start, end - start);
    EXPECT_LE(line.size(), 998u);
    EXPECT_EQ(line.find('\r'), std::string::npos);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    start = end + 2;
  }
}

TEST(EmailMessage, TextOnlyMessageParsesBackExactly) {
  const auto raw = BuildMessage(Sample());
  ASSERT_TRUE(raw) << raw.error().message;
  ExpectWellFormedLines(*raw);
  const auto parsed = InspectWithPython(*raw);
  EXPECT_TRUE(parsed["defects"].empty()) << parsed.dump();
  EXPECT_EQ(parsed["subject"], "Your certificate");
  EXPECT_EQ(parsed["from"], "Events Team <events@example.org>");
  EXPECT_EQ(parsed["to"], "Ada Lovelace <ada@example.org>");
  EXPECT_EQ(parsed["message_id"], "<abc123@example.org>");
  EXPECT_EQ(parsed["text"], "Dear Ada,\n\nthank you.\n.leading dot line\n");
}

TEST(EmailMessage, InternationalHeadersAndAttachmentsSurviveBothParsers) {
  auto content = Sample();
  content.from.display_name = "Équipe \"Événements\"";
  content.to = {{"Алексей Смирнов", "alexey@example.org"}, {"王小明 😀", "wang@example.org"}};
  content.subject = "Сертификат участника — 参加証明書 😀 for the very long event name that needs folding across lines";
  content.html_body = "<p>Dear <b>Алексей</b></p>";
  content.attachments.push_back({"сертификат-王.pdf", "application/pdf", AllBytes()});
  content.attachments.push_back({"plain \"quoted\".txt", "text/plain", "hello\r\n"});
  const auto raw = BuildMessage(content);
  ASSERT_TRUE(raw) << raw.error().message;
  ExpectWellFormedLines(*raw);

  const auto py = InspectWithPython(*raw);
  EXPECT_TRUE(py["defects"].empty()) << py.dump();
  EXPECT_FALSE(py["bare_lf"].get<bool>());
  EXPECT_EQ(py["subject"], content.subject);
  EXPECT_EQ(py["from"], "\"Équipe \\\"Événements\\\"\" <events@example.org>");
  EXPECT_NE(py["to"].get<std::string>().find("Алексей Смирнов <alexey@example.org>"), std::string::npos);
  EXPECT_NE(py["to"].get<std::string>().find("王小明 😀 <wang@example.org>"), std::string::npos);
  ASSERT_EQ(py["attachments"].size(), 2u);
  EXPECT_EQ(py["attachments"][0]["filename"], "сертификат-王.pdf");
  EXPECT_EQ(py["attachments"][0]["size"], AllBytes().size());
  EXPECT_EQ(py["attachments"][1]["filename"], "plain \"quoted\".txt");

  GMimeMessage* message = ParseWithGMime(*raw);
  ASSERT_NE(message, nullptr);
  EXPECT_EQ(std::string(g_mime_message_get_subject(message)), content.subject);
  const auto attachments = AttachmentsOf(message);
  ASSERT_EQ(attachments.size(), 2u);
  EXPECT_EQ(attachments[0].filename, "сертификат-王.pdf");
  EXPECT_EQ(attachments[0].data, AllBytes());
  EXPECT_EQ(attachments[1].data, "hello\r\n");
  g_object_unref(message);
}

TEST(EmailMessage, LongTextLinesAreWrappedAndRestoredExactly) {
  auto content = Sample();
  content.text_body = std::string(3000, 'x') + " = trailing space \n" + std::string(200, 'y') + "\n";
  const auto raw = BuildMessage(content);
  ASSERT_TRUE(raw);
  ExpectWellFormedLines(*raw);
  const auto py = InspectWithPython(*raw);
  EXPECT_EQ(py["text"], content.text_body);
}

TEST(EmailMessage, LineBreaksInAnyHeaderInputAreRejectedNamingTheField) {
  const std::vector<std::pair<std::string, std::function<void(EmailContent&)>>> cases = {
      {"subject", [](EmailContent& c) { c.subject = "Hi\r\nBcc: victim@example.org"; }},
      {"to name", [](EmailContent& c) { c.to[0].display_name = "Ada\nBcc: x@example.org"; }},
      {"to address", [](EmailContent& c) { c.to[0].address = "ada@example.org\r\nBcc: x@example.org"; }},
      {"from name", [](EmailContent& c) { c.from.display_name = "Team\r"; }},
      {"attachment filename", [](EmailContent& c) { c.attachments.push_back({"a\r\nb.pdf", "application/pdf", "x"}); }},
  };
  for (const auto& [field, mutate] : cases) {
    auto content = Sample();
    mutate(content);
    const auto raw = BuildMessage(content);
    ASSERT_FALSE(raw) << field;
    EXPECT_NE(raw.error().message.find(field), std::string::npos) << raw.error().message;
  }
}

TEST(EmailMessage, InvalidAddressesAreRejected) {
  auto content = Sample();
  content.to[0].address = "not an address";
  EXPECT_FALSE(BuildMessage(content));
  content.to[0].address = "a@b@c";
  EXPECT_FALSE(BuildMessage(content));
}

TEST(EmailMessage, EncodedWordsStayWithinTheirLimit) {
  const auto encoded = EncodeHeaderText(std::string(60, 'x') + "é" + std::string(80, 'z'));
  size_t start = 0;
  while (start < encoded.size()) {
    auto end = encoded.find("\r\n ", start);
    if (end == std::string::npos) end = encoded.size();
    EXPECT_LE(end - start, 75u);
    start = end + 3;
  }
  EXPECT_EQ(EncodeHeaderText("plain"), "plain");
}

}  // namespace
}  // namespace herald::mime
