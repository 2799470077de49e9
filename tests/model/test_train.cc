// Training: the tiny model's loss falls, and an interrupted run resumes exactly.
#include <cmath>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "core/blas.h"
#include "core/device.h"
#include "data/byte_tokenizer.h"
#include "data/corpus.h"
#include "data/synthetic.h"
#include "kernels/ops.h"
#include "model/checkpoint.h"
#include "support/test_util.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace drt::test {
namespace {

// A small corpus of repetitive text (so that a few steps visibly lower the loss),
// prepared with the byte tokenizer.
std::string small_corpus() {
  static std::string dir;
  if (!dir.empty()) return dir;
  const std::string root = temp_dir("corpus");
  make_directories(root + "/text");
  for (int d = 0; d < 6; ++d) {
    std::string text;
    for (int i = 0; i < 300; ++i)
      text += "the quick brown fox " + std::to_string((i * 7 + d) % 13) + " jumps over the lazy dog. ";
    write_file_atomic(root + "/text/doc" + std::to_string(d) + ".txt", text);
  }
  PrepareOptions o;
  o.inputs = {root + "/text"};
  o.tokenizer_spec = "bytes";
  o.out_dir = root + "/prepared";
  o.valid_fraction = 0.2;
  o.progress = false;
  prepare_corpus(o);
  dir = o.out_dir;
  return dir;
}

// The model directories hold the same weights, to all_close's tolerance.
void expect_same_weights(const std::string& dir, const std::string& expected_dir, double rtol, double atol) {
  DrtLM actual = load_model(dir), expected = load_model(expected_dir);
  auto got = actual->named_parameters();
  for (const auto& item : expected->named_parameters())
    EXPECT_TRUE(all_close(got[item.key()], item.value(), rtol, atol)) << item.key();
}

TrainOptions tiny_run(const std::string& out, int64_t steps) {
  TrainOptions o;
  o.config = "tiny";
  o.data_dir = small_corpus();
  o.out_dir = out;
  o.steps = steps;
  o.seq_len = 120;
  o.batch = 4;
  o.lr = 3e-3;
  o.min_lr = 1e-3;
  o.warmup = 2;
  o.eval_every = 10;
  o.eval_batches = 2;
  o.seed = 17;
  o.quiet = true;
  return o;
}

TEST(Train, TinyModelLossFalls) {
  const std::string out = temp_dir("train");
  TrainResult r = train(tiny_run(out, 40));
  ASSERT_EQ(r.log.size(), 40u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += r.log[i].loss / 5, last += r.log[35 + i].loss / 5;
  EXPECT_LT(last, first * 0.6) << "first " << first << " last " << last;
  EXPECT_GE(r.final_eval_loss, 0);
  EXPECT_LT(r.final_eval_loss, first);
  // The output is a model directory other commands can load, with its training length.
  DrtLM model = load_model(out);
  EXPECT_EQ(model->config.train_seq_len.value_or(0), 120);
  // A later run at shorter T keeps the longest training length.
  TrainOptions more = tiny_run(out + "-short", 2);
  more.config.clear();  // one of --model and --config
  more.model_dir = out;
  more.seq_len = 60;
  train(more);
  EXPECT_EQ(load_model(out + "-short")->config.train_seq_len.value_or(0), 120);
  // A fresh model from a config file that a trained model wrote has trained at nothing yet.
  TrainOptions fresh = tiny_run(out + "-fresh", 2);
  fresh.config = out + "/config.json";
  fresh.seq_len = 60;
  train(fresh);
  EXPECT_EQ(load_model(out + "-fresh")->config.train_seq_len.value_or(0), 60);
  EXPECT_TRUE(file_exists(out + "/tokenizer.json"));
  EXPECT_TRUE(file_exists(out + "/loss.png"));
  // One log object per step with the documented fields.
  std::ifstream log(out + "/train_log.jsonl");
  std::string line;
  int lines = 0, evals = 0;
  while (std::getline(log, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* key : {"step", "loss", "lr", "tokens_per_s"}) EXPECT_TRUE(j.contains(key)) << line;
    evals += j.contains("eval_loss");
    ++lines;
  }
  EXPECT_EQ(lines, 40);
  EXPECT_EQ(evals, 4);
}

// Trains `steps` steps in one run, and again in two: stopped after `stop`, then the same
// command again. The losses agree to `rtol`, and the final weights too where asked.
void check_resume_is_exact(const std::string& device, int64_t steps, int64_t stop, double rtol, bool weights) {
  const std::string whole = temp_dir("whole"), parts = temp_dir("parts");
  auto run = [&](const std::string& out) {
    TrainOptions o = tiny_run(out, steps);
    o.device = device;
    return o;
  };
  TrainResult uninterrupted = train(run(whole));
  TrainOptions first = run(parts);
  first.stop_after = stop;
  TrainResult a = train(first);
  ASSERT_EQ(a.end_step, stop);
  TrainResult b = train(run(parts));  // the same command again continues
  ASSERT_EQ(b.start_step, stop);
  ASSERT_EQ(b.end_step, steps);
  std::vector<double> resumed;
  for (const auto& e : a.log) resumed.push_back(e.loss);
  for (const auto& e : b.log) resumed.push_back(e.loss);
  ASSERT_EQ(resumed.size(), uninterrupted.log.size());
  for (size_t i = 0; i < resumed.size(); ++i)
    EXPECT_NEAR(resumed[i], uninterrupted.log[i].loss, rtol * std::max(1.0, std::abs(resumed[i]))) << "step " << i + 1;
  if (weights) expect_same_weights(parts, whole, 1e-4, 1e-6);
}

TEST(Train, InterruptedRunResumesWithTheSameLosses) { check_resume_is_exact("cpu", 12, 5, 1e-5, true); }

// "sample" weighting gives every scored sample an equal share of the loss however many
// tokens it scores (a 3-token answer vs a fully scored sample); "token" is one mean over
// all scored tokens; a sample with nothing scored counts for neither.
TEST(Train, LossWeightingBySampleOrByToken) {
  torch::manual_seed(3);
  const int64_t B = 3, T = 10, V = 7;
  auto logits = torch::randn({B, T, V});
  auto tokens = torch::randint(0, V, {B, T}, torch::kLong);
  auto mask = torch::zeros({B, T}, torch::kUInt8);
  mask[0].narrow(0, 7, 3).fill_(1);  // an answer: 3 scored targets
  mask[1].fill_(1);                  // language modelling: 9 scored targets (position 0 has none)
  // Sample 2 scores nothing.
  auto logp = torch::log_softmax(logits.narrow(1, 0, T - 1), -1);
  auto nll = -logp.gather(2, tokens.narrow(1, 1, T - 1).unsqueeze(2)).squeeze(2);  // [B, T-1]
  const double answer = nll[0].narrow(0, 6, 3).mean().item<double>();
  const double lm = nll[1].mean().item<double>();
  const double by_sample = batch_loss(logits, tokens, mask, "sample").item<double>();
  const double by_token = batch_loss(logits, tokens, mask, "token").item<double>();
  EXPECT_NEAR(by_sample, 0.5 * (answer + lm), 1e-5);
  EXPECT_NEAR(by_token, (3 * answer + 9 * lm) / 12, 1e-5);
  EXPECT_GT(std::abs(by_sample - by_token), 1e-3);
  EXPECT_THROW(batch_loss(logits, tokens, mask, "samples"), Error);
}

// --task repeat trains on the same text windows as lm, with each sample's second half
// repeating its first: other samples, the same run otherwise.
TEST(Train, RepeatTaskTrainsOnRepeatedText) {
  TrainOptions lm = tiny_run(temp_dir("lm"), 2), repeat = tiny_run(temp_dir("repeat"), 2);
  repeat.task = "repeat";
  const TrainResult a = train(lm), b = train(repeat);
  ASSERT_EQ(b.log.size(), 2u);
  EXPECT_TRUE(std::isfinite(b.log[1].loss));
  EXPECT_NE(a.log[0].loss, b.log[0].loss);
}

TEST(Train, LearningRateScheduleWarmsUpThenDecaysToMin) {
  EXPECT_NEAR(learning_rate(0, 100, 10, 2e-3, 4e-4), 2e-4, 1e-12);
  EXPECT_NEAR(learning_rate(9, 100, 10, 2e-3, 4e-4), 2e-3, 1e-12);
  EXPECT_NEAR(learning_rate(10, 100, 10, 2e-3, 4e-4), 2e-3, 1e-12);
  EXPECT_NEAR(learning_rate(100, 100, 10, 2e-3, 4e-4), 4e-4, 1e-12);
  EXPECT_NEAR(learning_rate(55, 100, 10, 2e-3, 4e-4), 1.2e-3, 1e-12);
}

// Several lengths: each step draws one (logged with the step), the evaluation takes them
// in turn, and a length that is not a multiple of S is an error naming it.
TEST(Train, MixedLengthsDrawEachStepsLength) {
  TrainOptions o = tiny_run(temp_dir("mixed"), 16);
  o.seq_lens = {60, 120};
  TrainResult r = train(o);
  ASSERT_EQ(r.log.size(), 16u);
  std::set<int64_t> seen;
  for (const auto& e : r.log) {
    EXPECT_TRUE(e.seq_len == 60 || e.seq_len == 120) << e.seq_len;
    EXPECT_TRUE(std::isfinite(e.loss));
    seen.insert(e.seq_len);
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(r.final_eval_loss, 0.0);
  // The same steps draw the same lengths in another run.
  TrainOptions again = o;
  again.out_dir = temp_dir("mixed2");
  again.steps = 16;
  TrainResult r2 = train(again);
  for (size_t i = 0; i < r.log.size(); ++i) EXPECT_EQ(r2.log[i].seq_len, r.log[i].seq_len) << i;
  o = tiny_run(temp_dir("mixed3"), 4);
  o.seq_lens = {60, 61};
  try {
    train(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--seq-len 61"), std::string::npos) << e.what();
  }
}

TEST(Train, BadOptionsAreClearErrors) {
  TrainOptions o = tiny_run(temp_dir("bad"), 5);
  o.seq_len = 100;  // not a multiple of S = 15
  try {
    train(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--seq-len 100"), std::string::npos) << e.what();
  }
  o = tiny_run(temp_dir("bad2"), 5);
  o.task = "mix:lm=0.5,summarize=0.5";
  try {
    train(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown task 'summarize'"), std::string::npos) << e.what();
  }
  o = tiny_run(temp_dir("bad3"), 5);
  o.task = "copy-letters";
  o.copy_length = 15;  // S = 15: the string and its '|' would not fit in the last chunk
  try {
    train(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--copy-length 15"), std::string::npos) << e.what();
  }
  o = tiny_run(temp_dir("bad4"), 5);
  o.task = "passkey";
  o.needle_depth_lo = 0.6;
  o.needle_depth_hi = 0.2;
  const std::string bad_depths = error_of([&] { train(o); });
  EXPECT_NE(bad_depths.find("--needle-depths 0.6,0.2"), std::string::npos) << bad_depths;
  EXPECT_FALSE(file_exists(o.out_dir + "/config.json"));
}

// The needle depth range reaches the samples: needles at the haystack's start and needles
// just before the question make different batches (the same seed otherwise), and a run
// cannot resume with another range.
TEST(Train, NeedleDepthsPlaceTheNeedles) {
  auto run = [](const std::string& out, double lo, double hi) {
    TrainOptions o = tiny_run(out, 2);
    o.task = "copy";
    o.needle_depth_lo = lo;
    o.needle_depth_hi = hi;
    return o;
  };
  const std::string start_dir = temp_dir("depth0");
  const TrainResult start = train(run(start_dir, 0, 0));
  const TrainResult end = train(run(temp_dir("depth1"), 1, 1));
  const TrainResult start_again = train(run(temp_dir("depth0b"), 0, 0));
  ASSERT_EQ(start.log.size(), 2u);
  EXPECT_EQ(start.log[0].loss, start_again.log[0].loss);
  EXPECT_NE(start.log[0].loss, end.log[0].loss);
  TrainOptions resume = run(start_dir, 0, 0.5);
  resume.steps = 4;
  const std::string mismatch = error_of([&] { train(resume); });
  EXPECT_NE(mismatch.find("needle_depths"), std::string::npos) << mismatch;
}

// A passkey sample of T tokens whose needle depth draw_needle_depth draws from `placement`
// (random stream rng_seed); the depth is returned beside it.
static std::pair<double, SyntheticSample> passkey_at_drawn_depth(const ByteTokenizer& tok, const std::vector<int64_t>& haystack,
                                                          const NeedlePlacement& placement, int64_t T,
                                                          uint64_t rng_seed, uint64_t sample_seed, int64_t decoys = 0) {
  std::mt19937_64 rng(rng_seed);
  SyntheticOptions o;
  o.length = T;
  o.depth = draw_needle_depth(rng, placement, T);
  o.decoys = decoys;
  o.seed = sample_seed;
  return {o.depth, make_passkey(tok, haystack, o)};
}

// --near-needles: that fraction of samples has its needle inside the sliding window before
// the question at a long T, where a depth range almost never puts one; the rest keep their
// range; with none, the draws are a plain uniform draw's (older runs' samples unchanged).
TEST(Train, NearNeedlesSitInsideTheWindow) {
  ByteTokenizer tok;
  const std::vector<int64_t> haystack = tok.encode(passkey_filler_text());
  const int64_t T = 256 * 63, W = 128;
  const NeedlePlacement placement{0, 0.5, 0.3, W};
  int near = 0;
  const int n = 600;
  for (int i = 0; i < n; ++i) {
    const auto [depth, s] = passkey_at_drawn_depth(tok, haystack, placement, T, 1000 + i, i);
    const std::string needle = "|The passkey is: " + tok.decode(s.answer) + "|";
    const int64_t question = T - 5 - static_cast<int64_t>(tok.encode("|What is the passkey? The passkey is: ").size());
    const int64_t between = question - (s.needle_pos + static_cast<int64_t>(needle.size()));  // haystack tokens
    ASSERT_GE(between, 0);
    if (between <= W) {
      ++near;
    } else {
      EXPECT_LE(depth, 0.5);
      EXPECT_GT(between, T / 2 - W);
    }
  }
  EXPECT_NEAR(static_cast<double>(near) / n, 0.3, 0.06);
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 a(seed), b(seed);
    EXPECT_EQ(draw_needle_depth(a, {0.2, 0.7, 0, W}, T), std::uniform_real_distribution<double>(0.2, 0.7)(b));
    EXPECT_EQ(a(), b());
  }
}

// --first-token-needles: that fraction of samples puts its needle at the haystack's first
// token (the needle starts the sample), disjoint from the near needles' share; the rest keep
// their range. A range cannot do this: 0,0.002 of T = 16128 is 32 tokens, not one.
TEST(Train, FirstTokenNeedlesStartTheSample) {
  ByteTokenizer tok;
  const std::vector<int64_t> haystack = tok.encode(passkey_filler_text());
  const int64_t T = 256 * 63, W = 128;
  const NeedlePlacement placement{0.3, 1.0, 0.3, W, 0, 0.2};
  int first = 0, near = 0;
  const int n = 600;
  for (int i = 0; i < n; ++i) {
    // one decoy: a decoy drawn at any depth does not take the first token from the needle
    const auto [depth, s] = passkey_at_drawn_depth(tok, haystack, placement, T, 5000 + i, i, 1);
    const std::string needle = "|The passkey is: " + tok.decode(s.answer) + "|";
    ASSERT_EQ(tok.decode({s.tokens.begin() + s.needle_pos,
                          s.tokens.begin() + s.needle_pos + static_cast<int64_t>(needle.size())}),
              needle);
    if (depth == 0.0) {
      ++first;
      EXPECT_EQ(s.needle_pos, 0);
    } else if (depth >= 1.0 - static_cast<double>(W) / T) {
      ++near;
    } else {
      EXPECT_GE(depth, 0.3);
      EXPECT_GT(s.needle_pos, T / 4);
    }
  }
  EXPECT_NEAR(static_cast<double>(first) / n, 0.2, 0.05);
  // near needles drawn at depths above 1 - W/T, plus the range's own draws there (1 in 700)
  EXPECT_NEAR(static_cast<double>(near) / n, 0.3, 0.06);
  // With no first-token share, the draws are those of the near needles alone (older runs).
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    std::mt19937_64 a(seed), b(seed);
    const double with = draw_needle_depth(a, {0.3, 1.0, 0.3, W, 0, 0.0}, T);
    const double plain = std::uniform_real_distribution<double>(0.3, 1.0)(b);
    if (std::uniform_real_distribution<double>(0, 1)(b) >= 0.3) EXPECT_EQ(with, plain);
    else EXPECT_EQ(with, std::max(0.0, 1.0 - std::uniform_real_distribution<double>(0, 1)(b) * W / T));
    EXPECT_EQ(a(), b());
  }
}

// The needle fractions are refused by name outside [0, 1] (the near and first-token shares
// also when together over 1), before anything is written.
TEST(Train, NeedleFractionsOutsideZeroToOneAreRefused) {
  TrainOptions o = tiny_run(temp_dir("fractions"), 2);
  o.task = "passkey";
  o.near_needles = 1.5;
  const std::string bad = error_of([&] { train(o); });
  EXPECT_NE(bad.find("--near-needles 1.5"), std::string::npos) << bad;
  o.near_needles = 0;
  o.split_needles = -0.1;
  const std::string bad_split = error_of([&] { train(o); });
  EXPECT_NE(bad_split.find("--split-needles -0.1"), std::string::npos) << bad_split;
  o.split_needles = 0;
  o.first_token_needles = 2;
  const std::string bad_first = error_of([&] { train(o); });
  EXPECT_NE(bad_first.find("--first-token-needles 2"), std::string::npos) << bad_first;
  o.near_needles = 0.6;
  o.first_token_needles = 0.5;  // each a fraction, but shares of the same samples
  const std::string bad_sum = error_of([&] { train(o); });
  EXPECT_NE(bad_sum.find("--near-needles 0.6 and --first-token-needles 0.5"), std::string::npos) << bad_sum;
  EXPECT_FALSE(file_exists(o.out_dir + "/config.json"));
}

}  // namespace
}  // namespace drt::test

namespace drt::test {
namespace {

// One rank with batch 4 and two ranks with batch 2 each (`procs_flags` picks how), both
// with `flags`, end with the same weights.
void check_two_ranks_equal_one(const std::string& flags, const std::string& procs_flags) {
  const std::string one = temp_dir("rank1"), two = temp_dir("rank2");
  const std::string common =
      " --config tiny --data " + small_corpus() + " --steps 4 --seq-len 60 --lr 3e-3 --seed 5 --quiet" + flags;
  auto r1 = run_drt("train" + common + " --batch 4 --out " + one);
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  auto r2 = run_drt("train" + common + " --batch 2 " + procs_flags + " --out " + two);
  if (r2.output.find("built without c10d") != std::string::npos) GTEST_SKIP() << r2.output;
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  // Gradients are summed in another order across ranks; AdamW's first steps magnify
  // float rounding, so the tolerance is that of a few steps of lr 3e-3.
  expect_same_weights(two, one, 1e-3, 2e-5);
}

TEST(Train, TwoRanksWithBatchBEqualOneRankWithBatch2B) { check_two_ranks_equal_one("", "--procs 2"); }

}  // namespace
}  // namespace drt::test

// --device: CPU checks run everywhere; the CUDA ones run where a GPU is visible (and are
// skipped, saying so, elsewhere: scripts/device_cuda_check.sh runs them on a GPU machine).
namespace drt::test {
namespace {

TEST(Device, ValuesAndErrors) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_NE(error_of([] { parse_device("tpu"); }).find("got 'tpu'"), std::string::npos);
  if (!cuda_available()) {
    EXPECT_TRUE(parse_device("auto").is_cpu());
    const std::string e = error_of([] { parse_device("cuda"); });
    EXPECT_TRUE(e.find("without CUDA") != std::string::npos || e.find("no CUDA GPU") != std::string::npos) << e;
    return;
  }
  EXPECT_TRUE(parse_device("auto").is_cuda());
  EXPECT_EQ(parse_device("cuda", /*rank=*/0).index(), 0);
  EXPECT_NE(error_of([] { parse_device("cuda:x"); }).find("'x' is not a GPU number"), std::string::npos);
  EXPECT_NE(error_of([] { parse_device("cuda:999"); }).find("GPU(s) are visible"), std::string::npos);
}

TEST(Device, CudaWithoutAGpuFailsBeforeWritingAnything) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is visible";
  const std::string out = temp_dir("nocuda") + "/model";
  auto r = run_drt("train --config tiny --data " + small_corpus() + " --steps 2 --seq-len 60 --device cuda --out " +
                   out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--device cuda"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(out)) << "nothing may be written when the device is unusable";
}

TEST(Cuda, ForwardMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU visible";
  DrtLM model = make_model(tiny_config(), 7);
  auto tokens = random_tokens(2, 180, 3);
  ForwardOptions fo;
  fo.gumbel = false;
  auto cpu = model->forward(tokens, fo);
  model->to(torch::kCUDA);
  auto gpu = model->forward(tokens.to(torch::kCUDA), fo);
  EXPECT_TRUE(all_close(gpu.logits.cpu(), cpu.logits, 1e-3, 1e-4));
  ASSERT_EQ(gpu.retrievals.size(), cpu.retrievals.size());
  for (size_t g = 0; g < cpu.retrievals.size(); ++g) {
    EXPECT_TRUE(torch::equal(gpu.retrievals[g].indices.cpu(), cpu.retrievals[g].indices)) << "group " << g;
    EXPECT_TRUE(all_close(gpu.retrievals[g].weights.cpu(), cpu.retrievals[g].weights, 1e-4, 1e-5)) << "group " << g;
  }
}

// The same run on the GPU and on the CPU: the same batches, Gumbel noise and
// initialisation, so the losses agree up to float rounding.
TEST(Cuda, TrainingMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU visible";
  TrainOptions cpu = tiny_run(temp_dir("cpu"), 8);
  cpu.kernels = "reference";  // the math the GPU runs
  TrainOptions gpu = tiny_run(temp_dir("gpu"), 8);
  gpu.device = "cuda";
  TrainResult a = train(cpu), b = train(gpu);
  set_kernel_mode(KernelMode::kFused);
  ASSERT_EQ(a.log.size(), b.log.size());
  for (size_t i = 0; i < a.log.size(); ++i)
    EXPECT_NEAR(b.log[i].loss, a.log[i].loss, 2e-3 * std::max(1.0, std::abs(a.log[i].loss))) << "step " << i + 1;
  EXPECT_NEAR(b.final_eval_loss, a.final_eval_loss, 5e-3);
  expect_same_weights(gpu.out_dir, cpu.out_dir, 2e-2, 1e-3);
}

// GPU backward passes sum with atomics, so runs differ in the last bits.
TEST(Cuda, InterruptedRunResumesWithTheSameLosses) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU visible";
  check_resume_is_exact("cuda", 10, 4, 1e-4, false);
}

// Two ranks on one GPU through Gloo (NCCL needs a GPU per rank) equal one rank with
// twice the batch, as on the CPU.
TEST(Cuda, TwoRanksEqualOneRankWithTwiceTheBatch) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU visible";
  if (!Distributed::has_gloo()) GTEST_SKIP() << "built without c10d/Gloo";
  check_two_ranks_equal_one(" --device cuda", "--procs 2 --backend gloo");
}

TEST(Distributed, BackendErrorsNameTheProblem) {
  EXPECT_NE(error_of([] { Distributed d(2, 0, "127.0.0.1:1", "mpi"); }).find("got 'mpi'"), std::string::npos);
  if (Distributed::has_nccl())
    EXPECT_NE(error_of([] { Distributed d(2, 0, "127.0.0.1:1", "nccl"); }).find("needs --device cuda"),
              std::string::npos);
  else
    EXPECT_NE(error_of([] { Distributed d(2, 0, "127.0.0.1:1", "nccl"); }).find("without c10d/NCCL"),
              std::string::npos);
}

}  // namespace
}  // namespace drt::test

