// Choosing the next token from logits: greedy (argmax) or temperature + nucleus (top-p)
// sampling with a seeded generator. Token ids a model must never emit itself (the
// landmark, which the session inserts, and pad) are excluded.
#pragma once
#include <ATen/core/Tensor.h>
#include <ATen/core/Generator.h>

#include <cstdint>
#include <vector>

namespace drt {

struct SamplingOptions {
  bool greedy = true;
  double temperature = 1.0;  // > 0; logits are divided by it
  double top_p = 1.0;        // (0, 1]: sample from the smallest set of tokens whose probability reaches top_p
  uint64_t seed = 0;
};

class Sampler {
 public:
  // `banned`: ids never chosen (e.g. the landmark and pad ids).
  Sampler(SamplingOptions options, std::vector<int64_t> banned);
  // logits: [V] float. Returns the chosen id.
  int64_t sample(const at::Tensor& logits);

 private:
  SamplingOptions options_;
  std::vector<int64_t> banned_;
  at::Generator generator_;
};

}  // namespace drt
