#include "train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/blas.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"
#include "data/synthetic.h"
#include "data/token_file.h"
#include "data/tokenizer.h"
#include "io/file_util.h"
#include "kernels/ops.h"
#include "model/checkpoint.h"
#include "train/distributed.h"
#include "train/task_mix.h"
#include "viz/plot.h"

namespace drt {

double draw_needle_depth(std::mt19937_64& rng, const NeedlePlacement& placement, int64_t seq_len) {
  const double depth = std::uniform_real_distribution<double>(placement.lo, placement.hi)(rng);
  // No more draws: the stream of older runs.
  if (placement.near_fraction <= 0 && placement.first_fraction <= 0) return depth;
  const double share = std::uniform_real_distribution<double>(0, 1)(rng);
  if (share >= placement.near_fraction)
    return share < placement.near_fraction + placement.first_fraction ? 0.0 : depth;
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  const double reach = static_cast<double>(placement.window) / static_cast<double>(seq_len);
  return std::max(0.0, 1.0 - u * std::min(reach, 1.0));
}

double learning_rate(int64_t step, int64_t steps, int64_t warmup, double lr, double min_lr) {
  if (warmup > 0 && step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double span = std::max<int64_t>(1, steps - warmup);
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
  return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(M_PI * progress));
}

namespace {

constexpr const char* kStateFile = "train_state.json";
constexpr const char* kOptimizerFile = "optimizer.pt";
constexpr const char* kLogFile = "train_log.jsonl";

// SplitMix64: the per-sample seeds are pure functions of (seed, step, sample).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
uint64_t sample_seed(uint64_t seed, int64_t step, int64_t sample) {
  return mix(mix(seed * 1315423911ULL + static_cast<uint64_t>(step)) ^ static_cast<uint64_t>(sample));
}

struct Batch {
  torch::Tensor tokens;     // [B, T]
  torch::Tensor loss_mask;  // [B, T] float, 1 = token is a target
  // Batches are made on the CPU (they are pure functions of the seed) and then moved.
  Batch to(const c10::Device& device) const { return {tokens.to(device), loss_mask.to(device)}; }
};

// How a synthetic sample is laid out (the trainer's flags of the same names).
struct SampleSettings {
  int64_t chunk = 0;                       // tokens per chunk (S)
  int64_t copy_length = 0;                 // copy tasks: symbols copied
  NeedlePlacement needles;                 // needle depths, near and split needles
  int64_t aligned_steps = 0;               // steps whose needle and question start a chunk
  int64_t decoys = 0;                      // passkey: decoy needles per sample
};

class BatchSource {
 public:
  // max_seq_len: the longest T a batch will be asked for.
  BatchSource(const TokenFile& file, const Tokenizer& tokenizer, TaskMix mix, int64_t max_seq_len,
              SampleSettings settings)
      : file_(file), tokenizer_(tokenizer), mix_(std::move(mix)), settings_(settings) {
    DRT_CHECK(file.size() > max_seq_len + 1, file.path(), " has ", file.size(), " tokens, fewer than one sequence of ",
              max_seq_len, " (lower --seq-len or add data)");
  }

