// A SentencePiece BPE tokenizer trained on the user's corpus (Debian's
// libsentencepiece, loaded at run time: see spm_library.h). Trained so that decode(encode(text)) == text: no normalization
// (rule "identity"), no dummy prefix, whitespace kept as is, and byte fallback so that a
// character the model never saw becomes its UTF-8 bytes rather than <unk>.
//
// Ids: SentencePiece's own unk 0, bos 1, eos 2, the 256 byte pieces 3..258, then the
// learned pieces up to N-1; we append the landmark (N) and pad (N+1).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/spm_library.h"
#include "data/tokenizer.h"

namespace drt {

class SpmTokenizer final : public Tokenizer {
 public:
  // At most this much text is used for training; a larger corpus is sampled by taking
  // every k-th line, which keeps training to a few seconds and deterministic.
  static constexpr size_t kMaxTrainingBytes = 4 << 20;

  // Trains a BPE model of `pieces` pieces on the lines of `texts`. Deterministic for a
  // given text (one thread, fixed seed).
  static std::unique_ptr<SpmTokenizer> train(int64_t pieces, const std::vector<std::string_view>& texts);
  // Reads a model written by save() (tokenizer.model).
  static std::unique_ptr<SpmTokenizer> load(const std::string& model_path);
  ~SpmTokenizer() override;

  std::vector<int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string decode_token(int64_t id) const override;
  std::string kind() const override { return "spm"; }
  std::string spec() const override { return "spm:" + std::to_string(pieces_); }
  int64_t vocab_size() const override { return pieces_ + 2; }
  int64_t pad_id() const override { return pieces_ + 1; }
  int64_t bos_id() const override;
  int64_t chunk_id() const override { return pieces_; }
  bool is_special(int64_t id) const override;
  // Writes tokenizer.model (the serialized SentencePiece model) and tokenizer.json.
  void save(const std::string& dir) const override;

 private:
  SpmTokenizer(std::string model, const std::string& origin);

  std::string model_;  // serialized sentencepiece ModelProto
  std::unique_ptr<spm::Processor> processor_;
  int64_t pieces_ = 0;  // N: SentencePiece's own vocabulary, specials and bytes included
};

}  // namespace drt
