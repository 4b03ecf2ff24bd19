// Writes header fields the way RFC 5322 and RFC 2047 want them: folded at
// whitespace so lines stay within 78 octets, text that is not plain ASCII as
// UTF-8 encoded-words split between characters. Inputs are validated by the
// caller first (no CR, LF or NUL can reach here); the writer only places words.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace herald::mime {

class HeaderWriter {
 public:
  static constexpr size_t kLineLimit = 78;
  static constexpr size_t kEncodedWordLimit = 75;
  // Words end a column early: a "," or ";" separator may follow on the same line.
  static constexpr size_t kWordLimit = kLineLimit - 1;

  // Starts the field: writes "Name:".
  HeaderWriter(std::string& out, std::string_view name);

  // Appends " word"; the space becomes a fold when the word would pass the limit.
  void AppendWord(std::string_view word);
  // Appends " <address>" (or " address" when bare), folding like AppendWord.
  void AppendAddress(std::string_view address, bool angle_brackets);
  // Appends a separator right after what is there (the "," between mailboxes);
  // never folds: words leave room for one.
  void AppendRaw(std::string_view text);
  // Unstructured text (Subject): plain ASCII is folded at its spaces; anything a
  // reader could not get back exactly that way is written as encoded-words.
  void AppendUnstructured(std::string_view utf8);
  // ASCII text folded at its spaces only, never encoded (structured extra headers).
  void AppendFoldedAscii(std::string_view ascii);
  // A display name: atoms, a quoted-string, or encoded-words when neither fits.
  void AppendPhrase(std::string_view utf8);
  // UTF-8 encoded-words ("=?utf-8?b?...?="), each at most 75 characters.
  void AppendEncodedWords(std::string_view utf8);
  // Ends the field with CRLF.
  void Finish();

 private:
  size_t Column() const { return out_.size() - line_start_; }
  // Widest word AppendWord can place within the limit, folding first if it may.
  size_t RoomForWord() const;
  // Writes `space` then `word`, folding before them if the line would grow past the limit.
  void Place(std::string_view space, std::string_view word);
  void Fold();

  std::string& out_;
  size_t line_start_;
  size_t first_line_minimum_;  // "Name:" never stands alone on its line
};

// RFC 2047 encoded-words (UTF-8, base64, each at most 75 characters, joined by
// CRLF SP) when text is not plain printable ASCII or looks like an encoded-word
// itself; otherwise the text unchanged.
std::string EncodeHeaderWord(std::string_view utf8);

}  // namespace herald::mime
