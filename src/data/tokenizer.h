// Tokenizers turn text into token ids and back. Three kinds, chosen by a spec string:
//
//   bytes   ids 0..255 are UTF-8 bytes; pad 256, bos 257, landmark 258; vocab 259
//   gpt2    GPT-2's byte-level BPE (ids 0..50256, 50256 = <|endoftext|> = bos);
//           pad 50257, landmark 50264; vocab 50265 (50258..50263 are unused)
//   spm:N   a SentencePiece BPE model of N pieces trained on the corpus (its own unk,
//           bos, eos and 256 byte pieces among them); landmark N, pad N+1; vocab N+2
//
// Every kind has a pad, a bos and a landmark id (`chunk_id`, the token appended after
// each chunk, DESIGN.md §2.1) inside its vocabulary. A directory that holds a tokenizer
// (a model directory, a prepared corpus) carries tokenizer.json plus every file that
// kind needs, so it is self-contained.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace drt {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::vector<int64_t> encode(std::string_view text) const = 0;
  // Special ids (pad, bos, landmark, unused ids) are skipped; an id outside the
  // vocabulary is an error naming it.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  // One token for display: specials as "<lmk>", "<pad>", "<|endoftext|>"…, bytes that
  // are not UTF-8 on their own as "<0xE6>".
  virtual std::string decode_token(int64_t id) const = 0;

  virtual std::string kind() const = 0;  // "bytes", "gpt2", "spm"
  virtual std::string spec() const = 0;  // what make_tokenizer was given: "spm:4000"
  virtual int64_t vocab_size() const = 0;  // including the specials
  virtual int64_t pad_id() const = 0;
  virtual int64_t bos_id() const = 0;
  virtual int64_t chunk_id() const = 0;  // the landmark token
  virtual bool is_special(int64_t id) const = 0;

  // Writes dir/tokenizer.json and the files this kind needs (gpt2: encoder.json and
  // vocab.bpe; spm: tokenizer.model). Each file is written atomically.
  virtual void save(const std::string& dir) const = 0;

 protected:
  // Throws unless 0 <= id < vocab_size(), naming the id and this tokenizer.
  void check_id(int64_t id) const;
};

// Reads dir/tokenizer.json (and the files it names) as written by Tokenizer::save.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

// `spec` is "bytes", "gpt2" or "spm:N" (N pieces; "spm:4k" = 4096). gpt2 reads its files
// from npm_dir(); spm:N trains on the given text files.
std::unique_ptr<Tokenizer> make_tokenizer(const std::string& spec,
                                          const std::vector<std::string>& training_files_for_spm = {});
// The same with spm's training text given directly (e.g. the documents of a corpus).
std::unique_ptr<Tokenizer> make_tokenizer_from_texts(const std::string& spec,
                                                     const std::vector<std::string_view>& training_texts);

// The node_modules folder that scripts/setup_data.sh fills: $DRT_NPM_DIR if set, else
// <source dir>/third_party/npm/node_modules.
std::string npm_dir();

}  // namespace drt
