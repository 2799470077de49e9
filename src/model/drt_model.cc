#include "model/drt_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace drt {

Retrieval retrieve(const torch::Tensor& queries, const torch::Tensor& landmarks, int64_t top_k, bool gumbel,
                   std::optional<uint64_t> noise_seed) {
  const int64_t B = queries.size(0), N = queries.size(1), d = queries.size(2);
  const auto neg_inf = -std::numeric_limits<float>::infinity();
  // s(c, j) = <q_c, l_j> / sqrt(d), only for j < c.
  auto scores = torch::matmul(queries, landmarks.transpose(1, 2)) / std::sqrt(static_cast<double>(d));  // [B, N, N]
  auto past = torch::ones({N, N}, torch::dtype(torch::kBool).device(scores.device())).tril(-1);
  scores = scores.masked_fill(past.logical_not(), neg_inf);
  auto ranked = scores.detach();
  if (gumbel) {
    torch::Tensor noise;
    if (noise_seed) {
      std::vector<torch::Tensor> rows;
      for (int64_t b = 0; b < B; ++b) {
        auto gen = at::detail::createCPUGenerator(*noise_seed + static_cast<uint64_t>(b));
        rows.push_back(-torch::empty({N, N}, torch::kFloat32).exponential_(1.0, gen).log());
      }
      noise = torch::stack(rows).to(scores.device(), scores.scalar_type());
    } else {
      noise = -torch::empty_like(ranked).exponential_(1.0).log();  // Gumbel(0, 1)
    }
    ranked = ranked + noise;
  }
  const int64_t k = std::min(top_k, N);
  auto chosen = std::get<1>(ranked.topk(k, /*dim=*/2));   // [B, N, k]
  auto chosen_scores = scores.gather(2, chosen);            // [B, N, k], -inf where j >= c
  auto valid = chosen_scores.detach().isfinite();
  // Softmax over the valid chosen scores; rows with none valid get all-zero weights,
  // never NaN (the fill value never reaches the result: it is multiplied by 0).
  auto filled = torch::where(valid, chosen_scores, torch::full_like(chosen_scores, -1e30));
  auto weights = torch::softmax(filled, -1) * valid.to(filled.scalar_type());
  auto indices = torch::where(valid, chosen, torch::full_like(chosen, -1));
  if (k < top_k) {  // fewer chunks than K in the whole sequence: pad unused slots
    auto pad_w = torch::zeros({B, N, top_k - k}, weights.options());
    auto pad_i = torch::full({B, N, top_k - k}, -1, indices.options());
    weights = torch::cat({weights, pad_w}, 2);
    indices = torch::cat({indices, pad_i}, 2);
  }
  return {indices, weights};
}

Retrieval serve_next_chunk(const Retrieval& made) {
  const int64_t N = made.indices.size(1);
  auto first_i = torch::full_like(made.indices.narrow(1, 0, 1), -1);
  auto first_w = torch::zeros_like(made.weights.narrow(1, 0, 1));
  return {torch::cat({first_i, made.indices.narrow(1, 0, N - 1)}, 1),
          torch::cat({first_w, made.weights.narrow(1, 0, N - 1)}, 1)};
}

ChunkEncoderImpl::ChunkEncoderImpl(const ModelConfig& c) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.encoder_layers; ++i) layers->push_back(EncoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, 1e-6));
}

torch::Tensor ChunkEncoderImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (auto& layer : *layers) h = layer->as<EncoderLayer>()->forward(h);
  return norm(h);
}

DrtModelImpl::DrtModelImpl(const ModelConfig& c) : config(c) {
  c.validate();
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  lower_layers = register_module("lower_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_lower_layers(); ++i) lower_layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  if (!c.retrieval) return;
  upper_layers = register_module("upper_layers", torch::nn::ModuleList());
  lmk_norms = register_module("lmk_norms", torch::nn::ModuleList());
  for (int64_t g = 0; g < c.num_groups(); ++g) {
    torch::nn::ModuleList group;
    for (int64_t i = 0; i < c.decoder_layers[g + 1]; ++i) group->push_back(UpperLayer(c));
    upper_layers->push_back(group);
    upper_groups.push_back(group);
    lmk_norms->push_back(RMSNorm(c.hidden_size, c.rms_norm_eps));
  }
  encoder = register_module("encoder", ChunkEncoder(c));
  enc_prenorm = register_module("enc_prenorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  chunk_k_proj = register_module("chunk_k_proj",
                                 torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.hidden_size).bias(false)));
  chunk_v_proj = register_module("chunk_v_proj",
                                 torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.hidden_size).bias(false)));
}

