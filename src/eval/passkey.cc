#include "eval/passkey.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/progress.h"
#include "engine/generate.h"
#include "viz/plot.h"

namespace drt {

PasskeyMode parse_passkey_mode(const std::string& name) {
  if (name == "token") return PasskeyMode::kToken;
  if (name == "text") return PasskeyMode::kText;
  throw Error(str_cat("--mode must be token or text, got '", name, "'"));
}

std::string format_count(int64_t n) {
  if (n > 0 && n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + "M";
  if (n > 0 && n % 1024 == 0) return std::to_string(n / 1024) + "K";
  return std::to_string(n);
}

std::vector<double> depth_values(int64_t n) {
  DRT_CHECK(n >= 1, "--depths must be at least 1, got ", n);
  if (n == 1) return {0.5};
  std::vector<double> d;
  for (int64_t i = 0; i < n; ++i) d.push_back(static_cast<double>(i) / static_cast<double>(n - 1));
  return d;
}

bool token_mode_hit(const at::Tensor& logits, const std::vector<int64_t>& answer) {
  DRT_CHECK(logits.dim() == 2 && logits.size(0) == static_cast<int64_t>(answer.size()),
            "passkey: token-mode logits must be [", answer.size(), ", V], got ", logits.sizes());
  auto best = logits.argmax(1).contiguous();
  for (size_t i = 0; i < answer.size(); ++i)
    if (best[static_cast<int64_t>(i)].item<int64_t>() != answer[i]) return false;
  return true;
}

bool text_mode_hit(const std::string& generated, const std::string& passkey) {
  const auto a = passkey.find_first_not_of(' '), b = passkey.find_last_not_of(' ');
  if (a == std::string::npos) return false;
  return generated.find(passkey.substr(a, b - a + 1)) != std::string::npos;
}

double PasskeyReport::accuracy() const {
  int64_t t = 0, c = 0;
  for (const auto& r : results) {
    t += r.trials;
    c += r.correct;
  }
  return t > 0 ? static_cast<double>(c) / static_cast<double>(t) : 0.0;
}

nlohmann::json PasskeyReport::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : results)
    rows.push_back({{"length", r.length}, {"depth", r.depth}, {"trials", r.trials}, {"correct", r.correct},
                    {"accuracy", r.accuracy()}});
  return {{"task", task}, {"mode", mode}, {"results", rows}, {"accuracy", accuracy()}};
}

std::string PasskeyReport::table() const {
  std::ostringstream os;
  char line[128];
  std::snprintf(line, sizeof line, "%-10s %8s %8s %8s %9s\n", "length", "depth", "trials", "correct", "accuracy");
  os << line;
  for (const auto& r : results) {
    std::snprintf(line, sizeof line, "%-10s %8.3f %8lld %8lld %8.1f%%\n", format_count(r.length).c_str(), r.depth,
                  static_cast<long long>(r.trials), static_cast<long long>(r.correct), 100 * r.accuracy());
    os << line;
  }
  std::snprintf(line, sizeof line, "%s (%s mode): overall accuracy %.1f%%\n", task.c_str(), mode.c_str(),
                100 * accuracy());
  os << line;
  return os.str();
}

PasskeyAttempt session_attempt(DrtLM model, const Tokenizer& tokenizer, PasskeyMode mode, const MemorySpec& memory) {
  return [model, &tokenizer, mode, memory](const SyntheticSample& sample) mutable {
    torch::NoGradGuard no_grad;
    const ModelConfig& c = model->config;
    Session session(model, make_chunk_store(memory, c.enc_chunk_size, c.hidden_size));
    const auto A = static_cast<int64_t>(sample.answer.size());
    const auto T = static_cast<int64_t>(sample.tokens.size());
    // Everything before the answer: haystack, needles, question.
    auto last = session.read(sample.tokens.data(), T - A, Logits::kLast);
    if (mode == PasskeyMode::kToken) {
      // Teacher forcing: the answer's own tokens give the predictions after the first.
      auto rest = session.read(sample.tokens.data() + (T - A), A - 1, Logits::kAll);
      auto logits = A > 1 ? torch::cat({last.unsqueeze(0), rest}, 0) : last.unsqueeze(0);
      return token_mode_hit(logits, sample.answer);
    }
    GenerateOptions options;
    options.max_new = A + 2;
    options.sampling.greedy = true;
    const std::vector<int64_t> generated = generate(session, options);
    return text_mode_hit(tokenizer.decode(generated), tokenizer.decode(sample.answer));
  };
}

