// A prepared corpus on disk, as `drt prepare` writes it:
//
//   DIR/manifest.json     what the files hold (below); written last
//   DIR/train.bin         token ids, little-endian uint16 (vocab <= 65536) or uint32,
//   DIR/valid.bin           documents concatenated, each followed by the separator id
//   DIR/train.idx         uint64 little-endian, documents + 1 entries: where each
//   DIR/valid.idx           document starts in its .bin (in tokens), then the token count
//   DIR/tokenizer.json    the tokenizer (+ encoder.json/vocab.bpe or tokenizer.model)
//
// TokenFile memory-maps one split read-only, so a corpus far larger than RAM costs only
// the pages a trainer touches.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace drt {

constexpr int kCorpusFormatVersion = 1;

struct SplitInfo {
  std::string file;        // "train.bin", relative to the corpus directory
  std::string index_file;  // "train.idx"
  int64_t documents = 0;
  int64_t tokens = 0;  // separators included
};

struct CorpusManifest {
  int format_version = kCorpusFormatVersion;
  std::string tokenizer_kind;  // "bytes", "gpt2", "spm"
  std::string tokenizer_spec;  // "spm:4000"
  int64_t vocab_size = 0;
  std::string dtype;  // "uint16" or "uint32"
  int64_t separator_id = 0;  // follows every document: the tokenizer's bos id
  std::vector<std::string> sources;  // the --input values, as given
  double valid_fraction = 0;
  uint64_t seed = 0;
  std::map<std::string, SplitInfo> splits;  // "train", "valid"

  // Bytes per token of `dtype`.
  int64_t token_bytes() const;
  std::string to_json_text() const;
  // Reads and checks DIR/manifest.json (version, dtype, fields), naming the file on
  // any problem. File sizes are checked by TokenFile::open.
  static CorpusManifest load(const std::string& dir);
};

// "uint16" when every id of a vocabulary of `vocab_size` fits in 16 bits, else "uint32".
std::string token_dtype_for(int64_t vocab_size);

class TokenFile {
 public:
  // Maps DIR/<split>.bin; checks that its length and its .idx agree with the manifest.
  static TokenFile open(const std::string& dir, const std::string& split);
  TokenFile(TokenFile&& other) noexcept;
  TokenFile& operator=(TokenFile&& other) noexcept;
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;
  ~TokenFile();

  int64_t size() const { return tokens_; }  // in tokens
  int64_t operator[](int64_t i) const;
  // out[0..n) = tokens [offset, offset + n). Throws when the range leaves the file or
  // a stored id is not below the vocabulary size (a corrupt file), naming the file.
  void read(int64_t offset, int64_t n, int64_t* out) const;

  const CorpusManifest& manifest() const { return manifest_; }
  const std::string& path() const { return path_; }
  int64_t documents() const { return static_cast<int64_t>(document_starts_.size()) - 1; }
  // [documents + 1]: document d is tokens [starts[d], starts[d + 1]), its separator last.
  const std::vector<int64_t>& document_starts() const { return document_starts_; }

 private:
  TokenFile() = default;
  void release();

  CorpusManifest manifest_;
  std::string path_;
  const uint8_t* data_ = nullptr;  // mmap'ed .bin, or null when it is empty
  size_t mapped_bytes_ = 0;
  int64_t tokens_ = 0;
  int64_t token_bytes_ = 2;
  std::vector<int64_t> document_starts_;
};

}  // namespace drt