  // Samples [first, first + count) of the global sample numbering of a step, seq_len tokens each.
  Batch make(uint64_t seed, int64_t step, int64_t first, int64_t count, int64_t seq_len) const {
    Batch b;
    b.tokens = torch::empty({count, seq_len}, torch::kLong);
    b.loss_mask = torch::zeros({count, seq_len}, torch::kFloat32);
    for (int64_t i = 0; i < count; ++i) {
      const uint64_t s = sample_seed(seed, step, first + i);
      std::mt19937_64 rng(s);
      const int64_t offset = static_cast<int64_t>(rng() % static_cast<uint64_t>(file_.size() - seq_len));
      std::vector<int64_t> window(seq_len);
      file_.read(offset, seq_len, window.data());
      const std::string task = mix_.pick(rng);
      auto row_tokens = b.tokens[i];
      auto row_mask = b.loss_mask[i];
      if (task == "lm" || task == "repeat") {
        if (task == "repeat") window = repeat_text(window, seq_len);
        std::memcpy(row_tokens.data_ptr<int64_t>(), window.data(), seq_len * sizeof(int64_t));
        row_mask.fill_(1.0);
      } else {
        SyntheticOptions o;
        o.length = seq_len;
        o.chunk_size = settings_.chunk;
        o.depth = draw_needle_depth(rng, settings_.needles, seq_len);
        o.hop_depth = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
        o.copy_length = settings_.copy_length;
        o.align_needle = step >= 0 && step < settings_.aligned_steps;  // evaluation "steps" are negative
        o.decoys = settings_.decoys;
        o.seed = rng();
        // Drawn only when asked for, so that older runs' samples stay as they were.
        o.split_needle = settings_.needles.split_fraction > 0 &&
                         std::uniform_real_distribution<double>(0, 1)(rng) < settings_.needles.split_fraction;
        SyntheticSample sample = make_synthetic(parse_synthetic_task(task), tokenizer_, window, o);
        std::memcpy(row_tokens.data_ptr<int64_t>(), sample.tokens.data(), seq_len * sizeof(int64_t));
        for (int64_t t = 0; t < seq_len; ++t) row_mask[t] = static_cast<float>(sample.loss_mask[t]);
      }
    }
    return b;
  }

 private:
  const TokenFile& file_;
  const Tokenizer& tokenizer_;
  TaskMix mix_;
  SampleSettings settings_;
};

void append_log(const std::string& path, const TrainLogEntry& e) {
  nlohmann::json j = {{"step", e.step}, {"loss", e.loss}, {"lr", e.lr}, {"tokens_per_s", e.tokens_per_s}};
  if (e.eval_loss >= 0) j["eval_loss"] = e.eval_loss;
  if (e.seq_len > 0) j["seq_len"] = e.seq_len;
  std::ofstream out(path, std::ios::app);
  out << j.dump() << "\n";
}

// Keeps only the log lines of steps <= last_step (a resumed run rewrites what follows).
std::vector<TrainLogEntry> trim_log(const std::string& path, int64_t last_step) {
  std::vector<TrainLogEntry> kept;
  if (!file_exists(path)) return kept;
  std::istringstream in(read_text_file(path));
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || j["step"].get<int64_t>() > last_step) continue;
    TrainLogEntry e;
    e.step = j["step"];
    e.loss = j.value("loss", 0.0);
    e.lr = j.value("lr", 0.0);
    e.tokens_per_s = j.value("tokens_per_s", 0.0);
    e.eval_loss = j.value("eval_loss", -1.0);
    e.seq_len = j.value("seq_len", int64_t{0});
    kept.push_back(e);
    out += line + "\n";
  }
  write_file_atomic(path, out);
  return kept;
}

void plot_losses(const std::string& path, const std::vector<TrainLogEntry>& log) {
  viz::Series train{"train loss", {}, {}, 0x1f77b4, false};
  viz::Series eval{"eval loss", {}, {}, 0xd62728, true};
  for (const auto& e : log) {
    train.x.push_back(static_cast<double>(e.step));
    train.y.push_back(e.loss);
    if (e.eval_loss >= 0) {
      eval.x.push_back(static_cast<double>(e.step));
      eval.y.push_back(e.eval_loss);
    }
  }
  if (train.x.empty()) return;
  viz::LinePlot plot;
  plot.title = "drt train: loss";
  plot.x_label = "step";
  plot.y_label = "cross-entropy (nats/token)";
  plot.series.push_back(train);
  if (!eval.x.empty()) plot.series.push_back(eval);
  viz::write_line_plot(path, plot);
}

