// Training a DRT (or the sliding-window baseline) on a prepared corpus: AdamW, linear
// warm-up then cosine decay, gradient clipping and accumulation, periodic evaluation and
// checkpoints, and exact resume. The output directory is itself a model directory.
//
// Determinism: the batch of step s is a pure function of (seed, s, sample index), and so
// is the Gumbel noise of every sample; resuming therefore needs only the step, the
// weights and the optimizer moments, and results do not depend on how a global batch is
// split across ranks.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace drt {

struct TrainOptions {
  std::string model_dir;   // start from these weights, or
  std::string config;      // a config file / preset name (random init)
  std::string data_dir;    // a `drt prepare` output
  std::string out_dir;     // model directory to write (and resume from)
  int64_t steps = 100;
  int64_t seq_len = 1024;  // T text tokens per sample, a multiple of S
  // Mixed lengths: when it holds more than one, each step draws its T from these (all
  // samples of a step share it; every rank draws the same) and seq_len is the longest. A
  // model trained on one layout of chunks can learn that layout instead of the skill
  // (docs/results.md, "GCA copies, once retrieval is out of its way").
  std::vector<int64_t> seq_lens;
  int64_t batch = 4;       // samples per rank per micro-step
  int64_t accum = 1;       // micro-steps per optimizer step
  std::string task = "lm";  // lm | passkey | multikey | multihop | copy | copy-letters | mix:lm=0.5,passkey=0.5
  // How a batch's scored tokens are averaged. "sample": each sample's mean over its own
  // scored tokens, then the mean over samples, so a mix's fractions are its shares of the
  // gradient. "token": one mean over all scored tokens of the batch, so a passkey sample
  // (5 scored answer tokens) weighs ~1/200 of a 1008-token language-modelling sample.
  std::string loss_weighting = "sample";
  // copy, copy-letters: symbols in the copied string; 0 = S - 1, the whole last chunk after
  // its '|'. Shorter strings fit inside one chunk of the haystack, so that one retrieved
  // chunk holds all of them.
  int64_t copy_length = 0;
  // Synthetic tasks: each sample's needle depth is drawn uniformly from [lo, hi] (0: the
  // start of the haystack, 1: just before the question). A range that keeps needles far
  // from the question makes GCA the only way to them: the sliding windows of all layers
  // together reach (layers x W) tokens back, and a model that can also copy through them
  // learns copying only within the distances it was trained at (docs/results.md).
  double needle_depth_lo = 0.0, needle_depth_hi = 1.0;
  // Synthetic tasks: this fraction of samples puts its needle within the sliding window
  // before the question instead (NeedlePlacement), at every T. A depth range cannot: at
  // T = 16128 a window of 128 tokens is depths above 0.992, under 1% of a uniform draw,
  // and the window's copy that reads the chunk just before the question's is then never
  // trained at the lengths where GCA's copy is (docs/results.md, session 19).
  double near_needles = 0.0;
  // Synthetic tasks: this fraction of samples has its needle cut by a chunk boundary at a
  // drawn token of its cue or its answer's first (SyntheticOptions::split_needle).
  double split_needles = 0.0;
  // Synthetic tasks: this fraction of samples puts its needle at the haystack's first token
  // (depth 0) instead (NeedlePlacement). A range such as 0,0.002 cannot: it spans 32 tokens
  // at T = 16128, and it takes every far needle there. The first token is unlike any other:
  // the lower layers see nothing before it, so its chunk memory is its own, and a stage
  // that never puts a needle there can unlearn reading it (docs/results.md, session 29).
  // --split-needles still moves its share of them, to be cut by the next chunk boundary.
  double first_token_needles = 0.0;
  // Curriculum: in the first aligned_steps steps the needle that holds the answer starts at
  // a chunk start (SyntheticOptions::align_needle). Evaluation samples are never aligned.
  int64_t aligned_steps = 0;
  // passkey: decoy needles per sample (SyntheticOptions::decoys).
  int64_t decoys = 0;
  double lr = 2e-3, min_lr = 4e-4;
  int64_t warmup = -1;     // steps; -1 = 2% of steps
  double clip = 1.0;       // max global gradient norm; <= 0 disables
  double weight_decay = 0.001, beta1 = 0.9, beta2 = 0.95;
  int64_t eval_every = 0;  // 0: only at the end
  int64_t eval_batches = 4;
  int64_t save_every = 0;  // 0: only at the end
  int64_t log_every = 1;
  uint64_t seed = 0;
  int threads = 0;
  bool quiet = false;
  std::string kernels;     // "", "fused" or "reference"
  // cpu | cuda | cuda:N | auto (core/device.h). The weights, optimizer moments and batches
  // live there; checkpoints are written from CPU copies, so a run can resume on another.
  std::string device = "cpu";
  // Data parallelism (c10d): world_size ranks, this one `rank`, rendezvous at master.
  int world_size = 1, rank = 0;
  std::string master = "127.0.0.1:29500";
  // The all-reduce's transport: "auto" = NCCL when training on CUDA and this LibTorch has
  // it, else Gloo; or "gloo" / "nccl" explicitly.
  std::string backend = "auto";
  // Test hook: stop (as if interrupted) after this many steps of this run; 0 = never.
  int64_t stop_after = 0;
  // Stop (saving a checkpoint to resume from) once this run has trained this many
  // seconds; 0 = no limit. The schedule stays that of --steps.
  double time_limit = 0;
};

struct TrainLogEntry {
  int64_t step = 0;
  double loss = 0, lr = 0, tokens_per_s = 0;
  double eval_loss = -1;  // < 0: no evaluation at this step
  int64_t seq_len = 0;    // this step's T
};

struct TrainResult {
  int64_t start_step = 0, end_step = 0;
  std::vector<TrainLogEntry> log;  // this run's entries
  double seconds = 0;
  double final_eval_loss = -1;
};

TrainResult train(const TrainOptions& options);

// Where a synthetic sample's needle goes (--needle-depths, --near-needles, --split-needles,
// --first-token-needles).
struct NeedlePlacement {
  double lo = 0, hi = 1;       // depths drawn uniformly from [lo, hi]
  double near_fraction = 0;    // or, with this probability, within `window` tokens of the question
  int64_t window = 0;          // the model's sliding window W (effective)
  double split_fraction = 0;   // with this probability, moved so that a chunk start cuts it
  double first_fraction = 0;   // or, with this probability, at the haystack's first token
};
// One sample's needle depth (SyntheticOptions::depth) in a haystack of seq_len tokens. A
// near needle's depth is 1 - u * window / seq_len, u uniform in [0, 1): about u * window
// tokens of haystack between it and the question; a first-token needle's is 0. The two
// shares are disjoint (near_fraction + first_fraction <= 1). With both 0 it draws exactly
// what a plain uniform [lo, hi] draw does, and with first_fraction 0 what it drew before
// first-token needles existed, so older runs' samples are unchanged.
double draw_needle_depth(std::mt19937_64& rng, const NeedlePlacement& placement, int64_t seq_len);

// The loss of a batch, weighted as TrainOptions::loss_weighting says ("sample" or
// "token"). logits [B, T, V], tokens [B, T], loss_mask [B, T] (1 = scored; undefined =
// every position).
at::Tensor batch_loss(const at::Tensor& logits, const at::Tensor& tokens, const at::Tensor& loss_mask,
                      const std::string& weighting);

// Learning rate at optimizer step `step` (0-based): linear warm-up to lr over `warmup`
// steps, then cosine decay to min_lr at `steps`.
double learning_rate(int64_t step, int64_t steps, int64_t warmup, double lr, double min_lr);

}  // namespace drt
