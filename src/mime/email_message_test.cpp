#include "mime/email_message.hpp"

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace herald::mime {
namespace {

using nlohmann::json;

// What a parser nobody here wrote says the message contains.
struct Parsed {
  std::string subject;
  Mailbox from;
  std::vector<Mailbox> to;
  std::string message_id;
  long long date = 0;
  std::optional<std::string> text;  // decoded bytes
  std::optional<std::string> html;
  std::vector<Attachment> attachments;  // filename, content type, decoded bytes
  std::vector<std::string> problems;    // parser defects or warnings
};

// Python's email package with the modern policy; one interpreter for many files.
constexpr char kPythonInspector[] = R"(
import email, email.policy, json, sys
out = []
for path in sys.argv[1:]:
    raw = open(path, 'rb').read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    problems, atts, text, html = [], [], None, None
    for part in m.walk():
        problems += [type(d).__name__ for d in part.defects]
        for name, value in part.items():
            problems += [name + ':' + type(d).__name__ for d in getattr(value, 'defects', [])]
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True) or b''
        if part.get_content_disposition() == 'attachment':
            atts.append({'filename': part.get_filename() or '', 'type': part.get_content_type(), 'hex': data.hex()})
        elif part.get_content_type() == 'text/plain' and text is None:
            text = data.hex()
        elif part.get_content_type() == 'text/html' and html is None:
            html = data.hex()
    mb = lambda a: [a.display_name, a.addr_spec]
    out.append({'subject': str(m['Subject']), 'from': mb(m['From'].addresses[0]),
                'to': [mb(a) for a in m['To'].addresses], 'message_id': str(m['Message-ID']),
                'date': int(m['Date'].datetime.timestamp()), 'text': text, 'html': html,
                'attachments': atts, 'problems': problems,
                'headers': {k: str(v) for k, v in m.items()}})
json.dump(out, sys.stdout, ensure_ascii=False)
)";

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::vector<json> InspectWithPython(const std::vector<std::string>& messages) {
  herald::testing::TempDir dir;
  std::vector<std::string> argv = {HERALD_PYTHON, "-c", kPythonInspector};
  for (size_t i = 0; i < messages.size(); ++i) {
    argv.push_back(dir.path() + "/m" + std::to_string(i) + ".eml");
    herald::testing::WriteFile(argv.back(), messages[i]);
  }
  const auto result = herald::testing::RunCommand(argv, std::chrono::seconds(60));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  if (result.exit_code != 0) return {};
  return json::parse(result.output).get<std::vector<json>>();
}

Parsed FromPython(const json& j) {
  Parsed p;
  p.subject = j["subject"];
  p.from = {j["from"][0], j["from"][1]};
  for (const auto& t : j["to"]) p.to.push_back({t[0], t[1]});
  p.message_id = j["message_id"];
  p.date = j["date"];
  if (!j["text"].is_null()) p.text = FromHex(j["text"]);
  if (!j["html"].is_null()) p.html = FromHex(j["html"]);
  for (const auto& a : j["attachments"]) p.attachments.push_back({a["filename"], a["type"], FromHex(a["hex"])});
  p.problems = j["problems"].get<std::vector<std::string>>();
  return p;
}

void OnGMimeWarning(gint64 offset, GMimeParserWarning code, const gchar* item, gpointer user_data) {
  static_cast<std::vector<std::string>*>(user_data)->push_back("gmime warning " + std::to_string(code) + " at " +
                                                                std::to_string(offset) + ": " + (item ? item : ""));
}

std::string Decoded(GMimePart* part) {
  GMimeStream* mem = g_mime_stream_mem_new();
  g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(part), mem);
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
  std::string data(reinterpret_cast<const char*>(bytes->data), bytes->len);
  g_object_unref(mem);
  return data;
}

Mailbox MailboxAt(InternetAddressList* list, int index) {
  InternetAddress* address = internet_address_list_get_address(list, index);
  const char* name = internet_address_get_name(address);
  return {name ? name : "", internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address))};
}

