#include "data/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file_util.h"

namespace drt {

std::string token_dtype_for(int64_t vocab_size) { return vocab_size <= 65536 ? "uint16" : "uint32"; }

int64_t CorpusManifest::token_bytes() const { return dtype == "uint16" ? 2 : 4; }

std::string CorpusManifest::to_json_text() const {
  nlohmann::ordered_json splits_json = nlohmann::ordered_json::object();
  for (const auto& [name, s] : splits)
    splits_json[name] = {{"file", s.file}, {"index_file", s.index_file}, {"documents", s.documents}, {"tokens", s.tokens}};
  const nlohmann::ordered_json json = {
      {"format_version", format_version},
      {"tokenizer", {{"kind", tokenizer_kind}, {"spec", tokenizer_spec}, {"vocab_size", vocab_size}}},
      {"dtype", dtype},
      {"byte_order", "little"},
      {"separator_id", separator_id},
      {"sources", sources},
      {"valid_fraction", valid_fraction},
      {"seed", seed},
      {"splits", splits_json},
  };
  return json.dump(2) + "\n";
}

CorpusManifest CorpusManifest::load(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  DRT_CHECK(file_exists(path), dir, " has no manifest.json (is it a directory written by `drt prepare`?)");
  CorpusManifest m;
  try {
    const nlohmann::json json = nlohmann::json::parse(read_text_file(path));
    m.format_version = json.at("format_version").get<int>();
    DRT_CHECK(m.format_version == kCorpusFormatVersion, path, " has format_version ", m.format_version,
              ", this drt reads version ", kCorpusFormatVersion);
    const auto& tok = json.at("tokenizer");
    m.tokenizer_kind = tok.at("kind").get<std::string>();
    m.tokenizer_spec = tok.at("spec").get<std::string>();
    m.vocab_size = tok.at("vocab_size").get<int64_t>();
    m.dtype = json.at("dtype").get<std::string>();
    m.separator_id = json.at("separator_id").get<int64_t>();
    m.sources = json.at("sources").get<std::vector<std::string>>();
    m.valid_fraction = json.at("valid_fraction").get<double>();
    m.seed = json.at("seed").get<uint64_t>();
    for (const auto& [name, s] : json.at("splits").items()) {
      SplitInfo info;
      info.file = s.at("file").get<std::string>();
      info.index_file = s.at("index_file").get<std::string>();
      info.documents = s.at("documents").get<int64_t>();
      info.tokens = s.at("tokens").get<int64_t>();
      m.splits[name] = info;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(path, " is not a valid corpus manifest: ", e.what()));
  }
  DRT_CHECK(m.dtype == "uint16" || m.dtype == "uint32", path, ": dtype '", m.dtype, "' is not uint16 or uint32");
  DRT_CHECK(m.vocab_size > 0 && (m.dtype == "uint32" || m.vocab_size <= 65536), path, ": vocab_size ", m.vocab_size,
            " does not fit dtype ", m.dtype);
  DRT_CHECK(m.separator_id >= 0 && m.separator_id < m.vocab_size, path, ": separator_id ", m.separator_id,
            " is outside the vocabulary (", m.vocab_size, ")");
  for (const auto& [name, s] : m.splits)
    DRT_CHECK(s.documents >= 0 && s.tokens >= 0, path, ": split '", name, "' has negative counts");
  return m;
}

namespace {

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

TokenFile TokenFile::open(const std::string& dir, const std::string& split) {
  TokenFile f;
  f.manifest_ = CorpusManifest::load(dir);
  auto it = f.manifest_.splits.find(split);
  DRT_CHECK(it != f.manifest_.splits.end(), dir, "/manifest.json has no split '", split, "'");
  const SplitInfo& info = it->second;
  f.path_ = dir + "/" + info.file;
  f.token_bytes_ = f.manifest_.token_bytes();
  f.tokens_ = info.tokens;

  // Document starts: documents + 1 little-endian uint64, from 0 up to the token count.
  const std::string index_path = dir + "/" + info.index_file;
  DRT_CHECK(file_exists(index_path), index_path, " is missing");
  const std::vector<char> index = read_binary_file(index_path);
  DRT_CHECK(index.size() == static_cast<size_t>(info.documents + 1) * 8, index_path, " has ", index.size(),
            " bytes, the manifest's ", info.documents, " documents need ", (info.documents + 1) * 8);
  f.document_starts_.resize(info.documents + 1);
  for (int64_t d = 0; d <= info.documents; ++d) {
    f.document_starts_[d] = static_cast<int64_t>(read_u64_le(index.data() + 8 * d));
    DRT_CHECK(d == 0 ? f.document_starts_[0] == 0 : f.document_starts_[d] >= f.document_starts_[d - 1], index_path,
              ": document starts are not increasing at document ", d);
  }
  DRT_CHECK(f.document_starts_.back() == info.tokens, index_path, " ends at token ", f.document_starts_.back(),
            ", the manifest says ", info.tokens, " tokens");

  const int fd = ::open(f.path_.c_str(), O_RDONLY | O_CLOEXEC);
  DRT_CHECK(fd >= 0, "cannot open ", f.path_, ": ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error(str_cat("cannot stat ", f.path_, ": ", std::strerror(err)));
  }
  const auto expected = static_cast<uint64_t>(info.tokens) * f.token_bytes_;
  if (static_cast<uint64_t>(st.st_size) != expected) {
    ::close(fd);
    throw Error(str_cat(f.path_, " has ", st.st_size, " bytes, but the manifest's ", info.tokens, " ", f.manifest_.dtype,
                        " tokens need ", expected, " (truncated or from another prepare run?)"));
  }
  if (expected > 0) {
    void* p = ::mmap(nullptr, expected, PROT_READ, MAP_SHARED, fd, 0);
    const int err = errno;
    ::close(fd);
    DRT_CHECK(p != MAP_FAILED, "cannot mmap ", f.path_, ": ", std::strerror(err));
    f.data_ = static_cast<const uint8_t*>(p);
    f.mapped_bytes_ = expected;
  } else {
    ::close(fd);
  }
  return f;
}

TokenFile::TokenFile(TokenFile&& o) noexcept { *this = std::move(o); }

TokenFile& TokenFile::operator=(TokenFile&& o) noexcept {
  if (this != &o) {
    release();
    manifest_ = std::move(o.manifest_);
    path_ = std::move(o.path_);
    data_ = o.data_;
    mapped_bytes_ = o.mapped_bytes_;
    tokens_ = o.tokens_;
    token_bytes_ = o.token_bytes_;
    document_starts_ = std::move(o.document_starts_);
    o.data_ = nullptr;
    o.mapped_bytes_ = 0;
    o.tokens_ = 0;
  }
  return *this;
}

TokenFile::~TokenFile() { release(); }

void TokenFile::release() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), mapped_bytes_);
  data_ = nullptr;
  mapped_bytes_ = 0;
}

void TokenFile::read(int64_t offset, int64_t n, int64_t* out) const {
  DRT_CHECK(offset >= 0 && n >= 0 && offset + n <= tokens_, "read of tokens [", offset, ", ", offset + n, ") from ", path_,
            " is out of range (", tokens_, " tokens)");
  const int64_t vocab = manifest_.vocab_size;
  const uint8_t* p = data_ + offset * token_bytes_;
  for (int64_t i = 0; i < n; ++i, p += token_bytes_) {
    int64_t id = p[0] | (static_cast<int64_t>(p[1]) << 8);
    if (token_bytes_ == 4) id |= (static_cast<int64_t>(p[2]) << 16) | (static_cast<int64_t>(p[3]) << 24);
    DRT_CHECK(id < vocab, path_, ": token ", offset + i, " is id ", id, ", outside the vocabulary (", vocab, ")");
    out[i] = id;
  }
}

int64_t TokenFile::operator[](int64_t i) const {
  int64_t id = 0;
  read(i, 1, &id);
  return id;
}

}  // namespace drt
