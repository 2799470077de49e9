#include "eval/infer_bench.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/progress.h"
#include "engine/generate.h"
#include "engine/session.h"
#include "eval/rss.h"
#include "model/checkpoint.h"

namespace drt {

ModelConfig infer_bench_config(const ModelConfig& base, const std::string& model) {
  ModelConfig c = base;
  if (model == "drt") {
    DRT_CHECK(c.retrieval, "bench infer: the base config has retrieval off; model 'drt' needs it on");
    return c;
  }
  DRT_CHECK(model == "window" || model == "full", "bench infer: unknown model '", model,
            "' (expected drt, window or full)");
  // The same number of decoder layers, all of them lower layers (DESIGN §2: the baseline
  // is one config switch away).
  c.retrieval = false;
  if (model == "full") c.slide_window = -1;
  return c;
}

InferBenchResult run_infer_case(const ModelConfig& base, const std::string& model_dir, const InferBenchCase& bc,
                                int64_t generate_tokens, int64_t segment, const std::string& disk_path,
                                bool progress) {
  torch::NoGradGuard no_grad;
  DrtLM model{nullptr};
  if (!model_dir.empty() && bc.model == "drt") {
    model = load_model(model_dir);
  } else {
    model = DrtLM(infer_bench_config(base, bc.model));
    model->init_weights(1);
  }
  const ModelConfig& c = model->config;
  MemorySpec spec;
  if (bc.memory == "disk") {
    spec.disk = true;
    spec.path = disk_path;
  } else {
    DRT_CHECK(bc.memory == "ram", "bench infer: memory must be ram or disk, got '", bc.memory, "'");
  }
  Session session(model, make_chunk_store(spec, c.enc_chunk_size, c.hidden_size));
  // Random text ids (speed does not depend on the text), drawn per segment.
  auto gen = at::detail::createCPUGenerator(7);
  const int64_t text_vocab = std::min<int64_t>(c.vocab_size, 256);
  Progress bar("read " + bc.model, bc.context, 0, "tok", !progress);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t at = 0; at < bc.context; at += segment) {
    const int64_t n = std::min(segment, bc.context - at);
    auto ids = torch::randint(0, text_vocab, {n}, gen, torch::kLong);
    session.read(ids.data_ptr<int64_t>(), n, Logits::kNone);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char status[96];
    std::snprintf(status, sizeof status, "%.0f tok/s  rss %.0f MiB", s > 0 ? (at + n) / s : 0.0, current_rss_mib());
    bar.update(at + n, status);
  }
  bar.finish();
  const double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  GenerateOptions options;
  options.max_new = generate_tokens;
  options.stop_at_bos = false;
  const auto t1 = std::chrono::steady_clock::now();
  const auto out = generate(session, options);
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  InferBenchResult r;
  r.bench = bc;
  r.read_tokens_per_s = read_s > 0 ? static_cast<double>(bc.context) / read_s : 0;
  r.generate_ms_per_token = out.empty() ? 0 : 1000.0 * gen_s / static_cast<double>(out.size());
  r.peak_rss_mb = peak_rss_mib();
  return r;
}

nlohmann::json infer_result_json(const InferBenchResult& r) {
  return {{"model", r.bench.model},
          {"context", r.bench.context},
          {"memory", r.bench.memory},
          {"read_tokens_per_s", r.read_tokens_per_s},
          {"generate_ms_per_token", r.generate_ms_per_token},
          {"peak_rss_mb", r.peak_rss_mb}};
}

InferBenchResult infer_result_from_json(const nlohmann::json& j) {
  InferBenchResult r;
  r.bench.model = j.at("model").get<std::string>();
  r.bench.context = j.at("context").get<int64_t>();
  r.bench.memory = j.at("memory").get<std::string>();
  r.read_tokens_per_s = j.at("read_tokens_per_s").get<double>();
  r.generate_ms_per_token = j.at("generate_ms_per_token").get<double>();
  r.peak_rss_mb = j.at("peak_rss_mb").get<double>();
  return r;
}

nlohmann::json infer_results_json(const std::vector<InferBenchResult>& results) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : results) rows.push_back(infer_result_json(r));
  return {{"results", rows}};
}

std::string infer_results_table(const std::vector<InferBenchResult>& results) {
  std::ostringstream os;
  char line[160];
  std::snprintf(line, sizeof line, "%-8s %10s %7s %14s %14s %12s\n", "model", "context", "memory", "read tok/s",
                "gen ms/token", "peak RSS MB");
  os << line;
  for (const auto& r : results) {
    std::snprintf(line, sizeof line, "%-8s %10lld %7s %14.0f %14.2f %12.0f\n", r.bench.model.c_str(),
                  static_cast<long long>(r.bench.context), r.bench.memory.c_str(), r.read_tokens_per_s,
                  r.generate_ms_per_token, r.peak_rss_mb);
    os << line;
  }
  return os.str();
}

}  // namespace drt
