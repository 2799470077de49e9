#include "train/task_mix.h"

#include <cstdlib>
#include <sstream>

#include "core/error.h"

namespace drt {

namespace {
bool known_task(const std::string& t) {
  return t == "lm" || t == "repeat" || t == "passkey" || t == "multikey" || t == "multihop" || t == "copy" ||
         t == "copy-letters";
}
}  // namespace

TaskMix TaskMix::parse(const std::string& spec) {
  TaskMix mix;
  if (spec.rfind("mix:", 0) != 0) {
    DRT_CHECK(known_task(spec), "unknown task '", spec, "' (expected lm, repeat, passkey, multikey, multihop, copy, copy-letters or mix:...)");
    mix.entries_.emplace_back(spec, 1.0);
    return mix;
  }
  std::stringstream ss(spec.substr(4));
  std::string item;
  double total = 0;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    DRT_CHECK(eq != std::string::npos, "task mixture entry '", item, "' is not NAME=WEIGHT");
    std::string name = item.substr(0, eq);
    char* end = nullptr;
    double w = std::strtod(item.c_str() + eq + 1, &end);
    DRT_CHECK(known_task(name), "unknown task '", name, "' in mixture '", spec, "'");
    DRT_CHECK(end && *end == '\0' && w > 0, "task mixture weight of '", name, "' must be a positive number, got '",
              item.substr(eq + 1), "'");
    mix.entries_.emplace_back(name, w);
    total += w;
  }
  DRT_CHECK(!mix.entries_.empty(), "empty task mixture '", spec, "'");
  for (auto& e : mix.entries_) e.second /= total;
  return mix;
}

const std::string& TaskMix::pick(std::mt19937_64& rng) const {
  if (entries_.size() == 1) return entries_[0].first;
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  for (const auto& e : entries_) {
    if (u < e.second) return e.first;
    u -= e.second;
  }
  return entries_.back().first;
}

std::vector<int64_t> repeat_text(const std::vector<int64_t>& text, int64_t length) {
  DRT_CHECK(length >= 2, "repeat task: a sample needs at least 2 tokens, not ", length);
  DRT_CHECK(static_cast<int64_t>(text.size()) >= length, "repeat task: ", text.size(), " tokens of text for a sample of ",
            length);
  const int64_t half = (length + 1) / 2;
  std::vector<int64_t> out(text.begin(), text.begin() + half);
  out.insert(out.end(), text.begin(), text.begin() + (length - half));
  return out;
}

}  // namespace drt