ChunkMemory DrtModelImpl::encode_chunks(const torch::Tensor& h) {
  const int64_t B = h.size(0), d = h.size(2), S = config.enc_chunk_size, N = h.size(1) / (S + 1);
  const int64_t H = config.num_attention_heads, D = config.head_dim();
  auto blocks = h.reshape({B * N, S + 1, d});
  auto C = encoder(enc_prenorm(blocks)).view({B, N, S + 1, d});  // per-chunk states
  auto tokens = C.narrow(2, 0, S);                               // [B, N, S, d]
  ChunkMemory m;
  m.landmarks = C.select(2, S);                                  // [B, N, d]
  m.k = chunk_k_proj(tokens).view({B, N, S, H, D});
  m.v = chunk_v_proj(tokens).view({B, N, S, H, D});
  return m;
}

DrtLMImpl::DrtLMImpl(const ModelConfig& c) : config(c) {
  model = register_module("model", DrtModel(c));
  if (!c.tie_word_embeddings)
    lm_head = register_module("lm_head",
                              torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
}

void DrtLMImpl::init_weights(uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    bool is_norm = name.find("norm") != std::string::npos;
    if (is_norm) p.fill_(1.0);
    else p.normal_(0.0, config.initializer_range, gen);
  }
}

torch::Tensor DrtLMImpl::insert_landmarks(const torch::Tensor& tokens) const {
  const int64_t B = tokens.size(0), T = tokens.size(1), S = config.enc_chunk_size;
  auto blocks = tokens.view({B, T / S, S});
  auto lmk = torch::full({B, T / S, 1}, config.chunk_id, tokens.options());
  return torch::cat({blocks, lmk}, 2).view({B, T / S * (S + 1)});
}

torch::Tensor DrtLMImpl::head(const torch::Tensor& hidden) {
  if (config.tie_word_embeddings) return torch::matmul(hidden, model->embed_tokens->weight.t());
  return lm_head(hidden);
}

ForwardOutput DrtLMImpl::forward(const torch::Tensor& tokens, const ForwardOptions& options) {
  const ModelConfig& c = config;
  DRT_CHECK(tokens.dim() == 2, "forward: tokens must be [B, T], got ", tokens.sizes());
  DRT_CHECK(tokens.scalar_type() == torch::kLong, "forward: tokens must be int64");
  const int64_t B = tokens.size(0), T = tokens.size(1), S = c.enc_chunk_size;
  DRT_CHECK(T > 0 && T % S == 0, "forward: sequence length ", T, " is not a positive multiple of the chunk size S=",
            S);
  if (tokens.numel() > 0) {
    const int64_t lo = tokens.min().item<int64_t>(), hi = tokens.max().item<int64_t>();
    DRT_CHECK(lo >= 0 && hi < c.vocab_size, "forward: token id ", (lo < 0 ? lo : hi),
              " is outside the vocabulary [0, ", c.vocab_size, ")");
  }
  const bool gumbel = options.gumbel.value_or(is_training());
  const int64_t N = T / S, L = S + 1, d = c.hidden_size;

  auto x = model->embed_tokens(insert_landmarks(tokens));  // [B, N(S+1), d]
  for (auto& layer : *model->lower_layers) x = layer->as<DecoderLayer>()->forward(x);

  ForwardOutput out;
  if (c.retrieval) {
    ChunkMemory memory = model->encode_chunks(x);
    for (int64_t g = 0; g < c.num_groups(); ++g) {
      // q_c = RMSNorm_g(h_c[S]): the group's input at chunk c's landmark position.
      auto at_landmarks = x.view({B, N, L, d}).select(2, S);                       // [B, N, d]
      auto queries = model->lmk_norms[g]->as<RMSNorm>()->forward(at_landmarks);
      std::optional<uint64_t> seed;
      if (options.noise_seed) seed = *options.noise_seed + 7919 * static_cast<uint64_t>(g) * 1000003ULL;
      Retrieval made = retrieve(queries, memory.landmarks, c.chunk_topk, gumbel, seed);
      Retrieval served = serve_next_chunk(made);
      for (auto& layer : *model->upper_groups[g]) x = layer->as<UpperLayer>()->forward(x, memory, served);
      out.retrievals.push_back(made);
    }
  }
  auto text = x.view({B, N, L, d}).narrow(2, 0, S).reshape({B, T, d});  // landmark positions carry no target
  auto hidden = model->norm(text);
  if (options.return_hidden) out.hidden = hidden;
  else out.logits = head(hidden);
  return out;
}

torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& tokens, const torch::Tensor& loss_mask) {
  const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
  DRT_CHECK(T >= 2, "lm_loss: need at least 2 positions, got ", T);
  auto pred = logits.narrow(1, 0, T - 1).reshape({B * (T - 1), V}).to(torch::kFloat32);
  auto target = tokens.narrow(1, 1, T - 1).reshape({B * (T - 1)});
  auto nll = torch::nn::functional::cross_entropy(
      pred, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  if (!loss_mask.defined()) return nll.mean();
  auto m = loss_mask.narrow(1, 1, T - 1).reshape({B * (T - 1)}).to(nll.scalar_type());
  return (nll * m).sum() / m.sum().clamp_min(1.0);
}

}  // namespace drt
