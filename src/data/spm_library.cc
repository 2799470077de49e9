#include "data/spm_library.h"

#include <dlfcn.h>

#include "core/error.h"

#if __has_include(<sentencepiece_processor.h>)
#include <sentencepiece_processor.h>
static_assert(sizeof(sentencepiece::SentencePieceProcessor) <= drt::spm::Processor::kStorageBytes &&
                  alignof(sentencepiece::SentencePieceProcessor) <= 16,
              "spm::Processor's storage is too small for this SentencePiece");
#endif

#ifndef RTLD_DEEPBIND
#define RTLD_DEEPBIND 0  // not glibc: no protobuf clash to avoid there
#endif

namespace drt::spm {

namespace {

// Mirrors sentencepiece::util::Status: one pointer (its unique_ptr<Rep>), null when OK.
// The user-provided destructor makes it non-trivial, so, like the real Status, it is
// returned through a hidden pointer: the library's functions can be called as returning
// it.
struct Status {
  void* rep = nullptr;
  Status() = default;
  Status(const Status&) = delete;
  Status& operator=(const Status&) = delete;
  ~Status();
  bool ok() const { return rep == nullptr; }
  std::string message() const;
};

// The library's functions, looked up by their (Itanium ABI) mangled names. Member
// functions take the object as their first argument.
struct Library {
  void* handle = nullptr;
  void (*processor_construct)(void* self);
  void (*processor_destruct)(void* self);
  Status (*load_from_serialized_proto)(void* self, std::string_view model);
  Status (*encode)(const void* self, std::string_view text, std::vector<int>* ids);
  Status (*decode)(const void* self, const std::vector<int>& ids, std::string* text);
  int (*piece_count)(const void* self);
  const std::string& (*id_to_piece)(const void* self, int id);
  bool (*is_control)(const void* self, int id);
  bool (*is_unknown)(const void* self, int id);
  bool (*is_byte)(const void* self, int id);
  int (*unk_id)(const void* self);
  int (*bos_id)(const void* self);
  int (*eos_id)(const void* self);
  void (*status_destruct)(void* self);
  std::string (*status_to_string)(const void* self);
  void (*set_random_generator_seed)(unsigned seed);
  Status (*train)(const std::unordered_map<std::string, std::string>& options, void* sentence_iterator,
                  std::string* serialized_model);
};

template <typename F>
void bind(void* handle, F& f, const char* name, const char* library) {
  void* p = ::dlsym(handle, name);
  DRT_CHECK(p != nullptr, library, " has no symbol ", name,
            " (drt's spm tokenizer is written against SentencePiece 0.1.9x)");
  f = reinterpret_cast<F>(p);
}

Library load_library() {
  Library lib;
  const char* name = nullptr;
  std::string errors;
  for (const char* candidate : {"libsentencepiece_train.so.0", "libsentencepiece_train.so"}) {
    lib.handle = ::dlopen(candidate, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (lib.handle != nullptr) {
      name = candidate;
      break;
    }
    errors += std::string(errors.empty() ? "" : "; ") + ::dlerror();
  }
  DRT_CHECK(lib.handle != nullptr, "the spm tokenizer needs SentencePiece's shared libraries (Debian package ",
            "libsentencepiece0): ", errors);
  bind(lib.handle, lib.processor_construct, "_ZN13sentencepiece22SentencePieceProcessorC1Ev", name);
  bind(lib.handle, lib.processor_destruct, "_ZN13sentencepiece22SentencePieceProcessorD1Ev", name);
  bind(lib.handle, lib.load_from_serialized_proto,
       "_ZN13sentencepiece22SentencePieceProcessor23LoadFromSerializedProtoESt17basic_string_viewIcSt11char_"
       "traitsIcEE",
       name);
  bind(lib.handle, lib.encode,
       "_ZNK13sentencepiece22SentencePieceProcessor6EncodeESt17basic_string_viewIcSt11char_traitsIcEEPSt6vectorIiSa"
       "IiEE",
       name);
  bind(lib.handle, lib.decode,
       "_ZNK13sentencepiece22SentencePieceProcessor6DecodeERKSt6vectorIiSaIiEEPNSt7__cxx1112basic_stringIcSt11char_"
       "traitsIcESaIcEEE",
       name);
  bind(lib.handle, lib.piece_count, "_ZNK13sentencepiece22SentencePieceProcessor12GetPieceSizeEv", name);
  bind(lib.handle, lib.id_to_piece, "_ZNK13sentencepiece22SentencePieceProcessor9IdToPieceB5cxx11Ei", name);
  bind(lib.handle, lib.is_control, "_ZNK13sentencepiece22SentencePieceProcessor9IsControlEi", name);
  bind(lib.handle, lib.is_unknown, "_ZNK13sentencepiece22SentencePieceProcessor9IsUnknownEi", name);
  bind(lib.handle, lib.is_byte, "_ZNK13sentencepiece22SentencePieceProcessor6IsByteEi", name);
  bind(lib.handle, lib.unk_id, "_ZNK13sentencepiece22SentencePieceProcessor6unk_idEv", name);
  bind(lib.handle, lib.bos_id, "_ZNK13sentencepiece22SentencePieceProcessor6bos_idEv", name);
  bind(lib.handle, lib.eos_id, "_ZNK13sentencepiece22SentencePieceProcessor6eos_idEv", name);
  bind(lib.handle, lib.status_destruct, "_ZN13sentencepiece4util6StatusD1Ev", name);
  bind(lib.handle, lib.status_to_string, "_ZNK13sentencepiece4util6Status8ToStringB5cxx11Ev", name);
  bind(lib.handle, lib.set_random_generator_seed, "_ZN13sentencepiece22SetRandomGeneratorSeedEj", name);
  bind(lib.handle, lib.train,
       "_ZN13sentencepiece20SentencePieceTrainer5TrainERKSt13unordered_mapINSt7__cxx1112basic_stringIcSt11char_"
       "traitsIcESaIcEEES7_St4hashIS7_ESt8equal_toIS7_ESaISt4pairIKS7_S7_EEEPNS_16SentenceIteratorEPS7_",
       name);
  return lib;
}

// Loaded on first use and kept for the life of the process.
const Library& library() {
  static const Library lib = load_library();
  return lib;
}

Status::~Status() {
  if (rep != nullptr) library().status_destruct(this);
}

std::string Status::message() const { return ok() ? "OK" : library().status_to_string(this); }

}  // namespace

Processor::Processor(std::string_view serialized_model, const std::string& origin) {
  const Library& lib = library();
  lib.processor_construct(storage_);
  const Status status = lib.load_from_serialized_proto(storage_, serialized_model);
  if (!status.ok()) {
    const std::string message = status.message();
    lib.processor_destruct(storage_);
    throw Error(str_cat(origin, " is not a SentencePiece model: ", message));
  }
}

Processor::~Processor() { library().processor_destruct(storage_); }

std::vector<int> Processor::encode(std::string_view text) const {
  std::vector<int> ids;
  const Status status = library().encode(storage_, text, &ids);
  DRT_CHECK(status.ok(), "spm encode failed: ", status.message());
  return ids;
}

std::string Processor::decode(const std::vector<int>& ids) const {
  std::string text;
  const Status status = library().decode(storage_, ids, &text);
  DRT_CHECK(status.ok(), "spm decode failed: ", status.message());
  return text;
}

int Processor::piece_count() const { return library().piece_count(storage_); }
const std::string& Processor::piece(int id) const { return library().id_to_piece(storage_, id); }
bool Processor::is_control(int id) const { return library().is_control(storage_, id); }
bool Processor::is_unknown(int id) const { return library().is_unknown(storage_, id); }
bool Processor::is_byte(int id) const { return library().is_byte(storage_, id); }
int Processor::unk_id() const { return library().unk_id(storage_); }
int Processor::bos_id() const { return library().bos_id(storage_); }
int Processor::eos_id() const { return library().eos_id(storage_); }

std::string train(const std::unordered_map<std::string, std::string>& options, unsigned seed) {
  const Library& lib = library();
  lib.set_random_generator_seed(seed);
  std::string model;
  const Status status = lib.train(options, nullptr, &model);
  DRT_CHECK(status.ok(), status.message());
  return model;
}

}  // namespace drt::spm
