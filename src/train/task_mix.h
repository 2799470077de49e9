// A training-task mixture: "lm", "passkey", or "mix:lm=0.5,passkey=0.3,multikey=0.2".
#pragma once
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

}  // namespace drt
