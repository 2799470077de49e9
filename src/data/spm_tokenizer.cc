#include "data/spm_tokenizer.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"
#include "data/tokenizer_common.h"
#include "io/file_util.h"

namespace drt {

namespace {

// SentencePiece skips training lines longer than its max_sentence_length; we cut long
// lines at spaces instead so that no text is silently dropped.
constexpr size_t kMaxLineBytes = 8192;

// The training lines go to SentencePiece as a file: its sentence-iterator interface
// would need the library's own Status type (spm_library.h says why we avoid that).
class TempTextFile {
 public:
  explicit TempTextFile(const std::vector<std::string>& lines) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("drt_spm_train_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".txt"))
                .string();
    std::string text;
    for (const auto& line : lines) text.append(line).append("\n");
    write_file_atomic(path_, text);
  }
  ~TempTextFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The non-empty lines of `texts`, long ones cut at spaces, every k-th one kept when
// there is more than kMaxTrainingBytes of them.
std::vector<std::string> training_lines(const std::vector<std::string_view>& texts) {
  std::vector<std::string_view> all;
  size_t total = 0;
  for (std::string_view text : texts) {
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      while (line.size() > kMaxLineBytes) {
        size_t cut = line.rfind(' ', kMaxLineBytes - 1);
        if (cut == std::string_view::npos || cut == 0) cut = kMaxLineBytes;
        // Never cut inside a UTF-8 sequence.
        while (cut > 1 && (static_cast<uint8_t>(line[cut]) & 0xC0) == 0x80) --cut;
        all.push_back(line.substr(0, cut));
        total += cut;
        line.remove_prefix(cut);
      }
      if (!line.empty()) {
        all.push_back(line);
        total += line.size();
      }
    }
  }
  const size_t stride = total > SpmTokenizer::kMaxTrainingBytes ? (total + SpmTokenizer::kMaxTrainingBytes - 1) /
                                                                       SpmTokenizer::kMaxTrainingBytes
                                                                 : 1;
  std::vector<std::string> lines;
  lines.reserve(all.size() / stride + 1);
  for (size_t i = 0; i < all.size(); i += stride) lines.emplace_back(all[i]);
  return lines;
}

}  // namespace

SpmTokenizer::SpmTokenizer(std::string model, const std::string& origin)
    : model_(std::move(model)), processor_(std::make_unique<spm::Processor>(model_, origin)) {
  pieces_ = processor_->piece_count();
  DRT_CHECK(processor_->bos_id() >= 0, origin, ": the SentencePiece model has no bos piece");
}

SpmTokenizer::~SpmTokenizer() = default;

std::unique_ptr<SpmTokenizer> SpmTokenizer::train(int64_t pieces, const std::vector<std::string_view>& texts) {
  // unk, bos, eos and 256 byte pieces come first; the rest must hold at least the
  // corpus's characters, so SentencePiece itself reports a size too small for the text.
  constexpr int64_t kMetaPieces = 3 + 256;
  DRT_CHECK(pieces > kMetaPieces, "spm:", pieces, " is too small: ", kMetaPieces,
            " pieces go to unk/bos/eos and the 256 bytes, so N must be larger than that (try spm:4000)");
  DRT_CHECK(pieces <= (1 << 24), "spm:", pieces, " is too large (at most ", 1 << 24, " pieces)");
  std::vector<std::string> lines = training_lines(texts);
  DRT_CHECK(!lines.empty(), "cannot train spm:", pieces, " on an empty corpus");
  const TempTextFile input(lines);
  const std::unordered_map<std::string, std::string> options = {
      {"input", input.path()},
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(pieces)},
      {"byte_fallback", "true"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "false"},
      {"remove_extra_whitespaces", "false"},
      {"character_coverage", "0.9995"},
      {"max_sentence_length", std::to_string(kMaxLineBytes)},
      {"input_sentence_size", "0"},  // we sampled already; SentencePiece must not shuffle
      {"num_threads", "1"},
      {"minloglevel", "2"},  // its per-iteration INFO lines would bury our progress output
  };
  std::string model;
  try {
    model = spm::train(options, /*seed=*/1);
  } catch (const Error& e) {
    throw Error(str_cat("training the spm:", pieces, " tokenizer failed: ", e.what()));
  }
  return std::unique_ptr<SpmTokenizer>(new SpmTokenizer(std::move(model), str_cat("the trained spm:", pieces, " model")));
}

std::unique_ptr<SpmTokenizer> SpmTokenizer::load(const std::string& model_path) {
  DRT_CHECK(file_exists(model_path), "SentencePiece model ", model_path, " is missing");
  return std::unique_ptr<SpmTokenizer>(new SpmTokenizer(read_text_file(model_path), model_path));
}

int64_t SpmTokenizer::bos_id() const { return processor_->bos_id(); }

bool SpmTokenizer::is_special(int64_t id) const {
  if (id >= pieces_) return true;  // landmark, pad
  const int i = static_cast<int>(id);
  return processor_->is_control(i) || processor_->is_unknown(i);
}

std::vector<int64_t> SpmTokenizer::encode(std::string_view text) const {
  const std::vector<int> ids = processor_->encode(text);
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::string SpmTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> kept;
  kept.reserve(ids.size());
  for (int64_t id : ids) {
    check_id(id);
    if (!is_special(id)) kept.push_back(static_cast<int>(id));
  }
  return processor_->decode(kept);
}

std::string SpmTokenizer::decode_token(int64_t id) const {
  check_id(id);
  if (id == chunk_id()) return "<lmk>";
  if (id == pad_id()) return "<pad>";
  // Specials and byte pieces display as SentencePiece names them (<s>, <0xE6>); a
  // learned piece shows its text, with "▁" turned back into a space.
  const int i = static_cast<int>(id);
  if (processor_->is_control(i) || processor_->is_unknown(i) || processor_->is_byte(i)) return processor_->piece(i);
  return processor_->decode({i});
}

void SpmTokenizer::save(const std::string& dir) const {
  make_directories(dir);
  write_file_atomic(dir + "/tokenizer.model", model_);
  nlohmann::ordered_json json = tokenizer_json_common(*this);
  json["model"] = "tokenizer.model";
  json["pieces"] = pieces_;
  json["unk_id"] = processor_->unk_id();
  json["eos_id"] = processor_->eos_id();
  json["options"] = {{"model_type", "bpe"},           {"byte_fallback", true},
                     {"normalization", "identity"},   {"add_dummy_prefix", false},
                     {"remove_extra_whitespaces", false}};
  write_tokenizer_json(dir, json);
}

}  // namespace drt
