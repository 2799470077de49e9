// The byte tokenizer: ids 0..255 are the bytes of the UTF-8 text, then pad, bos and the
// landmark. No training, no files; configs/tiny.json uses exactly these ids.
#pragma once
#include "data/tokenizer.h"

namespace drt {

class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int64_t kPadId = 256;
  static constexpr int64_t kBosId = 257;
  static constexpr int64_t kChunkId = 258;
  static constexpr int64_t kVocabSize = 259;

  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string decode_token(int64_t id) const override;
  std::string kind() const override { return "bytes"; }
  std::string spec() const override { return "bytes"; }
  int64_t vocab_size() const override { return kVocabSize; }
  int64_t pad_id() const override { return kPadId; }
  int64_t bos_id() const override { return kBosId; }
  int64_t chunk_id() const override { return kChunkId; }
  bool is_special(int64_t id) const override { return id >= 256; }
  void save(const std::string& dir) const override;
};

}  // namespace drt