PasskeyReport run_passkey(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack, int64_t chunk_size,
                          const PasskeyOptions& options, const PasskeyAttempt& attempt) {
  DRT_CHECK(!options.lengths.empty(), "passkey: no --lengths given");
  DRT_CHECK(options.trials >= 1, "--trials must be at least 1, got ", options.trials);
  const std::vector<double> depths = depth_values(options.depths);
  std::vector<int64_t> lengths;
  int64_t total = 0;
  for (int64_t n : options.lengths) {
    DRT_CHECK(n > 0, "passkey: length ", n, " must be positive");
    lengths.push_back((n + chunk_size - 1) / chunk_size * chunk_size);  // whole chunks
    total += lengths.back() * static_cast<int64_t>(depths.size()) * options.trials;
  }
  PasskeyReport report;
  report.task = to_string(options.task);
  report.mode = options.mode == PasskeyMode::kToken ? "token" : "text";
  Progress progress("passkey", total, 0, "tok", !options.progress);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t done = 0, sample_index = 0;
  for (int64_t length : lengths) {
    for (double depth : depths) {
      PasskeyCell cell{length, depth, 0, 0};
      for (int64_t trial = 0; trial < options.trials; ++trial) {
        SyntheticOptions so;
        so.length = length;
        so.chunk_size = chunk_size;
        so.depth = depth;
        so.answer_length = options.answer_length;
        so.seed = options.seed * 1000003ULL + static_cast<uint64_t>(sample_index++);
        SyntheticSample sample = make_synthetic(options.task, tokenizer, haystack, so);
        cell.trials += 1;
        if (attempt(sample)) cell.correct += 1;
        done += length;
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        char status[160];
        std::snprintf(status, sizeof status, "length %s depth %.2f  acc %.1f%%  %.0f tok/s",
                      format_count(length).c_str(), depth, 100 * cell.accuracy(), secs > 0 ? done / secs : 0.0);
        progress.update(done, status);
      }
      report.results.push_back(cell);
    }
  }
  progress.finish();
  return report;
}

void write_passkey_heatmap(const std::string& path, const PasskeyReport& report) {
  std::vector<int64_t> lengths;
  std::vector<double> depths;
  for (const auto& r : report.results) {
    if (std::find(lengths.begin(), lengths.end(), r.length) == lengths.end()) lengths.push_back(r.length);
    if (std::find(depths.begin(), depths.end(), r.depth) == depths.end()) depths.push_back(r.depth);
  }
  viz::Heatmap h;
  h.title = report.task + " accuracy (" + report.mode + " mode)";
  h.x_label = "context length (tokens)";
  h.y_label = "needle depth";
  for (int64_t n : lengths) h.x_ticks.push_back(format_count(n));
  for (double d : depths) h.y_ticks.push_back(std::to_string(static_cast<int>(std::lround(100 * d))) + "%");
  h.values.assign(depths.size(), std::vector<double>(lengths.size(), std::nan("")));
  for (const auto& r : report.results) {
    const auto x = std::find(lengths.begin(), lengths.end(), r.length) - lengths.begin();
    const auto y = std::find(depths.begin(), depths.end(), r.depth) - depths.begin();
    h.values[static_cast<size_t>(y)][static_cast<size_t>(x)] = r.accuracy();
  }
  viz::write_heatmap(path, h);
}

}  // namespace drt
