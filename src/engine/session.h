// A streaming inference session (DESIGN §3): reads any amount of text in segments, then
// generates, with the same logits as the batch forward in evaluation mode (plain top-k).
//
// State, per sequence:
//   - per decoder layer (lower and upper) a WindowCache of the last W positions' K/V;
//   - the landmark keys of every encoded chunk, a dense RAM matrix [N, d] (what
//     retrieval scans);
//   - the chunk memory (memory/chunk_store.h): the K/V block of every encoded chunk;
//   - the lower stack's outputs for the positions of the partial chunk (the encoder
//     needs all S+1 of them; the chunk is encoded once, when its landmark has passed the
//     lower stack);
//   - per group g the retrieval that serves the chunk being read: the one made by the
//     previous chunk's landmark (DESIGN §2.5: chunk c's retrieval serves chunk c+1).
//
// The landmark token is inserted after every S text tokens, in reading and in
// generation. A segment of many tokens is processed as one batch per layer (window
// attention with q_offset against the cache, the encoder over all chunks the segment
// completes, GCA over the segment's chunk blocks); one token at a time takes the same
// path with T = 1. Either way the logits are the batch forward's.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/window_cache.h"
#include "memory/chunk_store.h"
#include "model/drt_model.h"

namespace drt {

// Which logits Session::read returns.
enum class Logits {
  kNone,  // undefined tensor (last_logits() is still updated)
  kLast,  // [V] after the last token read
  kAll,   // [T, V], row t = the prediction after token t
};

// One retrieval made by chunk `chunk` in group `group`; it serves chunk + 1.
struct RetrievalEvent {
  int64_t group = 0;
  int64_t chunk = 0;
  std::vector<int64_t> chunks;  // the chosen past chunks, best score first
  std::vector<float> weights;   // softmax of their scores
};

// A state to start a session from other than the empty one (the spliced passkey
// evaluation, eval/passkey.h, builds these): `text_tokens` (a multiple of S) already read,
// with the chunk memory and landmark keys of their chunks and the lower stack's window
// caches at that point. The upper groups start with empty window caches and no served
// retrieval, so their outputs are exact only once (upper layers) x W positions have been
// read; the caller reads that far before it uses logits. Why this is enough: chunk memory
// and landmark keys come from the lower stack alone, whose window caches are given.
struct SessionStart {
  int64_t text_tokens = 0;
  std::unique_ptr<ChunkStore> memory;  // text_tokens / S blocks (DRT), empty (baseline)
  at::Tensor landmarks;                // [text_tokens / S, d] float32 (DRT), or undefined
  std::vector<std::pair<at::Tensor, at::Tensor>> lower_window;  // per lower layer: K, V [1, n, H, D]
  std::vector<int32_t> tokens;  // the text before, for retrieval callbacks (may be empty)
};

struct SessionOptions {
  // Text tokens per internal batch (bounds activation memory while reading).
  int64_t prefill_tokens = 1024;
};

class Session {
 public:
  // `model` must be loaded (it is put in eval mode). `memory` receives the chunk K/V
  // blocks; its shape must be (S, d) of the model and it must be empty.
  Session(DrtLM model, std::unique_ptr<ChunkStore> memory, SessionOptions options = {});
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  // Reads text tokens (ids below the vocabulary; landmarks are inserted here, never
  // given). See Logits for what comes back.
  at::Tensor read(const std::vector<int64_t>& tokens, Logits which = Logits::kLast);
  at::Tensor read(const int64_t* tokens, int64_t n, Logits which);
  // [V] float32: the prediction after the last text token read; undefined before any.
  const at::Tensor& last_logits() const { return last_logits_; }

  int64_t text_tokens() const { return text_tokens_; }
  int64_t positions() const { return positions_; }  // text tokens + landmarks
  int64_t chunks() const { return num_chunks_; }    // encoded chunks (= memory().size())
  // Text tokens read so far (ids), kept for showing what retrieval fetched.
  const std::vector<int32_t>& tokens() const { return tokens_; }
  std::vector<int64_t> chunk_tokens(int64_t chunk) const;  // the S text tokens of a chunk
  // [N, d] landmark keys (a copy of the session's pages).
  at::Tensor landmarks() const;
  const ChunkStore& memory() const { return *memory_; }
  const ModelConfig& config() const { return model_->config; }
  DrtLM& model() { return model_; }

