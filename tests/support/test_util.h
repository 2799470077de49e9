// Shared helpers for drt tests: the one tolerance check (it reports the worst element),
// small models, and running the drt binary.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "config/model_config.h"
#include "core/error.h"
#include "io/file_util.h"
#include "support/error_of.h"
#include "model/drt_model.h"

namespace drt::test {

// Asserts |actual - expected| <= atol + rtol |expected| elementwise; on failure reports
// the worst element, its index and both values.
inline ::testing::AssertionResult all_close(const torch::Tensor& actual, const torch::Tensor& expected,
                                            double rtol = 1e-5, double atol = 1e-6) {
  if (actual.sizes() != expected.sizes())
    return ::testing::AssertionFailure() << "shape " << actual.sizes() << " != " << expected.sizes();
  auto a = actual.detach().to(torch::kFloat64).flatten();
  auto e = expected.detach().to(torch::kFloat64).flatten();
  if (a.numel() == 0) return ::testing::AssertionSuccess();
  auto excess = (a - e).abs() - (atol + rtol * e.abs());
  auto worst = excess.argmax().item<int64_t>();
  if (excess[worst].item<double>() <= 0 && a.isfinite().all().item<bool>()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "worst element " << worst << ": actual " << a[worst].item<double>()
                                       << " expected " << e[worst].item<double>() << " (|diff| "
                                       << (a[worst] - e[worst]).abs().item<double>() << ", rtol " << rtol
                                       << ", atol " << atol << ")";
}

inline ModelConfig tiny_config() { return ModelConfig::load(find_config_preset("tiny")); }

inline DrtLM make_model(const ModelConfig& c, uint64_t seed = 1) {
  DrtLM m(c);
  m->init_weights(seed);
  m->eval();
  return m;
}

// Random text tokens [B, T] below `vocab` (defaults to the 256 byte ids).
inline torch::Tensor random_tokens(int64_t B, int64_t T, uint64_t seed, int64_t vocab = 256) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randint(0, vocab, {B, T}, gen, torch::kLong);
}

// A fresh temporary directory under /tmp.
inline std::string temp_dir(const std::string& tag) {
  std::string tmpl = "/tmp/drt_test_" + tag + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* d = mkdtemp(buf.data());
  if (d == nullptr) throw Error("mkdtemp failed");
  return d;
}

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs the drt binary with `args` (a shell-quoted string).
inline CommandResult run_drt(const std::string& args) {
  std::string cmd = std::string(DRT_CLI_PATH) + " " + args + " 2>&1";
  CommandResult r{0, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) throw Error("popen failed");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace drt::test
