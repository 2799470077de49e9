// The passkey readers shipped in models/drt-small (the main job's model, made by
// scripts/train_tiny_passkey_cpu.sh) and models/drt-tiny-passkey (the same shape, made over
// fourteen stages) still read as documented: their configs are the ones their READMEs and
// docs/results.md describe (read with k = 1, trained at up to 16128 tokens), and a full read
// through a session finds passkeys thousands of tokens back, beyond their windows, by
// retrieving the needle's chunk. A regression test of the model files and of the reading
// path that evaluated them. models/drt-small-lm, the language model, loads as documented.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "data/synthetic.h"
#include "engine/model_files.h"
#include "eval/passkey.h"
#include "model/checkpoint.h"

namespace drt {
namespace {

class ShippedReader : public ::testing::TestWithParam<const char*> {};

TEST_P(ShippedReader, FindsThePasskeyBeyondItsWindows) {
  torch::NoGradGuard no_grad;
  const std::string dir = std::string(DRT_SOURCE_DIR) + "/models/" + GetParam();
  DrtLM model = load_model(dir);
  const ModelConfig& c = model->config;
  EXPECT_EQ(c.chunk_topk, 1);
  ASSERT_TRUE(c.train_seq_len.has_value());
  EXPECT_EQ(*c.train_seq_len, 16128);
  ASSERT_TRUE(c.retrieval);
  auto tokenizer = load_model_tokenizer(dir, c);

  PasskeyOptions options;
  options.lengths = {2016};  // 32 chunks; the needles at depths <= 0.5 lie >= 900 tokens back
  options.depth_list = {0.0, 0.25, 0.5};
  options.trials = 4;
  options.progress = false;
  options.overlay = true;
  const std::vector<int64_t> haystack = tokenizer->encode(passkey_filler_text());
  const PasskeyReport report =
      run_passkey(*tokenizer, haystack, c.enc_chunk_size, options,
                  session_attempt(model, *tokenizer, PasskeyMode::kToken, MemorySpec{}));
  int64_t correct = 0, retrieved = 0, trials = 0;
  for (const auto& cell : report.results) {
    correct += cell.correct;
    retrieved += cell.retrieved;
    trials += cell.trials;
    EXPECT_GT(cell.needle_distance / cell.trials, 2 * c.slide_window) << "depth " << cell.depth;
  }
  ASSERT_EQ(trials, 12);
  // Measured: 12 of 12 (and 12 of 12 at 4032 tokens). Chance is 1 in 100,000 per answer,
  // and 1 in 31 for the retrieval.
  EXPECT_GE(correct, 10) << report.table();
  EXPECT_GE(retrieved, 11) << report.table();
}

INSTANTIATE_TEST_SUITE_P(ShippedModels, ShippedReader, ::testing::Values("drt-small", "drt-tiny-passkey"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST(ShippedModels, TheLanguageModelLoadsAsDocumented) {
  const std::string dir = std::string(DRT_SOURCE_DIR) + "/models/drt-small-lm";
  DrtLM model = load_model(dir);
  const ModelConfig& c = model->config;
  EXPECT_EQ(c.hidden_size, 256);
  EXPECT_EQ(c.chunk_topk, 8);
  ASSERT_TRUE(c.train_seq_len.has_value());
  EXPECT_EQ(*c.train_seq_len, 1008);
  EXPECT_NEAR(static_cast<double>(count_parameters(model)), 6.35e6, 0.005e6) << "docs say 6.35M";
}

}  // namespace
}  // namespace drt
