#include "mime/header_writer.hpp"

#include "common/text.hpp"

#include <algorithm>

#include "mime/transfer_encoding.hpp"

namespace herald::mime {
namespace {

constexpr std::string_view kBWordPrefix = "=?utf-8?b?";
constexpr std::string_view kQWordPrefix = "=?utf-8?q?";
constexpr std::string_view kWordSuffix = "?=";

bool IsPrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c <= 0x7E;
  });
}

// RFC 5322 atext: what a display name may hold without quotes.
bool IsAtext(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// Bytes of the code point at utf8[i] (validated text; a stray byte counts as one).
size_t CodePointBytes(std::string_view utf8, size_t i) { return std::max<size_t>(1, text::DecodeUtf8(utf8, i).length); }

// Bytes of text an encoded-word of at most `width` characters can carry in base64.
size_t PayloadBytesFor(size_t width) {
  const size_t overhead = kBWordPrefix.size() + kWordSuffix.size();
  return width <= overhead ? 0 : (width - overhead) / 4 * 3;
}

// Width of a byte in a "Q" encoded-word that is safe in phrases as well (RFC 2047 5(3)).
size_t QWidth(unsigned char c) {
  const bool literal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '!' || c == '*' || c == '+' || c == '-' || c == '/' || c == ' ';
  return literal ? 1 : 3;
}

struct WordPlan {
  size_t bytes = 0;  // whole UTF-8 characters taken from the front of the text
  bool q = false;
};

// What goes into the next encoded-word of at most `width` characters. Words
// hold whole characters (RFC 2047 6.3). A base64 word that is not the last holds
// a multiple of 3 bytes, so it has no '=' padding: GMime and other readers join
// adjacent base64 words before decoding, and padding in the middle cuts the text
// short. When no such split exists, the word is written in "Q" form instead.
WordPlan PlanWord(std::string_view utf8, size_t width) {
  const size_t max_bytes = PayloadBytesFor(width);
  size_t end = 0;
  size_t aligned = 0;
  while (end < utf8.size()) {
    const size_t next = end + CodePointBytes(utf8, end);
    if (next > max_bytes) break;
    end = std::min(next, utf8.size());
    if (end % 3 == 0) aligned = end;
  }
  if (end == utf8.size()) return {end, false};
  if (aligned > 0) return {aligned, false};
  const size_t budget = width <= kQWordPrefix.size() + kWordSuffix.size()
                            ? 0
                            : width - kQWordPrefix.size() - kWordSuffix.size();
  size_t q_end = 0;
  size_t used = 0;
  while (q_end < utf8.size()) {
    const size_t next =
        std::min(utf8.size(), q_end + CodePointBytes(utf8, q_end));
    size_t cost = 0;
    for (size_t i = q_end; i < next; ++i) cost += QWidth(static_cast<unsigned char>(utf8[i]));
    if (used + cost > budget) break;
    used += cost;
    q_end = next;
  }
  return {q_end, true};
}

void AppendWordText(std::string& out, std::string_view text, bool q) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (!q) {
    out += kBWordPrefix;
    AppendBase64(out, text);
    out += kWordSuffix;
    return;
  }
  out += kQWordPrefix;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ') {
      out += '_';
    } else if (QWidth(c) == 1) {
      out += ch;
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  out += kWordSuffix;
}

// Splits text into pieces that each start with their run of spaces (the first
// piece may have none): the places where a fold may go without changing the text.
template <typename Visit>
void ForEachSpacePiece(std::string_view text, Visit visit) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_not_of(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    end = text.find(' ', end);
    if (end == std::string_view::npos) end = text.size();
    const auto piece = text.substr(pos, end - pos);
    const auto word_start = piece.find_first_not_of(' ');
    visit(piece.substr(0, word_start), piece.substr(word_start == std::string_view::npos ? piece.size() : word_start));
    pos = end;
  }
}

}  // namespace

HeaderWriter::HeaderWriter(std::string& out, std::string_view name)
    : out_(out), line_start_(out.size()), first_line_minimum_(name.size() + 1) {
  out_ += name;
  out_ += ':';
}

void HeaderWriter::Fold() {
  out_ += "\r\n";
  line_start_ = out_.size();
  first_line_minimum_ = 0;
}

size_t HeaderWriter::RoomForWord() const {
  if (Column() > first_line_minimum_) return kWordLimit - 1;
  return Column() + 1 >= kWordLimit ? 0 : kWordLimit - Column() - 1;
}

void HeaderWriter::Place(std::string_view space, std::string_view word) {
  if (Column() + space.size() + word.size() > kWordLimit && Column() > first_line_minimum_) Fold();
  out_ += space;
  out_ += word;
}

