// Spliced passkey reading (eval/passkey.h) is exact: for samples with needles at every
// depth (one needle, several keyed needles), a session started by SplicedReader and fed
// the rest of the sample gives the full read's logits at the answer, and by the end holds
// the full read's landmark keys and chunk memory for every chunk. The sliding-window
// baseline too. A control shows the needle really changes the memory that splicing patches.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/tokenizer.h"
#include "eval/passkey.h"
#include "support/test_util.h"

namespace drt {
namespace {

// Tiny, with chunks long enough for the question (S = 63) and a window of one chunk, so
// that a 40-chunk sample is far longer than what a needle or the question reaches.
ModelConfig splice_config(bool retrieval) {
  ModelConfig c = test::tiny_config();
  c.enc_chunk_size = 63;
  c.slide_window = 64;
  c.chunk_topk = 4;
  c.decoder_layers = {1, 1, 1};
  c.retrieval = retrieval;
  return c;
}

// Every chunk's K and V blocks of a session's memory: [N, S, d] each.
std::pair<torch::Tensor, torch::Tensor> all_blocks(const Session& s) {
  std::vector<int64_t> ids(static_cast<size_t>(s.memory().size()));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i);
  torch::Tensor k, v;
  s.memory().read(ids, k, v);
  return {k, v};
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double diff = (a - b).abs().max().item<double>();
  EXPECT_LT(diff, 2e-4) << what << ": max |spliced - full| = " << diff;
}

void check_task(bool retrieval, SyntheticTask task) {
  torch::NoGradGuard no_grad;
  const ModelConfig c = splice_config(retrieval);
  DrtLM model = test::make_model(c, 7);
  auto tok = make_tokenizer("bytes");
  const std::vector<int64_t> haystack = tok->encode(passkey_filler_text() + " The sky is blue today, and so on.");
  const int64_t S = c.enc_chunk_size, length = 40 * S;
  std::vector<SyntheticOptions> samples;
  for (double depth : {0.0, 0.02, 0.3, 0.7, 0.93, 1.0}) {
    SyntheticOptions o;
    o.length = length;
    o.chunk_size = S;
    o.depth = depth;
    o.keys = 3;
    o.seed = static_cast<uint64_t>(1000 * depth) + 5;
    o.haystack_offset = 123;
    samples.push_back(o);
  }
  SplicedReader reader(model, *tok, haystack, task, MemorySpec{}, /*progress=*/false);
  reader.prepare(length, samples);
  for (const auto& o : samples) {
    SCOPED_TRACE("depth " + std::to_string(o.depth));
    const SyntheticSample sample = make_synthetic(task, *tok, haystack, o);
    const int64_t A = static_cast<int64_t>(sample.answer.size());
    Session full(model, std::make_unique<RamChunkStore>(ChunkShape{S, c.hidden_size}));
    full.read(sample.tokens.data(), length - A - 1, Logits::kNone);
    auto full_logits = full.read(sample.tokens.data() + length - A - 1, A + 1, Logits::kAll);  // [A+1, V]

    int64_t from = -1;
    Session spliced = reader.start(sample, &from);
    ASSERT_GT(from, 0);
    ASSERT_LT(from, length - A);
    spliced.read(sample.tokens.data() + from, length - A - 1 - from, Logits::kNone);
    auto spliced_logits = spliced.read(sample.tokens.data() + length - A - 1, A + 1, Logits::kAll);
    expect_close(spliced_logits, full_logits, "logits at the answer");
    if (retrieval) {
      ASSERT_EQ(spliced.chunks(), full.chunks());
      expect_close(spliced.landmarks(), full.landmarks(), "landmark keys");
      auto [fk, fv] = all_blocks(full);
      auto [sk, sv] = all_blocks(spliced);
      expect_close(sk, fk, "chunk memory K");
      expect_close(sv, fv, "chunk memory V");
    }
  }
  // What splicing saves: far fewer tokens read per sample than the sample's length.
  EXPECT_LT(reader.stats().sample_tokens, static_cast<int64_t>(samples.size()) * length / 2);
  EXPECT_EQ(reader.stats().samples, static_cast<int64_t>(samples.size()));
}

TEST(PasskeySplice, DrtPasskeyEqualsFullRead) { check_task(true, SyntheticTask::kPasskey); }
TEST(PasskeySplice, DrtMultikeyEqualsFullRead) { check_task(true, SyntheticTask::kMultikey); }
TEST(PasskeySplice, SlidingWindowBaselineEqualsFullRead) { check_task(false, SyntheticTask::kPasskey); }

// Control: the needle changes the memory of its chunk (so the patches above matter).
TEST(PasskeySplice, NeedleChangesItsChunkMemory) {
  torch::NoGradGuard no_grad;
  const ModelConfig c = splice_config(true);
  DrtLM model = test::make_model(c, 7);
  auto tok = make_tokenizer("bytes");
  const std::vector<int64_t> haystack = tok->encode(passkey_filler_text());
  const int64_t S = c.enc_chunk_size, length = 20 * S;
  SyntheticOptions o;
  o.length = length;
  o.chunk_size = S;
  o.depth = 0.5;
  o.haystack_offset = 0;
  const SyntheticSample sample = make_synthetic(SyntheticTask::kPasskey, *tok, haystack, o);
  std::vector<int64_t> plain(static_cast<size_t>(length));
  for (int64_t i = 0; i < length; ++i) plain[i] = haystack[i % static_cast<int64_t>(haystack.size())];
  Session with(model, std::make_unique<RamChunkStore>(ChunkShape{S, c.hidden_size}));
  Session without(model, std::make_unique<RamChunkStore>(ChunkShape{S, c.hidden_size}));
  with.read(sample.tokens.data(), length - S, Logits::kNone);
  without.read(plain.data(), length - S, Logits::kNone);
  const int64_t needle_chunk = sample.needle_pos / S;
  auto diff = (with.landmarks()[needle_chunk] - without.landmarks()[needle_chunk]).abs().max().item<double>();
  EXPECT_GT(diff, 1e-3);
  // And before the needle nothing differs.
  EXPECT_TRUE(torch::equal(with.landmarks().narrow(0, 0, needle_chunk), without.landmarks().narrow(0, 0, needle_chunk)));
}

}  // namespace
}  // namespace drt
