// With retrieval off, the model is a plain sliding-window transformer: computed here by
// hand, with a full T x T masked softmax, from the model's own weights.
#include "support/test_util.h"

namespace drt::test {
namespace {

torch::Tensor rms(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps) * w;
}

torch::Tensor by_hand(DrtLM& model, const torch::Tensor& tokens) {
  const ModelConfig& c = model->config;
  auto p = model->named_parameters();
  const int64_t H = c.num_attention_heads, D = c.head_dim(), S = c.enc_chunk_size;
  auto ids = model->insert_landmarks(tokens)[0];  // [L]
  const int64_t L = ids.size(0);
  auto x = p["model.embed_tokens.weight"].index_select(0, ids).to(torch::kFloat64);  // [L, d]
  auto i = torch::arange(L).unsqueeze(1), j = torch::arange(L).unsqueeze(0);
  auto visible = (i - j >= 0).logical_and(i - j <= (c.slide_window < 0 ? L : c.slide_window));
  for (int64_t l = 0; l < c.num_lower_layers(); ++l) {
    auto P = [&](const std::string& n) { return p["model.lower_layers." + std::to_string(l) + "." + n].to(torch::kFloat64); };
    auto h = rms(x, P("input_layernorm.weight"), c.rms_norm_eps);
    auto q = torch::matmul(h, P("self_attn.q_proj.weight").t()).view({L, H, D}).transpose(0, 1);
    auto k = torch::matmul(h, P("self_attn.k_proj.weight").t()).view({L, H, D}).transpose(0, 1);
    auto v = torch::matmul(h, P("self_attn.v_proj.weight").t()).view({L, H, D}).transpose(0, 1);
    auto logits = torch::matmul(q, k.transpose(1, 2)) / std::sqrt(double(D));  // [H, L, L]
    for (int64_t hh = 0; hh < H; ++hh) {
      double m = std::pow(2.0, -8.0 * (hh + 1) / H);
      logits[hh] -= m * (i - j).to(torch::kFloat64);
    }
    logits = logits.masked_fill(visible.logical_not(), -INFINITY);
    auto o = torch::matmul(torch::softmax(logits, -1), v).transpose(0, 1).reshape({L, H * D});
    x = x + torch::matmul(o, P("self_attn.o_proj.weight").t());
    auto h2 = rms(x, P("post_attention_layernorm.weight"), c.rms_norm_eps);
    auto gate = torch::matmul(h2, P("mlp.gate_proj.weight").t());
    auto up = torch::matmul(h2, P("mlp.up_proj.weight").t());
    x = x + torch::matmul(torch::silu(gate) * up, P("mlp.down_proj.weight").t());
  }
  x = rms(x, p["model.norm.weight"].to(torch::kFloat64), c.rms_norm_eps);
  auto text = x.view({L / (S + 1), S + 1, -1}).narrow(1, 0, S).reshape({-1, x.size(1)});
  return torch::matmul(text, p["model.embed_tokens.weight"].to(torch::kFloat64).t()).unsqueeze(0);
}

TEST(Baseline, RetrievalOffEqualsAPlainSlidingWindowTransformer) {
  ModelConfig c = tiny_config();
  c.retrieval = false;  // decoder_layers [1,1,1] become 3 lower layers
  DrtLM model = make_model(c, 5);
  EXPECT_EQ(model->model->lower_layers->size(), 3u);
  for (const auto& item : model->named_parameters()) {
    EXPECT_EQ(item.key().find("encoder"), std::string::npos) << item.key();
    EXPECT_EQ(item.key().find("gca"), std::string::npos) << item.key();
  }
  auto tokens = random_tokens(1, 7 * c.enc_chunk_size, 21);
  torch::NoGradGuard ng;
  EXPECT_TRUE(all_close(model->forward(tokens).logits, by_hand(model, tokens), 1e-4, 1e-5));
  c.slide_window = -1;  // full causal attention: a plain transformer
  DrtLM full = make_model(c, 5);
  EXPECT_TRUE(all_close(full->forward(tokens).logits, by_hand(full, tokens), 1e-4, 1e-5));
}

}  // namespace
}  // namespace drt::test