namespace drt::test {
namespace {

// --time-limit stops a run early with a checkpoint; the same command then continues.
TEST(Train, TimeLimitStopsWithACheckpointToResumeFrom) {
  const std::string out = temp_dir("tlimit");
  TrainOptions o = tiny_run(out, 6);
  o.time_limit = 1e-9;  // past before the first step
  TrainResult a = train(o);
  EXPECT_EQ(a.end_step, 0);
  EXPECT_TRUE(file_exists(out + "/train_state.json"));
  TrainResult b = train(tiny_run(out, 6));
  EXPECT_EQ(b.start_step, 0);
  EXPECT_EQ(b.end_step, 6);
}

// drt train records the CPU kernels behind its losses (a rerun repeats them bit for bit only
// with the same ones) and notes when OPENBLAS_CORETYPE forces AVX2 kernels on an AVX-512 CPU.
TEST(Train, RecordsTheBlasKernelsItRanWith) {
  if (blas_core().empty()) GTEST_SKIP() << "LibTorch here does not use OpenBLAS";
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  const std::string saved = before == nullptr ? "" : before;
  auto run_with = [](const std::string& core, std::string* output) {
    setenv("OPENBLAS_CORETYPE", core.c_str(), 1);  // the drt started below inherits it
    const std::string out = temp_dir("blas");
    auto r = run_drt("train --config tiny --data " + small_corpus() + " --steps 1 --seq-len 60 --batch 2 --out " + out);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    *output = r.output;
    std::ifstream in(out + "/train_state.json");
    return nlohmann::json::parse(in).value("blas_core", std::string("(missing)"));
  };
  std::string haswell_output, sandybridge_output;
  const std::string haswell = run_with("Haswell", &haswell_output);
  const std::string sandybridge = run_with("Sandybridge", &sandybridge_output);
  if (before != nullptr) setenv("OPENBLAS_CORETYPE", saved.c_str(), 1); else unsetenv("OPENBLAS_CORETYPE");
  EXPECT_EQ(haswell, "Haswell");
  EXPECT_EQ(sandybridge, "Sandybridge");
  EXPECT_NE(haswell_output.find("(OpenBLAS Haswell kernels)"), std::string::npos) << haswell_output;
  const bool avx512 = blas_core_narrower_than_cpu("Haswell", cpu_flags());
  EXPECT_EQ(haswell_output.find("OPENBLAS_CORETYPE=Haswell runs") != std::string::npos, avx512) << haswell_output;
}

}  // namespace
}  // namespace drt::test