nlohmann::json options_json(const TrainOptions& o) {
  return {{"seq_len", o.seq_len}, {"batch", o.batch},   {"accum", o.accum},       {"task", o.task},
          {"lr", o.lr},           {"min_lr", o.min_lr}, {"warmup", o.warmup},     {"clip", o.clip},
          {"seed", o.seed},       {"steps", o.steps},   {"world_size", o.world_size}, {"data", o.data_dir},
          {"weight_decay", o.weight_decay}, {"loss_weighting", o.loss_weighting}, {"device", o.device},
          {"copy_length", o.copy_length}, {"seq_lens", o.seq_lens},
          {"needle_depths", {o.needle_depth_lo, o.needle_depth_hi}}, {"aligned_steps", o.aligned_steps},
          {"near_needles", o.near_needles}, {"split_needles", o.split_needles},
          {"decoys", o.decoys}, {"first_token_needles", o.first_token_needles}};
}

}  // namespace

at::Tensor batch_loss(const at::Tensor& logits, const at::Tensor& tokens, const at::Tensor& loss_mask,
                      const std::string& weighting) {
  DRT_CHECK(weighting == "sample" || weighting == "token", "--loss-weighting must be sample or token, got '",
            weighting, "'");
  if (weighting == "token" || !loss_mask.defined()) return lm_loss(logits, tokens, loss_mask);
  // Each sample's own token mean (lm_loss of that sample), averaged over the samples that
  // score anything (targets are positions 1..T-1, as in lm_loss).
  const auto scored = loss_mask.narrow(1, 1, tokens.size(1) - 1).sum(1).gt(0).contiguous();  // [B]
  std::vector<at::Tensor> per_sample;
  for (int64_t b = 0; b < logits.size(0); ++b)
    if (scored[b].item<bool>())
      per_sample.push_back(lm_loss(logits.narrow(0, b, 1), tokens.narrow(0, b, 1), loss_mask.narrow(0, b, 1)));
  if (per_sample.empty()) return logits.sum() * 0;  // nothing scored: zero, still on the graph
  return torch::stack(per_sample).mean();
}