void HeaderWriter::AppendWord(std::string_view word) { Place(" ", word); }

void HeaderWriter::AppendAddress(std::string_view address, bool angle_brackets) {
  const size_t width = address.size() + (angle_brackets ? 2 : 0);
  if (Column() + 1 + width > kWordLimit && Column() > first_line_minimum_) Fold();
  out_ += ' ';
  if (angle_brackets) out_ += '<';
  out_ += address;
  if (angle_brackets) out_ += '>';
}

void HeaderWriter::AppendRaw(std::string_view text) { out_ += text; }

void HeaderWriter::AppendFoldedAscii(std::string_view ascii) {
  bool first = true;
  ForEachSpacePiece(ascii, [&](std::string_view space, std::string_view word) {
    if (first) {
      // The space after "Name:" is ours; the value's own leading spaces follow it.
      out_ += ' ';
      out_ += space;
      out_ += word;
      first = false;
    } else {
      Place(space, word);
    }
  });
}

void HeaderWriter::AppendUnstructured(std::string_view utf8) {
  if (utf8.empty()) return;
  // Folding only inserts CRLF before existing spaces, so plain text comes back
  // exactly unless it has leading or trailing spaces (readers trim those), a run
  // too long for any line, or something a reader would decode as an encoded-word.
  bool plain = IsPrintableAscii(utf8) && utf8.find("=?") == std::string_view::npos && utf8.front() != ' ' &&
               utf8.back() != ' ';
  if (plain) {
    bool first = true;
    ForEachSpacePiece(utf8, [&](std::string_view space, std::string_view word) {
      const size_t width = space.size() + word.size();
      if (width > (first ? RoomForWord() : kWordLimit)) plain = false;
      first = false;
    });
  }
  if (plain) {
    AppendFoldedAscii(utf8);
  } else {
    AppendEncodedWords(utf8);
  }
}

void HeaderWriter::AppendPhrase(std::string_view utf8) {
  if (utf8.empty()) return;
  // A plain name goes out as atoms or a quoted-string, never folded inside:
  // GMime keeps the CRLF of such a fold in the name it returns.
  if (IsPrintableAscii(utf8) && utf8.find("=?") == std::string_view::npos) {
    const bool atoms = utf8.front() != ' ' && utf8.back() != ' ' && utf8.find("  ") == std::string_view::npos &&
                       std::all_of(utf8.begin(), utf8.end(), [](char c) { return c == ' ' || IsAtext(c); });
    std::string word;
    if (atoms) {
      word = utf8;
    } else {
      word = "\"";
      for (char c : utf8) {
        if (c == '"' || c == '\\') word += '\\';
        word += c;
      }
      word += '"';
    }
    if (word.size() <= RoomForWord()) {
      AppendWord(word);
      return;
    }
  }
  // A name that fits one encoded-word stays in one: Python's parser (3.11) puts
  // a space between adjacent encoded-words of a display name, RFC 2047 6.2 or not.
  if (PayloadBytesFor(kEncodedWordLimit) >= utf8.size()) {
    std::string word;
    AppendWordText(word, utf8, false);
    AppendWord(word);
    return;
  }
  AppendEncodedWords(utf8);
}

void HeaderWriter::AppendEncodedWords(std::string_view utf8) {
  while (!utf8.empty()) {
    // A word goes on this line if at least one character fits; else on the next.
    const size_t room = Column() + 1 >= kLineLimit ? 0 : kLineLimit - Column() - 1;
    WordPlan plan = PlanWord(utf8, std::min(room, kEncodedWordLimit));
    if (plan.bytes == 0) {
      if (Column() > first_line_minimum_) Fold();
      plan = PlanWord(utf8, kEncodedWordLimit);
    }
    out_ += ' ';
    AppendWordText(out_, utf8.substr(0, plan.bytes), plan.q);
    utf8.remove_prefix(plan.bytes);
  }
}

void HeaderWriter::Finish() { out_ += "\r\n"; }

std::string EncodeHeaderWord(std::string_view utf8) {
  if (IsPrintableAscii(utf8) && utf8.find("=?") == std::string_view::npos) return std::string(utf8);
  std::string out;
  while (!utf8.empty()) {
    const WordPlan plan = PlanWord(utf8, HeaderWriter::kEncodedWordLimit);
    if (!out.empty()) out += "\r\n ";
    AppendWordText(out, utf8.substr(0, plan.bytes), plan.q);
    utf8.remove_prefix(plan.bytes);
  }
  return out;
}

}  // namespace herald::mime
