// UTF-8 decoding and the Unicode classes the GPT-2 pre-tokenizer needs (\p{L}, \p{N},
// \s), plus the "is this text?" check that `drt prepare` runs on every input file. Plain
// C++: no ICU, no PCRE.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace drt::unicode {

enum class CharClass : uint8_t { kOther, kLetter, kNumber, kSpace };

// The code point at text[pos] and its length in bytes (1..4). An invalid or truncated
// sequence yields {-1, 1}: callers treat the lone byte as a character of class kOther,
// which keeps byte-level tokenizers lossless on any input.
struct Decoded {
  int32_t code_point;
  int length;
};
Decoded decode_utf8(std::string_view text, size_t pos);

// \p{L} (every letter category), \p{N} (Nd, Nl, No) and Unicode White_Space; the
// tables come from Unicode 17.0 (see unicode_tables.cc for how they were made).
CharClass classify(int32_t code_point);

void append_utf8(std::string& out, int32_t code_point);

// Where `text` stops being UTF-8 text: the offset of the first NUL byte or invalid
// sequence (overlong forms, surrogates and code points above U+10FFFF are invalid), or
// npos when the whole text is valid. A sequence cut off by the end of the text is
// invalid.
struct TextProblem {
  size_t offset = std::string_view::npos;
  uint8_t byte = 0;  // the byte at `offset`
  bool ok() const { return offset == std::string_view::npos; }
};
TextProblem find_non_text(std::string_view text);

}  // namespace drt::unicode
