// `drt bench infer`: end-to-end streaming inference speed — reading throughput and
// per-token generation latency at growing context lengths, with the process's peak
// resident memory — for DRT and its two baselines of the same size:
//
//   drt     the model as configured (window attention + chunk memory + GCA)
//   window  the sliding-window baseline (retrieval off: every decoder layer a lower layer)
//   full    the same with full causal attention (window unbounded; its KV cache and cost
//           per token grow with the context)
//
// Each case runs in a fresh process so that its peak RSS is its own.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model_config.h"

namespace drt {

struct InferBenchCase {
  std::string model = "drt";  // drt | window | full
  int64_t context = 16384;    // text tokens read before generating
  std::string memory = "ram";  // ram | disk (chunk memory backend; drt only)
};

struct InferBenchResult {
  InferBenchCase bench;
  double read_tokens_per_s = 0;
  double generate_ms_per_token = 0;
  double peak_rss_mb = 0;
};

// The config of `model` built from `base` (a DRT config).
ModelConfig infer_bench_config(const ModelConfig& base, const std::string& model);

// Runs one case in this process: a model with random weights (or the weights of
// `model_dir` when given, for model "drt"), reads `context` random tokens in segments of
// `segment`, then generates `generate_tokens` tokens greedily, one at a time.
// `disk_path`: the chunk memory file for memory "disk".
InferBenchResult run_infer_case(const ModelConfig& base, const std::string& model_dir, const InferBenchCase& c,
                                int64_t generate_tokens, int64_t segment, const std::string& disk_path,
                                bool progress);

nlohmann::json infer_result_json(const InferBenchResult& r);
InferBenchResult infer_result_from_json(const nlohmann::json& j);
// {"results": [...]} and a table.
nlohmann::json infer_results_json(const std::vector<InferBenchResult>& results);
std::string infer_results_table(const std::vector<InferBenchResult>& results);

}  // namespace drt
