#include "engine/sampler.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <limits>

#include "core/error.h"

namespace drt {

Sampler::Sampler(SamplingOptions options, std::vector<int64_t> banned)
    : options_(options), banned_(std::move(banned)), generator_(at::detail::createCPUGenerator(options.seed)) {
  DRT_CHECK(options_.greedy || options_.temperature > 0, "sampling: temperature must be > 0, got ",
            options_.temperature);
  DRT_CHECK(options_.top_p > 0 && options_.top_p <= 1, "sampling: top-p must be in (0, 1], got ", options_.top_p);
}

int64_t Sampler::sample(const at::Tensor& logits_in) {
  DRT_CHECK(logits_in.dim() == 1 && logits_in.numel() > 0, "sampling: logits must be [V], got ", logits_in.sizes());
  auto logits = logits_in.detach().to(torch::kFloat32).clone();
  const int64_t V = logits.numel();
  for (int64_t id : banned_)
    if (id >= 0 && id < V) logits[id] = -std::numeric_limits<float>::infinity();
  if (options_.greedy) return logits.argmax().item<int64_t>();
  auto probs = torch::softmax(logits / options_.temperature, 0);
  if (options_.top_p < 1.0) {
    auto [sorted, order] = probs.sort(/*dim=*/0, /*descending=*/true);
    auto cum = sorted.cumsum(0);
    // Keep a token when the mass before it is below top_p (the first always stays).
    auto keep = (cum - sorted) < options_.top_p;
    auto kept = torch::where(keep, sorted, torch::zeros_like(sorted));
    probs = torch::zeros_like(probs).scatter_(0, order, kept);
  }
  return torch::multinomial(probs, 1, /*replacement=*/false, generator_).item<int64_t>();
}

}  // namespace drt
