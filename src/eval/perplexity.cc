#include "eval/perplexity.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/progress.h"

namespace drt {

PositionBuckets::PositionBuckets(int64_t first_end) : first_end_(first_end) {
  DRT_CHECK(first_end > 0, "position buckets: the first bucket must end after position 0, not at ", first_end);
}

int64_t PositionBuckets::index(int64_t position) const {
  DRT_CHECK(position >= 0, "position buckets: negative position ", position);
  int64_t bucket = 0;
  for (int64_t end = first_end_; position >= end; end *= kGrowth) ++bucket;
  return bucket;
}

int64_t PositionBuckets::begin(int64_t bucket) const { return bucket == 0 ? 0 : end(bucket - 1); }

int64_t PositionBuckets::end(int64_t bucket) const {
  int64_t e = first_end_;
  for (int64_t i = 0; i < bucket; ++i) e *= kGrowth;
  return e;
}

namespace {
std::string count_label(int64_t n) {
  if (n == 0) return "0";
  if (n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + "M";
  if (n % 1024 == 0) return std::to_string(n / 1024) + "K";
  return std::to_string(n);
}
}  // namespace

std::string PositionBuckets::label(int64_t bucket) const { return count_label(begin(bucket)) + "-" + count_label(end(bucket)); }

double BucketStats::loss() const {
  return tokens > 0 ? nll_sum / static_cast<double>(tokens) : std::numeric_limits<double>::quiet_NaN();
}
double BucketStats::ppl() const { return std::exp(loss()); }

void PerplexityResult::add(int64_t position, double nll) {
  const int64_t b = edges.index(position);
  while (static_cast<int64_t>(buckets.size()) <= b) {
    const int64_t i = static_cast<int64_t>(buckets.size());
    buckets.push_back({edges.begin(i), edges.end(i), 0, 0.0});
  }
  buckets[b].tokens += 1;
  buckets[b].nll_sum += nll;
  tokens += 1;
  nll_sum += nll;
}

double PerplexityResult::loss() const {
  return tokens > 0 ? nll_sum / static_cast<double>(tokens) : std::numeric_limits<double>::quiet_NaN();
}
double PerplexityResult::ppl() const { return std::exp(loss()); }

nlohmann::json PerplexityResult::to_json() const {
  nlohmann::json b = nlohmann::json::array();
  for (const auto& s : buckets)
    b.push_back({{"from", s.from}, {"to", s.to}, {"tokens", s.tokens}, {"loss", s.loss()}, {"ppl", s.ppl()}});
  return {{"loss", loss()}, {"ppl", ppl()}, {"tokens", tokens}, {"documents", documents}, {"buckets", b}};
}

std::string PerplexityResult::table() const {
  std::ostringstream os;
  char line[160];
  os << "loss = mean cross-entropy (nats/token); ppl = exp(loss)\n";
  std::snprintf(line, sizeof line, "%-14s %12s %10s %12s\n", "positions", "tokens", "loss", "ppl");
  os << line;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const auto& s = buckets[i];
    std::snprintf(line, sizeof line, "%-14s %12lld %10.4f %12.3f\n", edges.label(static_cast<int64_t>(i)).c_str(),
                  static_cast<long long>(s.tokens), s.loss(), s.ppl());
    os << line;
  }
  std::snprintf(line, sizeof line, "%-14s %12lld %10.4f %12.3f\n", "all", static_cast<long long>(tokens), loss(),
                ppl());
  os << line;
  return os.str();
}

PerplexityResult evaluate_perplexity(DrtLM model, int64_t count,
                                     const std::function<std::vector<int64_t>(int64_t)>& document,
                                     const PerplexityOptions& options) {
  DRT_CHECK(options.segment > 0, "perplexity: segment must be positive");
  torch::NoGradGuard no_grad;
  const ModelConfig& c = model->config;
  PerplexityResult result;
  result.edges = PositionBuckets(options.first_bucket);
  int64_t total = options.expected_tokens;
  if (options.max_tokens > 0 && (total <= 0 || options.max_tokens < total)) total = options.max_tokens;
  Progress progress("ppl", std::max<int64_t>(total, 1), 0, "tok", !options.progress);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t d = 0; d < count; ++d) {
    if (options.max_tokens > 0 && result.tokens >= options.max_tokens) break;
    std::vector<int64_t> doc = document(d);
    if (doc.empty()) continue;
    Session session(model, make_chunk_store(options.memory, c.enc_chunk_size, c.hidden_size));
    // `prev` [V]: the prediction for the next token to be scored.
    at::Tensor prev;
    int64_t start = 0;
    if (options.bos_id >= 0) {
      prev = session.read({options.bos_id}, Logits::kLast);
    } else {
      prev = session.read({doc[0]}, Logits::kLast);
      start = 1;
    }
    result.documents += 1;
    for (int64_t a = start; a < static_cast<int64_t>(doc.size());) {
      int64_t n = std::min<int64_t>(options.segment, static_cast<int64_t>(doc.size()) - a);
      if (options.max_tokens > 0) n = std::min(n, options.max_tokens - result.tokens);
      if (n <= 0) break;
      auto logits = session.read(doc.data() + a, n, Logits::kAll);  // [n, V]: row i predicts doc[a + i + 1]
      auto preds = torch::cat({prev.unsqueeze(0), logits.narrow(0, 0, n - 1)}, 0);  // row i predicts doc[a + i]
      auto targets = torch::from_blob(doc.data() + a, {n}, torch::kLong);
      auto nll = -torch::log_softmax(preds.to(torch::kFloat32), -1).gather(1, targets.unsqueeze(1)).squeeze(1);
      auto nll_d = nll.to(torch::kFloat64).contiguous();
      const double* p = nll_d.data_ptr<double>();
      for (int64_t i = 0; i < n; ++i) result.add(a + i, p[i]);
      prev = logits[n - 1];
      a += n;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      char status[128];
      std::snprintf(status, sizeof status, "doc %lld/%lld  loss %.4f  %.0f tok/s", static_cast<long long>(d + 1),
                    static_cast<long long>(count), result.loss(), secs > 0 ? result.tokens / secs : 0.0);
      progress.update(result.tokens, status);
    }
  }
  progress.finish();
  return result;
}

}  // namespace drt