Parsed InspectWithGMime(const std::string& raw) {
  static const bool initialised = [] {
    g_mime_init();
    return true;
  }();
  (void)initialised;
  Parsed p;
  GMimeParserOptions* options = g_mime_parser_options_new();
  g_mime_parser_options_set_warning_callback(options, OnGMimeWarning, &p.problems);
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(raw.data(), raw.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* message = g_mime_parser_construct_message(parser, options);
  if (message == nullptr) {
    p.problems.push_back("gmime could not parse the message");
  } else {
    const char* subject = g_mime_message_get_subject(message);
    p.subject = subject ? subject : "";
    p.from = MailboxAt(g_mime_message_get_from(message), 0);
    InternetAddressList* to = g_mime_message_get_to(message);
    for (int i = 0; i < internet_address_list_length(to); ++i) p.to.push_back(MailboxAt(to, i));
    p.message_id = g_mime_message_get_message_id(message);
    p.date = g_date_time_to_unix(g_mime_message_get_date(message));
    GMimePartIter* iter = g_mime_part_iter_new(GMIME_OBJECT(message));
    do {
      GMimeObject* current = g_mime_part_iter_get_current(iter);
      if (current == nullptr || !GMIME_IS_PART(current)) continue;
      GMimePart* part = GMIME_PART(current);
      GMimeContentType* type = g_mime_object_get_content_type(current);
      if (g_mime_part_is_attachment(part)) {
        const char* filename = g_mime_part_get_filename(part);
        p.attachments.push_back({filename ? filename : "",
                                 std::string(g_mime_content_type_get_media_type(type)) + "/" +
                                     g_mime_content_type_get_media_subtype(type),
                                 Decoded(part)});
      } else if (g_mime_content_type_is_type(type, "text", "plain") && !p.text) {
        p.text = Decoded(part);
      } else if (g_mime_content_type_is_type(type, "text", "html") && !p.html) {
        p.html = Decoded(part);
      }
    } while (g_mime_part_iter_next(iter));
    g_mime_part_iter_free(iter);
    g_object_unref(message);
  }
  g_object_unref(parser);
  g_object_unref(stream);
  g_mime_parser_options_free(options);
  return p;
}

std::string WithCrlf(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string AllBytes(int rounds) {
  std::string data;
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  }
  return data;
}

// Every line ends with CRLF, holds no other CR or LF and stays within `limit`.
void ExpectWellFormedLines(const std::string& raw, size_t limit, const std::string& label) {
  ASSERT_GE(raw.size(), 2u) << label;
  EXPECT_EQ(raw.substr(raw.size() - 2), "\r\n") << label << ": message does not end with CRLF";
  size_t start = 0;
  while (start < raw.size()) {
    auto end = raw.find("\r\n", start);
    if (end == std::string::npos) end = raw.size();
    const auto line = std::string_view(raw).substr(start, end - start);
    EXPECT_LE(line.size(), limit) << label << ": " << line;
    EXPECT_EQ(line.find_first_of("\r\n"), std::string_view::npos) << label << ": bare CR or LF in " << line;
    start = end + 2;
  }
  EXPECT_EQ(raw.find('\0'), std::string::npos) << label;
}

// Compares what a parser found with what went in.
// Python 3.11 puts a space between adjacent encoded-words of a display name
// (RFC 2047 6.2 says to drop it); names too long for one encoded-word are
// compared without spaces there.
std::string WithoutSpaces(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

void ExpectSameName(const std::string& parsed, const std::string& expected, bool python, const std::string& label) {
  if (python && expected.size() > 45) {
    EXPECT_EQ(WithoutSpaces(parsed), WithoutSpaces(expected)) << label;
  } else {
    EXPECT_EQ(parsed, expected) << label;
  }
}

void ExpectSameContent(const EmailContent& c, const Parsed& p, const std::string& label, bool python) {
  EXPECT_TRUE(p.problems.empty()) << label << ": " << ::testing::PrintToString(p.problems);
  EXPECT_EQ(p.subject, c.subject) << label;
  ExpectSameName(p.from.display_name, c.from.display_name, python, label);
  EXPECT_EQ(p.from.address, c.from.address) << label;
  ASSERT_EQ(p.to.size(), c.to.size()) << label;
  for (size_t i = 0; i < c.to.size(); ++i) {
    ExpectSameName(p.to[i].display_name, c.to[i].display_name, python, label + " recipient " + std::to_string(i));
    EXPECT_EQ(p.to[i].address, c.to[i].address) << label << " recipient " << i;
  }
  EXPECT_EQ(p.date, std::chrono::system_clock::to_time_t(c.date)) << label;
  // A text at the end of a single-part message gets the final CRLF a message needs.
  std::string text = WithCrlf(c.text_body);
  const bool single_part = c.html_body.empty() && c.attachments.empty();
  if (single_part && !text.empty() && text.substr(text.size() - 2) != "\r\n") text += "\r\n";
  ASSERT_TRUE(p.text.has_value()) << label;
  EXPECT_EQ(*p.text, text) << label;
  if (c.html_body.empty()) {
    EXPECT_FALSE(p.html.has_value()) << label;
  } else {
    ASSERT_TRUE(p.html.has_value()) << label;
    EXPECT_EQ(*p.html, WithCrlf(c.html_body)) << label;
  }
  ASSERT_EQ(p.attachments.size(), c.attachments.size()) << label;
  for (size_t i = 0; i < c.attachments.size(); ++i) {
    const auto& expected = c.attachments[i];
    EXPECT_EQ(p.attachments[i].filename, expected.filename) << label << " attachment " << i;
    const auto type = expected.content_type.empty() ? "application/octet-stream"
                                                    : expected.content_type.substr(0, expected.content_type.find(';'));
    EXPECT_EQ(ToLower(p.attachments[i].content_type), ToLower(type)) << label << " attachment " << i;
    EXPECT_TRUE(p.attachments[i].data == expected.data) << label << " attachment " << i << " bytes differ";
  }
}

EmailContent Sample() {
  EmailContent c;
  c.from = {"Events Team", "events@example.org"};
  c.to = {{"Ada Lovelace", "ada@example.org"}};
  c.subject = "Your certificate";
  c.text_body = "Dear Ada,\n\nthank you.\n";
  c.date = std::chrono::system_clock::from_time_t(1795000000);
  c.message_id = MakeMessageId("abc123", "example.org");
  return c;
}

struct Shape {
  std::string name;
  std::function<void(EmailContent&)> change;
  size_t line_limit = 78;
};

std::vector<Shape> Shapes() {
  return {
      {"text only", [](EmailContent&) {}},
      {"text without final newline", [](EmailContent& c) { c.text_body = "no newline at the end"; }},
      {"empty text", [](EmailContent& c) { c.text_body.clear(); }},
      {"text and html",
       [](EmailContent& c) { c.html_body = "<p>Dear <b>Ada</b> &amp; friends</p>\n<p>Bye</p>"; }},
      {"text and attachment",
       [](EmailContent& c) { c.attachments.push_back({"certificate.pdf", "application/pdf", "%PDF-1.7\n..."}); }},
      {"text, html and two attachments",
       [](EmailContent& c) {
         c.html_body = "<p>Hello</p>";
         c.attachments.push_back({"all-bytes.bin", "application/octet-stream", AllBytes(40)});
         c.attachments.push_back({"notes.txt", "text/plain; charset=utf-8", "line one\r\nline two\n"});
       }},
      {"cyrillic",
       [](EmailContent& c) {
         c.from.display_name = "Команда мероприятий";
         c.to = {{"Алексей Смирнов", "alexey@example.org"}};
         c.subject = "Ваш сертификат участника конференции «Разработка 2026»";
         c.text_body = "Здравствуйте, Алексей!\n";
         c.html_body = "<p>Здравствуйте, <b>Алексей</b>!</p>";
         c.attachments.push_back({"сертификат-участника.pdf", "application/pdf", AllBytes(3)});
       }},
      {"cjk",
       [](EmailContent& c) {
         c.to = {{"王小明", "wang@example.org"}, {"山田太郎", "yamada@example.jp"}};
         c.subject = "参加証明書のお知らせ：第十回開発者会議へのご参加ありがとうございました。証明書を添付します";
         c.text_body = "王小明 様\n参加証明書を添付します。\n";
         c.attachments.push_back({"参加証明書_王小明.pdf", "application/pdf", AllBytes(1)});
       }},
      {"emoji",
       [](EmailContent& c) {
         c.from.display_name = "Herald 🚀";
         c.to[0].display_name = "Zoë 👩🏽‍💻";
         c.subject = "🎉🎉🎉 You did it! 🎓 Certificate inside 📎 — well done 👏👏👏👏👏👏👏👏👏👏👏👏";
         c.attachments.push_back({"🎓 certificate 🎉.pdf", "application/pdf", "pdf"});
       }},
      {"split with no padding-free base64 word",
       [](EmailContent& c) {
         c.subject = "Zoë参加証明書のお知らせ：第十回開発者会議へのご参加ありがとうございました。証明書を添付します";
         c.to[0].display_name = "Zoë 参加証明書のお知らせ：第十回開発者会議へのご参加";
       }},
      {"long ascii subject is folded",
       [](EmailContent& c) {
         c.subject = "Your certificate of attendance for the Annual International Conference on Very Long "
                     "Event Names and Other Things That Need Folding, held in Lisbon, 2026  (two spaces)";
       }},
      {"subject that plain folding could not keep",
       [](EmailContent& c) {
         c.subject = " leading space, =?utf-8?q?not_an_encoded_word?=, tab\there, " + std::string(120, 'w') + " ";
       }},
      {"display names with specials",
       [](EmailContent& c) {
         c.from.display_name = "Doe, John \"JD\" \\ Jr.";
         c.to = {{"Dr. Who", "who@example.org"},
                 {"=?utf-8?q?fake?=", "fake@example.org"},
                 {"plain", "plain@example.org"},
                 {"", "bare@example.org"},
                 {"A very long display name that will not fit on one header line at all no way",
                  "long@example.org"},
                 {"Short, but quoted", "q@example.org"},
                 {"Константин Константинопольский-Преображенский", "k@example.org"}};
       }},
      {"many recipients fold between mailboxes",
       [](EmailContent& c) {
         c.to.clear();
         for (int i = 0; i < 12; ++i) {
           c.to.push_back({"Recipient Number " + std::to_string(i), "r" + std::to_string(i) + "@example.org"});
         }
       }},
      {"bodies that look like markup and boundaries",
       [](EmailContent& c) {
         const std::string boundary_like = "--=_herald_m_" + std::string(16, '0') + "\n--=_herald_a_x--\n";
         c.text_body = ".\n.leading dot\nFrom here on\nbare\rcr and\r\ncrlf\ntrailing space \ntab\t\n" +
                       std::string(3000, 'x') + "\n= equals =\n" + boundary_like;
         c.html_body = "<pre>" + boundary_like + "</pre>";
         c.attachments.push_back({"boundary.txt", "text/plain", boundary_like});
       }},
      {"attachment edge cases",
       [](EmailContent& c) {
         c.attachments.push_back({"", "", "no name, no type"});
         c.attachments.push_back({"empty.bin", "application/octet-stream", ""});
         c.attachments.push_back({"plain \"quoted\" name.txt", "text/plain", "hello\r\n"});
         c.attachments.push_back({std::string(100, 'a') + ".pdf", "application/pdf", "long ascii name"});
         std::string long_name;
         for (int i = 0; i < 40; ++i) long_name += "сертификат_";
         c.attachments.push_back({long_name + ".pdf", "application/pdf", AllBytes(2)});
       }},
      {"extra headers",
       [](EmailContent& c) {
         c.extra_headers = {{"X-Campaign", "Осенняя рассылка"},
                            {"List-Unsubscribe", "<https://example.org/u/" + std::string(150, 'q') +
                                                     ">, <mailto:unsubscribe@example.org>"},
                            {"X-Plain", "a short value"}};
       },
       998},
  };
}

TEST(ParseMailbox, AcceptsNameAndAddressForms) {
  auto a = ParseMailbox("Events Team <events@example.org>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->display_name, "Events Team");
  EXPECT_EQ(a->address, "events@example.org");
  auto b = ParseMailbox("\"Team, Events\" <e@example.org>");
  EXPECT_EQ(b->display_name, "Team, Events");
  EXPECT_TRUE(ParseMailbox("plain@example.org"));
  EXPECT_FALSE(ParseMailbox("no address here"));
}

TEST(EmailMessage, EveryShapeParsesBackExactlyWithGMimeAndPython) {
  std::vector<EmailContent> contents;
  std::vector<std::string> raws;
  const auto shapes = Shapes();
  for (const auto& shape : shapes) {
    auto content = Sample();
    shape.change(content);
    auto raw = BuildMessage(content);
    ASSERT_TRUE(raw) << shape.name << ": " << raw.error().message;
    ExpectWellFormedLines(*raw, shape.line_limit, shape.name);
    ExpectSameContent(content, InspectWithGMime(*raw), shape.name + " (GMime)", false);
    contents.push_back(std::move(content));
    raws.push_back(std::move(raw).value());
  }
  const auto python = InspectWithPython(raws);
  ASSERT_EQ(python.size(), shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    ExpectSameContent(contents[i], FromPython(python[i]), shapes[i].name + " (Python)", true);
    EXPECT_EQ(python[i]["message_id"], "<" + contents[i].message_id + ">") << shapes[i].name;
    for (const auto& [name, value] : contents[i].extra_headers) {
      EXPECT_EQ(python[i]["headers"][name], value) << shapes[i].name;
    }
  }
}

TEST(EmailMessage, StandardHeadersAreWrittenOnceInRfc5322Form) {
  const auto raw = BuildMessage(Sample());
  ASSERT_TRUE(raw) << raw.error().message;
  const auto headers = raw->substr(0, raw->find("\r\n\r\n") + 2);
  EXPECT_NE(headers.find("From: Events Team <events@example.org>\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("To: Ada Lovelace <ada@example.org>\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Subject: Your certificate\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Message-ID: <abc123@example.org>\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("MIME-Version: 1.0\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << headers;
}

TEST(EmailMessage, NonAsciiFilenameHasRfc2231FormAndAsciiFallback) {
  auto content = Sample();
  content.attachments.push_back({"отчёт 王.pdf", "application/pdf", "x"});
  content.attachments.push_back({"Отчёт-report.pdf", "application/pdf", "y"});
  const auto raw = BuildMessage(content);
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_NE(raw->find("Content-Type: application/pdf; name=\"attachment.pdf\"\r\n"), std::string::npos) << *raw;
  EXPECT_NE(raw->find("filename*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%20%E7%8E%8B.pdf\r\n"),
            std::string::npos)
      << *raw;
  EXPECT_NE(raw->find("Content-Type: application/pdf; name=\"_-report.pdf\"\r\n"), std::string::npos) << *raw;
}

TEST(EmailMessage, LineBreaksOrNulInAnyHeaderInputAreRejectedNamingTheField) {
  const std::vector<std::pair<std::string, std::function<void(EmailContent&, const std::string&)>>> cases = {
      {"subject", [](EmailContent& c, const std::string& bad) { c.subject = "Hi" + bad + "Bcc: victim@example.org"; }},
      {"from name", [](EmailContent& c, const std::string& bad) { c.from.display_name = "Team" + bad; }},
      {"from address", [](EmailContent& c, const std::string& bad) { c.from.address = "events@example.org" + bad; }},
      {"to name", [](EmailContent& c, const std::string& bad) { c.to[0].display_name = "Ada" + bad + "Bcc: x@y.z"; }},
      {"to address",
       [](EmailContent& c, const std::string& bad) { c.to.push_back({"", "x@example.org" + bad + "Bcc: y@z.org"}); }},
      {"attachment filename",
       [](EmailContent& c, const std::string& bad) {
         c.attachments.push_back({"a" + bad + "b.pdf", "application/pdf", "x"});
       }},
      {"attachment content type",
       [](EmailContent& c, const std::string& bad) {
         c.attachments.push_back({"a.pdf", "application/pdf" + bad + "X-Evil: 1", "x"});
       }},
      {"message id", [](EmailContent& c, const std::string& bad) { c.message_id = "a" + bad + "@example.org"; }},
      {"header name", [](EmailContent& c, const std::string& bad) { c.extra_headers = {{"X-A" + bad, "v"}}; }},
      {"header X-Tag", [](EmailContent& c, const std::string& bad) { c.extra_headers = {{"X-Tag", "v" + bad}}; }},
  };
  for (const std::string& bad : {std::string("\r\n"), std::string("\n"), std::string("\r"), std::string(1, '\0')}) {
    for (const auto& [field, mutate] : cases) {
      auto content = Sample();
      mutate(content, bad);
      const auto raw = BuildMessage(content);
      ASSERT_FALSE(raw) << field;
      EXPECT_EQ(raw.error().code, "mime.header_injection") << field << ": " << raw.error().message;
      EXPECT_NE(raw.error().message.find(field), std::string::npos) << raw.error().message;
    }
  }
}

TEST(EmailMessage, MalformedInputsAreRejectedWithACode) {
  const std::vector<std::pair<std::string, std::function<void(EmailContent&)>>> cases = {
      {"mime.invalid_address", [](EmailContent& c) { c.to[0].address = "not an address"; }},
      {"mime.invalid_address", [](EmailContent& c) { c.to[0].address = "a@b@example.org"; }},
      {"mime.invalid_address", [](EmailContent& c) { c.to[0].address = "<ada@example.org>"; }},
      {"mime.invalid_address", [](EmailContent& c) { c.to[0].address = "ada.example.org"; }},
      {"mime.invalid_address", [](EmailContent& c) { c.to[0].address = "@example.org"; }},
      {"mime.invalid_address", [](EmailContent& c) { c.to[0].address = "ada@"; }},
      {"mime.invalid_address", [](EmailContent& c) { c.to[0].address = "адa@example.org"; }},
      {"mime.invalid_address", [](EmailContent& c) { c.from.address = "tab\t@example.org"; }},
      {"mime.no_recipient", [](EmailContent& c) { c.to.clear(); }},
      {"mime.invalid_utf8", [](EmailContent& c) { c.subject = "bad \xC3\x28 byte"; }},
      {"mime.invalid_utf8", [](EmailContent& c) { c.to[0].display_name = "\xFF"; }},
      {"mime.invalid_message_id", [](EmailContent& c) { c.message_id = "<abc@example.org>"; }},
      {"mime.invalid_message_id", [](EmailContent& c) { c.message_id = ""; }},
      {"mime.invalid_content_type", [](EmailContent& c) { c.attachments.push_back({"a", "pdf", "x"}); }},
      {"mime.invalid_header", [](EmailContent& c) { c.extra_headers = {{"Subject", "second subject"}}; }},
      {"mime.invalid_header", [](EmailContent& c) { c.extra_headers = {{"Bad Name", "v"}}; }},
      {"mime.invalid_header", [](EmailContent& c) { c.extra_headers = {{"X-Long", std::string(1000, 'z')}}; }},
  };
  for (const auto& [code, mutate] : cases) {
    auto content = Sample();
    mutate(content);
    const auto raw = BuildMessage(content);
    ASSERT_FALSE(raw) << code;
    EXPECT_EQ(raw.error().code, code) << raw.error().message;
  }
}

TEST(EmailMessage, MessageIdsAreStableForSafeInputAndSafeOtherwise) {
  EXPECT_EQ(MakeMessageId("delivery-42.a_b", "example.org"), "delivery-42.a_b@example.org");
  EXPECT_EQ(MakeMessageId("x", ""), "x@herald.invalid");
  const auto hashed = MakeMessageId("row id with spaces <and> brackets", "example.org");
  EXPECT_EQ(hashed, MakeMessageId("row id with spaces <and> brackets", "example.org"));
  EXPECT_NE(hashed, MakeMessageId("row id with spaces <and> brackets!", "example.org"));
  EXPECT_EQ(hashed.find_first_of(" <>"), std::string::npos);
  EXPECT_NE(MakeMessageId("", "example.org"), MakeMessageId("", "example.org"));
  EXPECT_NE(MakeMessageId("a..b", "example.org"), "a..b@example.org");
}

}  // namespace
}  // namespace herald::mime
