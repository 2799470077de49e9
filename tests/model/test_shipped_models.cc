// The passkey reader shipped in models/drt-tiny-passkey (the main job's model) still reads
// as documented: its config is the one its README and docs/results.md describe (read with
// k = 1, trained at up to 16128 tokens), and a full read through a session finds passkeys
// thousands of tokens back, beyond its windows, by retrieving the needle's chunk. A
// regression test of the model files and of the reading path that evaluated them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/synthetic.h"
#include "engine/model_files.h"
#include "eval/passkey.h"
#include "model/checkpoint.h"

namespace drt {
namespace {

TEST(ShippedModels, TinyPasskeyReaderFindsThePasskeyBeyondItsWindows) {
  torch::NoGradGuard no_grad;
  const std::string dir = std::string(DRT_SOURCE_DIR) + "/models/drt-tiny-passkey";
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

}  // namespace
}  // namespace drt
