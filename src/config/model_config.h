// ModelConfig: the hyper-parameters of a DRT model (DESIGN.md §2), read from and written
// to config.json with the official implementation's keys.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace drt {

struct ModelConfig {
  int64_t hidden_size = 64;             // d
  int64_t num_attention_heads = 2;      // H; head dim D = d / H
  int64_t intermediate_size = 128;      // SwiGLU inner size
  int64_t vocab_size = 259;             // V, special ids included
  double rms_norm_eps = 1e-5;           // every RMSNorm but the chunk encoder's (1e-6)
  int64_t chunk_topk = 2;               // K retrieved chunks per retrieval
  int64_t slide_window = 32;            // W; query i sees keys i-W..i; -1 = full causal
  int64_t encoder_layers = 1;           // bidirectional layers of the chunk encoder
  std::vector<int64_t> decoder_layers = {1, 1, 1};  // [lower, group 1, group 2, ...]
  int64_t enc_chunk_size = 15;          // S text tokens per chunk (+1 landmark)
  bool enable_alibi = true;             // ALiBi bias in the decoder's window attention
  // Not the paper's: RoPE (theta 10000) on the decoder's window-attention queries and keys.
  // A window never sees an offset beyond W, so lengths past training are still offsets
  // seen in training. Written to config.json only when true.
  bool window_rope = false;
  bool enable_softmax_one = false;      // accepted for compatibility; see gca_null_key
  bool tie_word_embeddings = true;      // lm_head = embed_tokens
  int64_t pad_id = 256;
  int64_t bos_id = 257;
  int64_t chunk_id = 258;               // the landmark token id
  double initializer_range = 0.02;
  // GCA's softmax has an implicit null key (logit 0, value 0). Absent in config.json:
  // (S+1) % 64 == 0, which is what the official kernels do.
  std::optional<bool> gca_null_key;
  // Not the paper's wiring: also add GCA's output to the residual stream
  // (x_out = h + GCA(h) + MLP(norm(h + GCA(h)))). The official model feeds GCA only into
  // the MLP; at small scale, with retrieval given, that left copying through GCA at chance
  // where this wiring learns it (`drt probe copy`, docs/results.md). Written to
  // config.json only when true.
  bool gca_residual = false;
  // false: the sliding-window baseline (no chunk encoder, no GCA; every decoder layer is
  // a lower layer).
  bool retrieval = true;
  // The longest sequence length the model was trained at, over every `drt train` run that
  // made it (informational; written by `drt train`).
  std::optional<int64_t> train_seq_len;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t num_groups() const { return retrieval ? static_cast<int64_t>(decoder_layers.size()) - 1 : 0; }
  int64_t num_lower_layers() const;  // all decoder layers when retrieval is off
  int64_t block_size() const { return enc_chunk_size + 1; }  // S + 1 positions per chunk
  bool null_key() const { return gca_null_key.value_or((enc_chunk_size + 1) % 64 == 0); }
  // Window used by the attention kernels: -1 (full causal) becomes "unbounded".
  int64_t effective_window() const { return slide_window < 0 ? INT64_MAX / 4 : slide_window; }

  // Throws drt::Error naming the first bad key and value.
  void validate() const;

  // This config with some of its settings changed: "KEY=VALUE[,KEY=VALUE...]" (`--set` of
  // `drt export`, `grow`, `baseline`). Only keys that no weight's shape depends on can be
  // set: chunk_topk, slide_window, train_seq_len. A trained model reads with another k or
  // window, or trains on from one, without hand-editing config.json; any other key, or a
  // value that is not an integer, throws drt::Error naming it.
  ModelConfig with_settings(const std::string& assignments) const;

  static ModelConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  static ModelConfig load(const std::string& path);
  void save(const std::string& path) const;
  // A preset by name ("tiny", "small") or a path to a config file.
  static ModelConfig preset_or_file(const std::string& name_or_path);
};

}  // namespace drt