  // Called for every retrieval made from now on (in order: by chunk, then group).
  void set_retrieval_callback(std::function<void(const RetrievalEvent&)> callback) {
    on_retrieval_ = std::move(callback);
  }
  // A diagnostic ablation: GCA serves only the chunks for which `serves(chunk)` is true;
  // the others read no retrieved chunk (as chunk 0 does). Retrievals are still made and
  // reported. Null (the default): every chunk.
  void set_gca_filter(std::function<bool(int64_t chunk)> serves) { gca_serves_ = std::move(serves); }

  // Writes a memory file (memory/memory_file.h) from which load() continues exactly.
  void save(const std::string& path);
  // Continues a saved session. The saved chunk blocks stay in `path`, read-only;
  // new chunks go to `tail` (its dtype is replaced by the file's). Throws naming the
  // problem for another model's file, a truncated or corrupt file or another version.
  static Session load(DrtLM model, const std::string& path, MemorySpec tail, SessionOptions options = {});

  // Starts from `start` (see SessionStart for what is exact).
  static Session start_from(DrtLM model, SessionStart start, SessionOptions options = {});
  // Copies of the lower stack's window caches (K, V per lower layer), for a SessionStart.
  std::vector<std::pair<at::Tensor, at::Tensor>> lower_window() const;

  // A hash of the model's config and weights (hex), as written in memory files.
  const std::string& model_hash();

 private:
  // Processes n text tokens in one batch (the caller bounds n).
  at::Tensor step(const int64_t* tokens, int64_t n, bool all_logits);
  // One retrieval set: chosen chunk ids and weights (at most K, possibly none).
  struct Chosen {
    std::vector<int64_t> chunks;
    std::vector<float> weights;
  };
  // Encodes the chunks completed by the lower stack's outputs `lower` [P, d].
  void write_chunks(const at::Tensor& lower);
  // Retrievals made in group g by the landmarks at rows `rows` of x [1, P, d], which
  // belong to chunks `owners`.
  std::vector<Chosen> retrieve_group(int64_t g, const at::Tensor& x, const std::vector<int64_t>& rows,
                                     const std::vector<int64_t>& owners);
  // x + Attn(norm(x)) of one decoder layer against its cache.
  // first_position: the absolute position of x's first row (what RoPE rotates by).
  static at::Tensor attend(WindowAttentionImpl& attn, RMSNormImpl& norm, WindowCache& cache, const at::Tensor& x,
                           int64_t first_position);
  void append_landmarks(const at::Tensor& keys);  // [n, d]

  DrtLM model_;
  std::unique_ptr<ChunkStore> memory_;
  SessionOptions options_;
  std::vector<WindowCache> lower_cache_;               // [lower layers]
  std::vector<std::vector<WindowCache>> upper_cache_;  // [group][layer]
  std::vector<Chosen> served_;                         // [group]: serves the current chunk
  // The chunk blocks last read for a group (a chunk's retrieval serves S+1 decode steps).
  struct BlockCache {
    std::vector<int64_t> chunks;
    at::Tensor k, v;  // [1, U, S, H, D] float32
  };
  std::vector<BlockCache> block_cache_;  // [group]
  // Landmark keys in pages of kLandmarkPage rows [kLandmarkPage, d] float32; rows
  // [0, num_chunks_) are written. Pages, not one matrix grown by doubling: the doubling
  // copy held old and new matrix at once, a peak of twice the keys at long contexts.
  static constexpr int64_t kLandmarkPage = 4096;
  std::vector<at::Tensor> landmark_pages_;
  at::Tensor pending_;    // [positions_ % (S+1), d] lower-stack outputs of the partial chunk
  at::Tensor last_logits_;
  std::vector<int32_t> tokens_;
  int64_t text_tokens_ = 0, positions_ = 0, num_chunks_ = 0;
  std::string model_hash_;
  std::function<void(const RetrievalEvent&)> on_retrieval_;
  std::function<bool(int64_t chunk)> gca_serves_;
};

// A hash of config + parameters (hex): identifies the model a memory file belongs to.
std::string model_fingerprint(DrtLM& model);

}  // namespace drt
