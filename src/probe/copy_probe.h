// The copy probe: can a model configuration learn to copy a random digit string through
// retrieval and GCA, and how fast? A passkey answer is a copy (DESIGN §2.5 only trains the
// retriever once GCA's output helps the answer), so this is the smallest experiment that
// says whether a passkey recipe can work before spending hours on one.
//
// A sample is N chunks of S random lowercase letters. The needle chunk starts with '#'
// and the answer's digits; the last chunk starts with '?' and the same digits. The loss is
// on the digits after '?' only. Geometry (N, where needles go in training and evaluation)
// decides which path can carry the answer: the question's own window, the stacked windows,
// or only retrieval + GCA.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/model_config.h"

namespace drt {

struct CopyProbeOptions {
  int64_t chunks = 8;             // N chunks per sample; the question is chunk N-1
  int64_t needle_begin = 0;       // training needles in chunks [needle_begin, needle_end)
  int64_t needle_end = 5;
  int64_t eval_needle_begin = 0;  // evaluation needles in [eval_needle_begin, eval_needle_end)
  int64_t eval_needle_end = 1;
  int64_t digits = 5;             // answer length (< S)
  int64_t steps = 2000;
  int64_t repeat_steps = 0;       // curriculum: the first steps repeat one digit (easy to read)
  double repeat_share = 0;        // after those, this share of samples still repeats one digit
  // curriculum: the first steps put the needle in chunk N-2, inside the question's window,
  // so that copying forms on the short path before it must go through retrieval + GCA.
  int64_t near_steps = 0;
  // '#' + digits at a random place in the needle's chunk and '?' + digits at a random place
  // in the last chunk, instead of at the chunks' starts: copying must match content.
  bool random_offsets = false;
  // curriculum (with random_offsets): the first steps still put them at the chunks' starts,
  // where the positional copy forms fast, so that the content copy starts from a read path.
  int64_t aligned_steps = 0;
  int64_t batch = 16;
  int64_t eval_every = 400;
  int64_t eval_samples = 64;
  double lr = 3e-3;               // AdamW, constant, no weight decay
  uint64_t seed = 3;              // model init; data and Gumbel noise derive from it
};

struct CopyProbeEval {
  int64_t step = 0;
  double answer_loss = 0;              // mean over the answer digits (chance: ln 10 = 2.303)
  std::vector<double> digit_accuracy;  // per answer position, argmax == digit (chance 0.1)
  double answers_right = 0;            // all digits right
  double retrieval_top1 = 0;           // group 0's first choice for the question's chunk holds the needle
  double train_loss = 0;               // the last training batch's loss
  double seconds = 0;                  // since training began
};

// Throws drt::Error naming a bad option (needles outside the sample, digits >= S, ...).
void validate_copy_probe(const CopyProbeOptions& o, const ModelConfig& c);

// Chunks [0, far) lie beyond the stacked windows of every decoder layer as seen from the
// question's chunk: there only retrieval + GCA can carry the answer. 0 if none do.
int64_t far_needle_end(const ModelConfig& c, int64_t chunks);

// Trains a fresh model of config `c` on the probe task; calls on_eval after each evaluation.
std::vector<CopyProbeEval> run_copy_probe(const ModelConfig& c, const CopyProbeOptions& o,
                                          const std::function<void(const CopyProbeEval&)>& on_eval = {});

nlohmann::json to_json(const CopyProbeOptions& o);
nlohmann::json to_json(const CopyProbeEval& e);

}  // namespace drt
