// The model's loss and every parameter gradient are the same with the fused kernels as
// with the plain-LibTorch reference path (the kernels' oracle), in training mode with
// Gumbel retrieval (seeded, so both runs retrieve the same chunks) and in eval mode.
#include "support/test_util.h"

#include "kernels/ops.h"
#include "support/kernel_scopes.h"

namespace drt::test {
namespace {

struct LossAndGrads {
  double loss;
  std::vector<std::pair<std::string, torch::Tensor>> grads;
};

LossAndGrads run(DrtLM& model, const torch::Tensor& tokens, KernelMode mode, bool training) {
  KernelModeScope scope(mode);
  model->zero_grad();
  if (training) model->train(); else model->eval();
  ForwardOptions o;
  o.noise_seed = 77;
  auto loss = lm_loss(model->forward(tokens, o).logits, tokens);
  loss.backward();
  LossAndGrads r{loss.item<double>(), {}};
  for (const auto& p : model->named_parameters())
    r.grads.emplace_back(p.key(), p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor());
  return r;
}

void expect_same(DrtLM& model, const torch::Tensor& tokens, bool training) {
  const LossAndGrads ref = run(model, tokens, KernelMode::kReference, training);
  const LossAndGrads fused = run(model, tokens, KernelMode::kFused, training);
  EXPECT_NEAR(fused.loss, ref.loss, 1e-5 * std::abs(ref.loss));
  ASSERT_EQ(fused.grads.size(), ref.grads.size());
  for (size_t i = 0; i < ref.grads.size(); ++i) {
    const auto& [name, g_ref] = ref.grads[i];
    const auto& g = fused.grads[i].second;
    ASSERT_EQ(g.defined(), g_ref.defined()) << name;
    if (!g_ref.defined()) continue;
    // Gradients are sums over all positions: tolerance relative to the tensor's scale.
    const double scale = g_ref.abs().max().item<double>();
    EXPECT_TRUE(all_close(g, g_ref, 1e-3, 1e-4 * scale + 1e-9)) << name;
  }
}

TEST(ModelKernels, FusedLossAndGradientsEqualReferenceInTraining) {
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c, 5);
  // 9 chunks: every group retrieves K = 2 chunks from chunk 3 on; T > W.
  expect_same(model, random_tokens(2, 9 * c.enc_chunk_size, 6), /*training=*/true);
}

TEST(ModelKernels, FusedLossAndGradientsEqualReferenceInEval) {
  ModelConfig c = tiny_config();
  DrtLM model = make_model(c, 8);
  expect_same(model, random_tokens(1, 11 * c.enc_chunk_size, 9), /*training=*/false);
}

TEST(ModelKernels, SlidingWindowBaselineFusedEqualsReference) {
  ModelConfig c = tiny_config();
  c.retrieval = false;
  DrtLM model = make_model(c, 2);
  expect_same(model, random_tokens(2, 105, 4), /*training=*/true);
}

}  // namespace
}  // namespace drt::test
