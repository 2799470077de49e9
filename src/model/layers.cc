#include "model/layers.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "kernels/ops.h"

namespace drt {

namespace {
torch::nn::Linear linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}
// The chunk encoder's norms use 1e-6 as in the official code (its LlamaConfig default).
constexpr double kEncoderNormEps = 1e-6;
}  // namespace

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto xf = x.to(torch::kFloat32);
  auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return (y * weight.to(torch::kFloat32)).to(x.scalar_type());
}

MlpImpl::MlpImpl(int64_t d, int64_t inner) {
  gate_proj = register_module("gate_proj", linear(d, inner));
  up_proj = register_module("up_proj", linear(d, inner));
  down_proj = register_module("down_proj", linear(inner, d));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

torch::Tensor alibi_slopes(int64_t num_heads) {
  auto m = torch::empty({num_heads}, torch::kFloat32);
  for (int64_t h = 0; h < num_heads; ++h)
    m[h] = std::pow(2.0, -8.0 * static_cast<double>(h + 1) / static_cast<double>(num_heads));
  return m;
}

WindowAttentionImpl::WindowAttentionImpl(const ModelConfig& c)
    : num_heads(c.num_attention_heads), head_dim(c.head_dim()), window(c.effective_window()), rope(c.window_rope) {
  const int64_t d = c.hidden_size;
  q_proj = register_module("q_proj", linear(d, d));
  k_proj = register_module("k_proj", linear(d, d));
  v_proj = register_module("v_proj", linear(d, d));
  o_proj = register_module("o_proj", linear(d, d));
  if (c.enable_alibi) m = register_buffer("m", alibi_slopes(num_heads));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> WindowAttentionImpl::project(const torch::Tensor& x,
                                                                                     int64_t first_position) {
  const int64_t B = x.size(0), T = x.size(1);
  auto q = q_proj(x).view({B, T, num_heads, head_dim}), k = k_proj(x).view({B, T, num_heads, head_dim});
  if (rope) {
    q = apply_rope(q, first_position);
    k = apply_rope(k, first_position);
  }
  return {q, k, v_proj(x).view({B, T, num_heads, head_dim})};
}

torch::Tensor WindowAttentionImpl::output(const torch::Tensor& heads) {
  return o_proj(heads.reshape({heads.size(0), heads.size(1), num_heads * head_dim}));
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x) {
  auto [q, k, v] = project(x);
  return output(window_attention(q, k, v, m, window, /*q_offset=*/0));
}

torch::Tensor apply_rope(const torch::Tensor& x, int64_t first_position) {
  const int64_t T = x.size(1), D = x.size(3);
  auto inv_freq = 1.0 / torch::pow(10000.0, torch::arange(0, D, 2, torch::kFloat64) / static_cast<double>(D));
  // Angles in float64: far into a long stream a position has many more digits than float32 keeps.
  auto positions = torch::arange(first_position, first_position + T, torch::kFloat64);
  auto freqs = torch::outer(positions, inv_freq);     // [T, D/2]
  auto emb = torch::cat({freqs, freqs}, -1);          // [T, D]
  auto cos = emb.cos().to(x.scalar_type()).view({1, T, 1, D}).to(x.device());
  auto sin = emb.sin().to(x.scalar_type()).view({1, T, 1, D}).to(x.device());
  auto x1 = x.narrow(-1, 0, D / 2), x2 = x.narrow(-1, D / 2, D / 2);
  auto rotated = torch::cat({-x2, x1}, -1);
  return x * cos + rotated * sin;
}

EncoderAttentionImpl::EncoderAttentionImpl(const ModelConfig& c)
    : num_heads(c.num_attention_heads), head_dim(c.head_dim()) {
  const int64_t d = c.hidden_size;
  q_proj = register_module("q_proj", linear(d, d));
  k_proj = register_module("k_proj", linear(d, d));
  v_proj = register_module("v_proj", linear(d, d));
  o_proj = register_module("o_proj", linear(d, d));
}

torch::Tensor EncoderAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t BN = x.size(0), T = x.size(1);
  auto q = apply_rope(q_proj(x).view({BN, T, num_heads, head_dim}), 0).transpose(1, 2);  // [BN, H, T, D]
  auto k = apply_rope(k_proj(x).view({BN, T, num_heads, head_dim}), 0).transpose(1, 2);
  auto v = v_proj(x).view({BN, T, num_heads, head_dim}).transpose(1, 2);
  auto p = torch::softmax(torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(head_dim)), -1);
  auto o = torch::matmul(p, v).transpose(1, 2).reshape({BN, T, num_heads * head_dim});
  return o_proj(o);
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c) {
  self_attn = register_module("self_attn", WindowAttention(c));
  mlp = register_module("mlp", Mlp(c.hidden_size, c.intermediate_size));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x) {
  auto h = x + self_attn(input_layernorm(x));
  return h + mlp(post_attention_layernorm(h));
}

EncoderLayerImpl::EncoderLayerImpl(const ModelConfig& c) {
  self_attn = register_module("self_attn", EncoderAttention(c));
  mlp = register_module("mlp", Mlp(c.hidden_size, c.intermediate_size));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, kEncoderNormEps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, kEncoderNormEps));
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x) {
  auto h = x + self_attn(input_layernorm(x));
  return h + mlp(post_attention_layernorm(h));
}

GcaImpl::GcaImpl(const ModelConfig& c)
    : num_heads(c.num_attention_heads), head_dim(c.head_dim()), null_key(c.null_key()) {
  pre_norm = register_module("pre_norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  q_proj = register_module("q_proj", linear(c.hidden_size, c.hidden_size));
  o_proj = register_module("o_proj", linear(c.hidden_size, c.hidden_size));
}

torch::Tensor GcaImpl::forward(const torch::Tensor& h, const torch::Tensor& mem_k, const torch::Tensor& mem_v,
                               const torch::Tensor& indices, const torch::Tensor& weights) {
  const int64_t B = h.size(0), N = h.size(1), L = h.size(2);
  auto q = q_proj(pre_norm(h)).view({B, N, L, num_heads, head_dim});
  auto o = gca(q, mem_k, mem_v, indices.clamp_min(0), weights, null_key);  // [B, N, L, H, D]
  return o_proj(o.reshape({B, N, L, num_heads * head_dim}));
}

UpperLayerImpl::UpperLayerImpl(const ModelConfig& c) : block_size(c.block_size()), gca_residual(c.gca_residual) {
  self_attn = register_module("self_attn", WindowAttention(c));
  gca = register_module("gca", Gca(c));
  mlp = register_module("mlp", Mlp(c.hidden_size, c.intermediate_size));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor UpperLayerImpl::forward(const torch::Tensor& x, const ChunkMemory& memory, const Retrieval& served) {
  const int64_t B = x.size(0), T = x.size(1), d = x.size(2);
  auto h = x + self_attn(input_layernorm(x));
  auto blocks = h.view({B, T / block_size, block_size, d});
  auto g = gca(blocks, memory.k, memory.v, served.indices, served.weights).view({B, T, d});
  auto out = h + mlp(post_attention_layernorm(h + g));
  return gca_residual ? out + g : out;
}

}  // namespace drt