TrainResult train(const TrainOptions& opt_in) {
  TrainOptions opt = opt_in;
  set_threads(opt.threads);
  if (!opt.kernels.empty()) set_kernel_mode(parse_kernel_mode(opt.kernels));
  DRT_CHECK(opt.steps > 0, "train: --steps must be positive, got ", opt.steps);
  DRT_CHECK(opt.batch > 0, "train: --batch must be positive, got ", opt.batch);
  DRT_CHECK(opt.accum > 0, "train: --accum must be positive, got ", opt.accum);
  DRT_CHECK(!opt.out_dir.empty(), "train: --out is required");
  DRT_CHECK(opt.model_dir.empty() != opt.config.empty(), "train: give exactly one of --model DIR or --config FILE");
  if (opt.warmup < 0) opt.warmup = std::max<int64_t>(1, opt.steps / 50);
  // One length or several: seq_lens lists them all, seq_len is the longest.
  if (opt.seq_lens.empty()) opt.seq_lens = {opt.seq_len};
  opt.seq_len = *std::max_element(opt.seq_lens.begin(), opt.seq_lens.end());
  // This step's T: a draw from seq_lens that every rank makes alike.
  auto step_seq_len = [&opt](int64_t step) {
    return opt.seq_lens[sample_seed(opt.seed ^ 0x5e91e75ULL, step, 0) % opt.seq_lens.size()];
  };
  const bool main_rank = opt.rank == 0;
  const c10::Device device = parse_device(opt.device, opt.rank);
  Distributed dist(opt.world_size, opt.rank, opt.master, opt.backend, device);

  auto tokenizer = load_tokenizer(opt.data_dir);
  TokenFile train_file = TokenFile::open(opt.data_dir, "train");
  std::optional<TokenFile> valid_file;
  if (train_file.manifest().splits.count("valid") && train_file.manifest().splits.at("valid").tokens > opt.seq_len + 1)
    valid_file.emplace(TokenFile::open(opt.data_dir, "valid"));

  // Resume when OUT holds a training state; else start from --model or --config.
  const std::string state_path = opt.out_dir + "/" + kStateFile;
  const bool resume = file_exists(state_path);
  int64_t start_step = 0;
  DrtLM model{nullptr};
  if (resume) {
    auto state = nlohmann::json::parse(read_text_file(state_path));
    start_step = state.at("step").get<int64_t>();
    auto saved = state.at("options");
    // Training states written before loss weighting existed averaged over tokens.
    if (!saved.contains("loss_weighting")) saved["loss_weighting"] = "token";
    if (!saved.contains("copy_length")) saved["copy_length"] = 0;
    if (!saved.contains("seq_lens")) saved["seq_lens"] = std::vector<int64_t>{saved.at("seq_len").get<int64_t>()};
    if (!saved.contains("needle_depths")) saved["needle_depths"] = {0.0, 1.0};
    if (!saved.contains("decoys")) saved["decoys"] = 0;
    if (!saved.contains("near_needles")) saved["near_needles"] = 0.0;
    if (!saved.contains("split_needles")) saved["split_needles"] = 0.0;
    if (!saved.contains("first_token_needles")) saved["first_token_needles"] = 0.0;
    for (const char* key :
         {"seq_len", "seq_lens", "batch", "accum", "task", "seed", "world_size", "loss_weighting", "copy_length",
          "needle_depths", "decoys", "near_needles", "split_needles", "first_token_needles"})
      DRT_CHECK(saved.at(key) == options_json(opt).at(key), "train: ", opt.out_dir, " was trained with ", key, " = ",
                saved.at(key).dump(), ", this run says ", options_json(opt).at(key).dump(),
                " (use another --out to start over)");
    model = load_model(opt.out_dir);
  } else if (!opt.model_dir.empty()) {
    model = load_model(opt.model_dir);
  } else {
    ModelConfig config = ModelConfig::preset_or_file(opt.config);
    // The corpus decides the vocabulary and the special ids.
    config.vocab_size = tokenizer->vocab_size();
    config.pad_id = tokenizer->pad_id();
    config.bos_id = tokenizer->bos_id();
    config.chunk_id = tokenizer->chunk_id();
    config.train_seq_len.reset();  // a config file copied from a model: this one has trained at nothing yet
    config.validate();
    model = DrtLM(config);
    model->init_weights(opt.seed);
  }
  ModelConfig& config = model->config;
  DRT_CHECK(config.vocab_size == tokenizer->vocab_size() && config.chunk_id == tokenizer->chunk_id(), "train: the model's ",
            "vocabulary (", config.vocab_size, " ids, landmark ", config.chunk_id, ") does not match the corpus tokenizer (",
            tokenizer->vocab_size(), " ids, landmark ", tokenizer->chunk_id(), ")");
  for (int64_t len : opt.seq_lens)
    DRT_CHECK(len > 0 && len % config.enc_chunk_size == 0, "train: --seq-len ", len,
              " is not a positive multiple of the chunk size S=", config.enc_chunk_size);
  DRT_CHECK(opt.needle_depth_lo >= 0 && opt.needle_depth_lo <= opt.needle_depth_hi && opt.needle_depth_hi <= 1,
            "train: --needle-depths ", opt.needle_depth_lo, ",", opt.needle_depth_hi,
            " is not a range LO,HI with 0 <= LO <= HI <= 1");
  DRT_CHECK(opt.near_needles >= 0 && opt.near_needles <= 1, "train: --near-needles ", opt.near_needles,
            " is not a fraction in [0, 1]");
  DRT_CHECK(opt.split_needles >= 0 && opt.split_needles <= 1, "train: --split-needles ", opt.split_needles,
            " is not a fraction in [0, 1]");
  DRT_CHECK(opt.first_token_needles >= 0 && opt.first_token_needles <= 1, "train: --first-token-needles ",
            opt.first_token_needles, " is not a fraction in [0, 1]");
  DRT_CHECK(opt.near_needles + opt.first_token_needles <= 1, "train: --near-needles ", opt.near_needles,
            " and --first-token-needles ", opt.first_token_needles, " are shares of the same samples; together ",
            opt.near_needles + opt.first_token_needles, " is more than 1");
  DRT_CHECK(opt.aligned_steps >= 0, "train: --aligned-steps ", opt.aligned_steps, " must be 0 or positive");
  DRT_CHECK(opt.decoys >= 0, "train: --decoys ", opt.decoys, " must be 0 or positive");
  DRT_CHECK(opt.decoys == 0 || opt.task.find("passkey") != std::string::npos, "train: --decoys ", opt.decoys,
            " needs the passkey task, and --task is '", opt.task, "'");
  DRT_CHECK(opt.copy_length >= 0 && opt.copy_length < config.enc_chunk_size, "train: --copy-length ",
            opt.copy_length, " must be 0 (a whole chunk) or 1..", config.enc_chunk_size - 1,
            " (the string and its '|' fill at most the last chunk, S=", config.enc_chunk_size, ")");
  // The longest T the model has trained at, over all its runs: a later stage at shorter T
  // (a fine-tune on short samples) does not make a model trained at 16K a 504-token model.
  config.train_seq_len = std::max(config.train_seq_len.value_or(0), opt.seq_len);
  // Initialised (or loaded) on the CPU, whose generator makes the weights the same on
  // every device; then moved, before the optimizer sees the parameters.
  model->to(device);
  model->train();

  std::vector<torch::Tensor> params = model->parameters();
  dist.broadcast_parameters(params);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(opt.lr)
                                            .betas({opt.beta1, opt.beta2})
                                            .weight_decay(opt.weight_decay));
  if (resume) torch::load(optimizer, opt.out_dir + "/" + kOptimizerFile, device);

  TaskMix mix = TaskMix::parse(opt.task);
  SampleSettings settings{config.enc_chunk_size, opt.copy_length,
                          {opt.needle_depth_lo, opt.needle_depth_hi, opt.near_needles, config.effective_window(),
                           opt.split_needles, opt.first_token_needles},
                          opt.aligned_steps, opt.decoys};
  BatchSource source(train_file, *tokenizer, mix, opt.seq_len, settings);
  std::optional<BatchSource> valid_source;
  settings.aligned_steps = 0;  // evaluation is never aligned
  if (valid_file) valid_source.emplace(*valid_file, *tokenizer, mix, opt.seq_len, settings);

  const std::string log_path = opt.out_dir + "/" + kLogFile;
  std::vector<TrainLogEntry> full_log;
  if (main_rank) {
    make_directories(opt.out_dir);
    full_log = trim_log(log_path, start_step);
  }

  auto evaluate = [&]() -> double {
    if (!valid_source) return -1;
    torch::NoGradGuard ng;
    model->eval();
    double total = 0;
    for (int64_t i = 0; i < opt.eval_batches; ++i) {
      // Fixed evaluation samples: "step" -1 - i of a seed no training step uses; with mixed
      // lengths the batches take them in turn.
      const int64_t len = opt.seq_lens[static_cast<size_t>(i) % opt.seq_lens.size()];
      Batch b = valid_source->make(opt.seed ^ 0x5eedULL, -1 - i, 0, opt.batch, len).to(device);
      total += batch_loss(model->forward(b.tokens).logits, b.tokens, b.loss_mask, opt.loss_weighting).item<double>();
    }
    model->train();
    return total / static_cast<double>(opt.eval_batches);
  };

  // The CPU kernels behind the losses: a rerun repeats them bit for bit only with the same ones.
  const std::string blas = blas_core();  // fixed when OpenBLAS was loaded
  auto save = [&](int64_t step) {
    if (!main_rank) return;
    save_model(opt.out_dir, model);
    tokenizer->save(opt.out_dir);
    std::string tmp = opt.out_dir + "/" + kOptimizerFile + ".tmp";
    torch::save(optimizer, tmp);
    std::rename(tmp.c_str(), (opt.out_dir + "/" + kOptimizerFile).c_str());
    nlohmann::json state = {{"step", step}, {"options", options_json(opt)}, {"format_version", 1}};
    state["blas_core"] = blas;
    write_file_atomic(state_path, state.dump(2) + "\n");
  };

  TrainResult result;
  result.start_step = start_step;
  const int64_t global_batch = opt.batch * opt.world_size;
  Progress progress("train", opt.steps, start_step, "steps", !main_rank || opt.quiet);
  const auto t_start = std::chrono::steady_clock::now();
  int64_t step = start_step;
  for (; step < opt.steps; ++step) {
    if (opt.stop_after > 0 && step - start_step >= opt.stop_after) break;
    // Ranks agree on when to stop: rank 0's clock decides, through the mean of a flag.
    if (opt.time_limit > 0) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      if (dist.mean(main_rank && elapsed >= opt.time_limit ? 1.0 : 0.0) > 0) break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = learning_rate(step, opt.steps, opt.warmup, opt.lr, opt.min_lr);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer.zero_grad();
    double step_loss = 0;
    const int64_t seq_len = step_seq_len(step);
    for (int64_t micro = 0; micro < opt.accum; ++micro) {
      const int64_t first = micro * global_batch + opt.rank * opt.batch;
      Batch b = source.make(opt.seed, step, first, opt.batch, seq_len).to(device);
      ForwardOptions fo;
      fo.noise_seed = sample_seed(opt.seed ^ 0x6a09e667ULL, step, 0) + static_cast<uint64_t>(first);
      auto loss = batch_loss(model->forward(b.tokens, fo).logits, b.tokens, b.loss_mask, opt.loss_weighting);
      (loss / static_cast<double>(opt.accum * opt.world_size)).backward();
      step_loss += loss.item<double>() / static_cast<double>(opt.accum);
    }
    dist.all_reduce_gradients(params);
    step_loss = dist.mean(step_loss);
    if (opt.clip > 0) torch::nn::utils::clip_grad_norm_(params, opt.clip);
    optimizer.step();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    TrainLogEntry e;
    e.step = step + 1;
    e.loss = step_loss;
    e.lr = lr;
    e.tokens_per_s = static_cast<double>(global_batch * opt.accum * seq_len) / std::max(secs, 1e-9);
    if (opt.seq_lens.size() > 1) e.seq_len = seq_len;
    const bool last = step + 1 == opt.steps;
    if ((opt.eval_every > 0 && (step + 1) % opt.eval_every == 0) || last) {
      e.eval_loss = evaluate();
      if (last) result.final_eval_loss = e.eval_loss;
    }
    if (main_rank && ((step + 1) % std::max<int64_t>(1, opt.log_every) == 0 || e.eval_loss >= 0 || last)) {
      append_log(log_path, e);
      full_log.push_back(e);
    }
    result.log.push_back(e);
    std::ostringstream status;
    status << "loss " << std::fixed << std::setprecision(4) << step_loss << "  lr " << std::scientific
           << std::setprecision(2) << lr << "  " << std::fixed << std::setprecision(0) << e.tokens_per_s << " tok/s";
    if (e.eval_loss >= 0) status << "  eval " << std::setprecision(4) << e.eval_loss;
    progress.update(step + 1, status.str(), e.eval_loss >= 0);
    if (opt.save_every > 0 && (step + 1) % opt.save_every == 0 && !last) save(step + 1);
  }
  progress.finish();
  save(step);
  if (main_rank && step == opt.steps) plot_losses(opt.out_dir + "/loss.png", full_log);
  result.end_step = step;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return result;
}

}  // namespace drt
