// The building blocks of DRT (DESIGN §2), as LibTorch modules whose parameter names
// follow the official implementation's state_dict.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "config/model_config.h"

namespace drt {

// RMSNorm: x * rsqrt(mean(x^2) + eps) * weight, computed in float32.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // [..., d] -> [..., d]
  torch::Tensor weight;                            // [d]
  double eps;
};
TORCH_MODULE(RMSNorm);

// SwiGLU MLP: down(silu(gate(x)) * up(x)), no biases.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t d, int64_t inner);
  torch::Tensor forward(const torch::Tensor& x);  // [..., d] -> [..., d]
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

// ALiBi slopes m_h = 2^(-8(h+1)/H), h = 0..H-1.  -> [H] float32
torch::Tensor alibi_slopes(int64_t num_heads);

// RoPE (rotate-half convention, theta 10000) at positions first_position .. first_position+T-1.
// x: [B, T, H, D] -> the same shape
torch::Tensor apply_rope(const torch::Tensor& x, int64_t first_position);

// Causal multi-head self-attention over a sliding window with ALiBi (decoder layers), or
// with RoPE when the config says window_rope.
class WindowAttentionImpl : public torch::nn::Module {
 public:
  explicit WindowAttentionImpl(const ModelConfig& c);
  // x: [B, T, d] -> [B, T, d]
  torch::Tensor forward(const torch::Tensor& x);
  // Projections: x [B, T, d] -> q, k, v each [B, T, H, D]; with RoPE, q and k are rotated
  // for positions first_position.. (a streaming step passes how many positions came before).
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> project(const torch::Tensor& x, int64_t first_position = 0);
  // Attention output [B, T, H, D] -> [B, T, d].
  torch::Tensor output(const torch::Tensor& heads);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  torch::Tensor m;  // [H] ALiBi slopes (buffer "m", as in official checkpoints); undefined without ALiBi
  int64_t num_heads, head_dim, window;
  bool rope;  // RoPE on q and k (config window_rope)
};
TORCH_MODULE(WindowAttention);

// Bidirectional attention inside one chunk block, with RoPE on positions 0..S (encoder).
class EncoderAttentionImpl : public torch::nn::Module {
 public:
  explicit EncoderAttentionImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // [BN, S+1, d] -> [BN, S+1, d]
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  int64_t num_heads, head_dim;
};
TORCH_MODULE(EncoderAttention);

// A lower-stack decoder layer: x + Attn(norm(x)), then + MLP(norm(.)).
class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // [B, T, d] -> [B, T, d]
  WindowAttention self_attn{nullptr};
  Mlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

// A chunk-encoder layer: like a decoder layer, but bidirectional with RoPE, eps 1e-6.
class EncoderLayerImpl : public torch::nn::Module {
 public:
  explicit EncoderLayerImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // [BN, S+1, d] -> [BN, S+1, d]
  EncoderAttention self_attn{nullptr};
  Mlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(EncoderLayer);

// The chunk memory of one sequence batch: what the encoder wrote for every chunk.
struct ChunkMemory {
  torch::Tensor landmarks;  // [B, N, d]        landmark keys l_c = C[S]
  torch::Tensor k, v;       // [B, N, S, H, D]  chunk K/V: C[0..S-1] Wk / Wv
};

// The chunks retrieved for a set of query blocks.
struct Retrieval {
  torch::Tensor indices;  // [B, N, K] int64, -1 in unused slots
  torch::Tensor weights;  // [B, N, K] softmax of the chosen scores; exactly 0 in unused slots
};

// Grouped Cross Attention (DESIGN §2.7): q = Wq norm(h); sum_i w_i softmax1(q K_i^T) V_i; Wo.
class GcaImpl : public torch::nn::Module {
 public:
  explicit GcaImpl(const ModelConfig& c);
  // h: [B, N, L, d] query blocks; retrieved chunk ids/weights per block: [B, N, K].
  // -> [B, N, L, d]
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& mem_k, const torch::Tensor& mem_v,
                        const torch::Tensor& indices, const torch::Tensor& weights);
  RMSNorm pre_norm{nullptr};
  torch::nn::Linear q_proj{nullptr}, o_proj{nullptr};
  int64_t num_heads, head_dim;
  bool null_key;
};
TORCH_MODULE(Gca);

// An upper (retrieval-group) layer: h = x + Attn(norm(x));
// x_out = h + MLP(norm(h + GCA(h))) — GCA feeds the MLP, not the residual stream
// (unless the config's gca_residual adds it there too).
class UpperLayerImpl : public torch::nn::Module {
 public:
  explicit UpperLayerImpl(const ModelConfig& c);
  // x: [B, T, d]; served: retrieval serving each chunk block ([B, N, K]).
  torch::Tensor forward(const torch::Tensor& x, const ChunkMemory& memory, const Retrieval& served);
  WindowAttention self_attn{nullptr};
  Gca gca{nullptr};
  Mlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  int64_t block_size;
  bool gca_residual;
};
TORCH_MODULE(UpperLayer);

}  // namespace drt
