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

// A toy task whose answer sits in one far chunk. Filler is lowercase letters; one chunk
// holds a random digit X repeated S times; the last chunk starts with the marker '?'
// followed by X. The loss is taken only on predicting that X after '?'. In training the
// needle is anywhere before the last two chunks; some of those places are within the
// receptive field of the stacked windows (2 decoder layers x W positions back from the
// '?'), which teaches the layers to carry the digit. The evaluation uses only needles
// beyond that field: there the only way below log(10) is to retrieve the needle's chunk
// (chunk N-2's retrieval serves chunk N-1) and read X through GCA.
struct ToyBatch {
  torch::Tensor tokens;         // [B, N S]
  std::vector<int64_t> needle;  // chunk index of the needle per sample
};

ToyBatch toy_batch(int64_t B, int64_t S, int64_t N, int64_t needle_end, torch::Generator& gen) {
  ToyBatch batch;
  batch.tokens = torch::randint('a', 'z' + 1, {B, N * S}, gen, torch::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t needle = torch::randint(0, needle_end, {1}, gen, torch::kLong).item<int64_t>();
    const int64_t digit = torch::randint('0', '9' + 1, {1}, gen, torch::kLong).item<int64_t>();
    batch.tokens[b].narrow(0, needle * S, S).fill_(digit);
    batch.tokens[b][(N - 1) * S] = '?';
    batch.tokens[b][(N - 1) * S + 1] = digit;
    batch.needle.push_back(needle);
  }
  return batch;
}

torch::Tensor answer_mask(int64_t B, int64_t S, int64_t N) {
  auto mask = torch::zeros({B, N * S}, torch::kFloat32);
  mask.select(1, (N - 1) * S + 1).fill_(1.0);  // the answer after '?'
  return mask;
}

// In eval mode (plain top-k): the loss on the answer, and how often the retrieval serving
// the last chunk (made by chunk N-2) ranks first a chunk that holds the answer: the needle
// chunk, or one of the `carry` chunks after it, whose
// lower-stack states saw the needle through the window (W positions back: W / (S + 1)
// chunks) and so carry the digit into their chunk memory too.
struct EvalStats {
  double loss = 0;
  double top1_hit = 0;
};

EvalStats evaluate(DrtLM& model, const ToyBatch& batch, int64_t S, int64_t N, int64_t carry) {
  torch::NoGradGuard ng;
  model->eval();
  auto out = model->forward(batch.tokens);
  const int64_t B = batch.tokens.size(0);
  EvalStats s;
  s.loss = lm_loss(out.logits, batch.tokens, answer_mask(B, S, N)).item<double>();
  auto holds_answer = [&](int64_t chunk, int64_t b) {
    return chunk >= batch.needle[b] && chunk <= batch.needle[b] + carry;
  };
  for (const auto& r : out.retrievals)
    for (int64_t b = 0; b < B; ++b) {
      s.top1_hit += holds_answer(r.indices[b][N - 2][0].item<int64_t>(), b) ? 1.0 : 0.0;
    }
  s.top1_hit /= static_cast<double>(B * out.retrievals.size());
  model->train();
  return s;
}

TEST(RetrieverLearns, TrainingMakesRetrievalFetchTheFarChunkThatHoldsTheAnswer) {
  ModelConfig c = tiny_config();
  c.decoder_layers = {1, 1};  // one retrieval group keeps the test fast
  DrtLM model = make_model(c, 3);
  model->train();
  const int64_t S = c.enc_chunk_size, L = S + 1, N = 8, B = 16;
  // The '?' at position (N-1) L sees inputs back to (N-1) L - 2 W through the two layers.
  const int64_t far_end = ((N - 1) * L - 2 * c.slide_window) / L;  // far needles: [0, far_end)
  ASSERT_GE(far_end, 2);
  const int64_t train_end = N - 3;  // the last two chunks are in the '?''s own window
  const int64_t carry = c.slide_window / L;  // chunks after the needle whose states see it (one lower layer)
  auto gen = at::detail::createCPUGenerator(123);
  torch::Generator eval_gen = at::detail::createCPUGenerator(999);
  ToyBatch eval_batch = toy_batch(64, S, N, far_end, eval_gen);
  const EvalStats before = evaluate(model, eval_batch, S, N, carry);

  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.0));
  const auto mask = answer_mask(B, S, N);
  const int steps = 400;
  for (int step = 0; step < steps; ++step) {
    ToyBatch batch = toy_batch(B, S, N, train_end, gen);
    ForwardOptions o;
    o.noise_seed = static_cast<uint64_t>(step) * 1000;
    auto loss = lm_loss(model->forward(batch.tokens, o).logits, batch.tokens, mask);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  const EvalStats after = evaluate(model, eval_batch, S, N, carry);
  RecordProperty("answer_loss_after", std::to_string(after.loss));
  RecordProperty("top1_hit_after", std::to_string(after.top1_hit));
  std::cout << "far needles: answer loss " << before.loss << " -> " << after.loss << " (guessing: log 10 = 2.30); retrieval ranks "
            << "the answer's chunk first " << before.top1_hit << " -> " << after.top1_hit << "\n";
  EXPECT_LT(after.loss, 0.5);
  EXPECT_GT(after.top1_hit, 0.75);
  EXPECT_GT(after.top1_hit, before.top1_hit + 0.4);
}

}  // namespace
}  // namespace drt::test
