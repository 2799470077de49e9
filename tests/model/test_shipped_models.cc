// The passkey readers shipped in models/drt-small (the main job's model, made by
// scripts/train_tiny_passkey_cpu.sh) and models/drt-tiny-passkey (the same shape, made over
// fourteen stages) still read as documented: their configs are the ones their READMEs and
// docs/results.md describe (drt-small read with the k = 2 its last stage trained with,
// drt-tiny-passkey with k = 1; both trained at up to 16128 tokens), and a full read
// through a session finds passkeys thousands of tokens back, beyond their windows, by
// retrieving the needle's chunk. A regression test of the model files and of the reading
// path that evaluated them. models/drt-small-lm, the language model, loads as documented.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <ostream>

#include "data/synthetic.h"
#include "engine/model_files.h"
#include "eval/passkey.h"
#include "model/checkpoint.h"

namespace drt {
namespace {

struct ShippedModel {
  const char* name;
  int64_t chunk_topk;  // the k its config reads with, as its README says
};

void PrintTo(const ShippedModel& m, std::ostream* os) { *os << m.name << " (k = " << m.chunk_topk << ")"; }

class ShippedReader : public ::testing::TestWithParam<ShippedModel> {};

TEST_P(ShippedReader, FindsThePasskeyBeyondItsWindows) {
  torch::NoGradGuard no_grad;
  const std::string dir = std::string(DRT_SOURCE_DIR) + "/models/" + GetParam().name;
  DrtLM model = load_model(dir);
  const ModelConfig& c = model->config;
  EXPECT_EQ(c.chunk_topk, GetParam().chunk_topk);
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
  // Measured: 12 of 12 right and retrieved for each (drt-small since session 31: the
  // needle's chunk first at weight 0.83-0.93 of two). Chance is 1 in 100,000 per answer,
  // and k in 31 for the retrieval.
  EXPECT_GE(correct, 10) << report.table();
  EXPECT_GE(retrieved, 11) << report.table();
}

INSTANTIATE_TEST_SUITE_P(ShippedModels, ShippedReader,
                         ::testing::Values(ShippedModel{"drt-small", 2}, ShippedModel{"drt-tiny-passkey", 1}),
                         [](const ::testing::TestParamInfo<ShippedModel>& info) {
                           std::string name = info.param.name;
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
