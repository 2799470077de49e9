// The DRT language model (DESIGN §2): lower stack -> chunk encoder -> per-group
// retrieval + GCA layers -> head. This is the batch (training) path; the streaming path
// (src/engine) runs the same modules on a window cache and a chunk memory.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <optional>
#include <vector>

#include "config/model_config.h"
#include "model/layers.h"

namespace drt {

struct ForwardOptions {
  // Gumbel top-k exploration in retrieval (training); false: plain top-k (evaluation).
  // Defaults to the module's is_training().
  std::optional<bool> gumbel;
  // Gumbel noise is drawn per sample from Generator(seed + b) when set, so results do not
  // depend on how a batch is split across ranks; otherwise from the global generator.
  std::optional<uint64_t> noise_seed;
  // Return hidden states of the final norm instead of logits (loss is then computed
  // by the caller in pieces, to bound memory).
  bool return_hidden = false;
};

struct ForwardOutput {
  torch::Tensor logits;                 // [B, T, V] at text positions (landmarks removed)
  torch::Tensor hidden;                 // [B, T, d] final-normed hidden states, if asked
  std::vector<Retrieval> retrievals;    // per group: row c = the retrieval made by chunk c
};

// Retrieval for one group (DESIGN §2.5).
//   queries:   [B, N, d]  RMSNorm_g of the group input at each landmark position
//   landmarks: [B, N, d]  landmark keys
// Chunk c chooses among chunks j < c; top-k of s + gumbel when gumbel, else of s;
// weights = softmax of the chosen s (no noise), exactly 0 where fewer than K chunks exist.
Retrieval retrieve(const torch::Tensor& queries, const torch::Tensor& landmarks, int64_t top_k, bool gumbel,
                   std::optional<uint64_t> noise_seed);

// The retrieval made by chunk c serves chunk c+1: shift rows down by one; block 0 gets
// weights 0.
Retrieval serve_next_chunk(const Retrieval& made);

class ChunkEncoderImpl : public torch::nn::Module {
 public:
  explicit ChunkEncoderImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // [BN, S+1, d] normed input -> C [BN, S+1, d]
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(ChunkEncoder);

class DrtModelImpl : public torch::nn::Module {
 public:
  explicit DrtModelImpl(const ModelConfig& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList lower_layers{nullptr};
  std::vector<torch::nn::ModuleList> upper_groups;  // registered as upper_layers.{g}
  torch::nn::ModuleList upper_layers{nullptr};
  torch::nn::ModuleList lmk_norms{nullptr};
  ChunkEncoder encoder{nullptr};
  RMSNorm enc_prenorm{nullptr}, norm{nullptr};
  torch::nn::Linear chunk_k_proj{nullptr}, chunk_v_proj{nullptr};
  ModelConfig config;

  // Encodes every chunk block of the lower stack's output h [B, T, d] (T = N(S+1)).
  ChunkMemory encode_chunks(const torch::Tensor& h);
};
TORCH_MODULE(DrtModel);

// The whole causal LM: `model.*` plus `lm_head` (absent when tied).
class DrtLMImpl : public torch::nn::Module {
 public:
  explicit DrtLMImpl(const ModelConfig& c);

  // tokens: [B, T] text token ids, T a multiple of S (landmarks are inserted here).
  ForwardOutput forward(const torch::Tensor& tokens, const ForwardOptions& options = {});
  // Hidden [.., d] -> logits [.., V].
  torch::Tensor head(const torch::Tensor& hidden);
  // Normal(0, initializer_range) for linear and embedding weights, RMSNorm weights 1.
  void init_weights(uint64_t seed);
  // [B, T] text ids -> [B, N(S+1)] with the landmark id after every S tokens.
  torch::Tensor insert_landmarks(const torch::Tensor& tokens) const;

  DrtModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // only when !tie_word_embeddings
  ModelConfig config;
};
TORCH_MODULE(DrtLM);

// Cross entropy of predicting token t+1 from position t.
//   logits: [B, T, V]; tokens: [B, T]; loss_mask: [B, T] (1 = token t is a target) or
//   undefined (every token but the first is a target). Returns the mean over targets.
torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& tokens,
                      const torch::Tensor& loss_mask = {});

}  // namespace drt
