// A training-task mixture: "lm", "passkey", or "mix:lm=0.5,passkey=0.3,multikey=0.2".
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace drt {

class TaskMix {
 public:
  // Throws drt::Error naming an unknown task or a bad weight.
  static TaskMix parse(const std::string& spec);
  // A task drawn with the mixture's probabilities.
  const std::string& pick(std::mt19937_64& rng) const;
  const std::vector<std::pair<std::string, double>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, double>> entries_;  // weights sum to 1
};

// The `repeat` task's sample: language modelling on text whose second half repeats its
// first, `text`'s tokens [0, h) then [0, T - h) again, h = ceil(T / 2), every token a
// target. From T = 2 x (layers x W) on, a token of the second half is farther from its
// first occurrence than the windows reach, so only retrieval + GCA can copy it: the
// language-model form of the passkey, which teaches GCA to carry text, not only digits.
// `text` holds at least T tokens; T >= 2.
std::vector<int64_t> repeat_text(const std::vector<int64_t>& text, int64_t length);

}  // namespace drt
