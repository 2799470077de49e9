// SentencePiece, reached through dlopen() instead of the linker.
//
// Why: Debian's libsentencepiece carries its own copy of protobuf (3.14) and exports its
// symbols, while LibTorch uses the system protobuf (3.21). Linked into one program, one
// copy's symbols win for both libraries: with SentencePiece first, protobuf's static
// initialisers call into SentencePiece's copy and every drt binary crashes before main();
// with protobuf first, SentencePiece refuses to run ("compiled against version 3.14.0 of
// the Protocol Buffer runtime library, which is not compatible with the installed
// version (3.21.12)"). Loading libsentencepiece_train.so.0 with RTLD_LOCAL | RTLD_DEEPBIND
// keeps its protobuf private to it.
//
// So drt must not link -lsentencepiece; at run time the spm tokenizer needs the shared
// libraries of Debian's libsentencepiece0 (a dependency of libsentencepiece-dev). The
// other tokenizers never load it.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace drt::spm {

// One sentencepiece::SentencePieceProcessor holding one model.
class Processor {
 public:
  // Throws drt::Error naming `origin` when the bytes are not a SentencePiece model, or
  // naming the library when it cannot be loaded.
  Processor(std::string_view serialized_model, const std::string& origin);
  ~Processor();
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  std::vector<int> encode(std::string_view text) const;
  std::string decode(const std::vector<int>& ids) const;
  int piece_count() const;
  const std::string& piece(int id) const;  // as SentencePiece spells it: "▁the", "<0x0A>", "<s>"
  bool is_control(int id) const;
  bool is_unknown(int id) const;
  bool is_byte(int id) const;
  int unk_id() const;
  int bos_id() const;
  int eos_id() const;

  // Room for the library's object (88 bytes in 0.1.97; checked against the header when
  // it is there at build time).
  static constexpr size_t kStorageBytes = 256;

 private:
  alignas(16) unsigned char storage_[kStorageBytes];
};

// Runs SentencePiece's trainer with `options` (spm_train's flags without the dashes,
// e.g. {"input", path}, {"vocab_size", "4000"}) after seeding its random generator, and
// returns the serialized model.
std::string train(const std::unordered_map<std::string, std::string>& options, unsigned seed);

}  // namespace drt::spm
