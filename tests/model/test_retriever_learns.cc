// The retriever is trained end to end by the language-model loss (DESIGN §2.5).
#include <torch/optim/adamw.h>

#include "support/test_util.h"

namespace drt::test {
namespace {

TEST(RetrieverLearns, GradientReachesLandmarkKeysAndQueries) {
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c);
  model->train();
  auto tokens = random_tokens(2, 6 * c.enc_chunk_size, 4);
  auto loss = lm_loss(model->forward(tokens).logits, tokens);
  loss.backward();
  auto params = model->named_parameters();
  // Queries: the group's landmark norm. Keys: the encoder that writes the landmark keys.
  for (const char* name : {"model.lmk_norms.0.weight", "model.lmk_norms.1.weight", "model.encoder.norm.weight",
                           "model.encoder.layers.0.mlp.down_proj.weight", "model.enc_prenorm.weight",
                           "model.chunk_k_proj.weight", "model.chunk_v_proj.weight",
                           "model.upper_layers.0.0.gca.q_proj.weight"}) {
    ASSERT_TRUE(params.contains(name)) << name;
    auto g = params[name].grad();
    ASSERT_TRUE(g.defined()) << name << " got no gradient";
    EXPECT_TRUE(g.isfinite().all().item<bool>()) << name;
    EXPECT_GT(g.abs().max().item<double>(), 0.0) << name;
  }
}

// A toy task whose answer sits in one far chunk: a chunk of random "digits" (bytes
// '0'..'9') is hidden at a random chunk among 1..4 of filler text; the last chunk repeats
// it. Predicting the last chunk needs the far chunk, which only retrieval can reach (the
// window covers two chunks).
struct ToyBatch {
  torch::Tensor tokens;        // [B, N S]
  std::vector<int64_t> needle;  // chunk index of the needle per sample
};

ToyBatch toy_batch(int64_t B, int64_t S, int64_t N, torch::Generator& gen) {
  ToyBatch batch;
  batch.tokens = torch::empty({B, N * S}, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    // Filler: lowercase letters.
    auto row = torch::randint('a', 'z' + 1, {N * S}, gen, torch::kLong);
    const int64_t needle = torch::randint(1, 5, {1}, gen, torch::kLong).item<int64_t>();
    auto digits = torch::randint('0', '9' + 1, {S}, gen, torch::kLong);
    row.narrow(0, needle * S, S).copy_(digits);
    row.narrow(0, (N - 1) * S, S).copy_(digits);
    batch.tokens[b].copy_(row);
    batch.needle.push_back(needle);
  }
  return batch;
}

// Mean weight that the retrieval serving the last chunk (made by chunk N-2, in the last
// group) puts on the needle chunk; 0 when the needle is not chosen.
double needle_weight(DrtLM& model, const ToyBatch& batch, int64_t N) {
  torch::NoGradGuard ng;
  model->eval();
  auto out = model->forward(batch.tokens);
  double total = 0;
  for (const auto& r : out.retrievals) {
    for (int64_t b = 0; b < batch.tokens.size(0); ++b) {
      auto idx = r.indices[b][N - 2];
      auto w = r.weights[b][N - 2];
      for (int64_t k = 0; k < idx.size(0); ++k)
        if (idx[k].item<int64_t>() == batch.needle[b]) total += w[k].item<double>();
    }
  }
  model->train();
  return total / (batch.tokens.size(0) * out.retrievals.size());
}

// DISABLED: in 300 steps the tiny model does not yet learn this task (needle weight
// 0.10 -> 0.13, loss stays at log 10). Kept as the acceptance test of issue 2's
// "the retriever learns" criterion, which is open until it passes.
TEST(RetrieverLearns, DISABLED_TrainingRaisesTheWeightOfTheFarChunkThatHoldsTheAnswer) {
  ModelConfig c = tiny_config();
  c.decoder_layers = {1, 1};  // one retrieval group keeps the test fast
  DrtLM model = make_model(c, 3);
  model->train();
  const int64_t S = c.enc_chunk_size, N = 7, B = 8;
  auto gen = at::detail::createCPUGenerator(123);
  torch::Generator eval_gen = at::detail::createCPUGenerator(999);
  ToyBatch eval_batch = toy_batch(32, S, N, eval_gen);
  const double before = needle_weight(model, eval_batch, N);

  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.0));
  double last_loss = 0;
  for (int step = 0; step < 300; ++step) {
    ToyBatch batch = toy_batch(B, S, N, gen);
    // Loss on the last chunk only: that is where the far chunk helps.
    auto mask = torch::zeros({B, N * S}, torch::kFloat32);
    mask.narrow(1, (N - 1) * S + 1, S - 1).fill_(1.0);
    ForwardOptions o;
    o.noise_seed = static_cast<uint64_t>(step) * 1000;
    auto loss = lm_loss(model->forward(batch.tokens, o).logits, batch.tokens, mask);
    opt.zero_grad();
    loss.backward();
    opt.step();
    last_loss = loss.item<double>();
  }
  const double after = needle_weight(model, eval_batch, N);
  RecordProperty("needle_weight_before", std::to_string(before));
  RecordProperty("needle_weight_after", std::to_string(after));
  std::cout << "needle weight " << before << " -> " << after << ", final loss " << last_loss << "\n";
  EXPECT_GT(after, before + 0.25);
  EXPECT_GT(after, 0.6);
  // Copying 15 random digits from the far chunk: far below the log(10) = 2.3 of guessing.
  EXPECT_LT(last_loss, 1.5);
}

}  // namespace
}  // namespace drt::test
