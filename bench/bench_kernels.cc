// Google Benchmark binary for the attention kernels: one benchmark per (kernel, T, pass,
// implementation) plus a float32 matmul, then the fused-vs-reference table of
// src/kernels/kernel_bench.h. Extra flags (before the --benchmark_* ones):
//   --quick         T=2048 only
//   --json FILE     write the table as JSON (same format as `drt bench kernels --json`)
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/threads.h"
#include "kernels/cpu/attention_cpu.h"
#include "kernels/kernel_bench.h"
#include "kernels/ops.h"

namespace {

namespace kb = drt::kernels;

struct Entry {
  kb::BenchShape shape;
  kb::BenchPass pass;
  drt::KernelMode mode;
};

std::map<std::string, Entry>& entries() {
  static std::map<std::string, Entry> map;
  return map;
}

void bm_kernel(benchmark::State& state, Entry e) {
  kb::BenchCase bench(e.shape, e.pass);
  bench.run(e.mode);  // warm-up
  for (auto _ : state) bench.run(e.mode);
  state.counters["GFLOP/s"] = benchmark::Counter(kb::bench_flops(e.shape, e.pass),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["GB/s"] = benchmark::Counter(kb::bench_bytes(e.shape, e.pass),
                                              benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

void bm_matmul(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto a = at::randn({n, n}), b = at::randn({n, n});
  auto c = at::empty({n, n});
  for (auto _ : state) at::matmul_out(c, a, b);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

// Console output as usual; also keeps the time per iteration of every run.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      const double seconds = r.real_accumulated_time / static_cast<double>(r.iterations);
      times_[r.run_name.function_name] = seconds;
      if (r.run_name.function_name == "matmul") matmul_gflops_ = r.counters.at("GFLOP/s").value / 1e9;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& times() const { return times_; }
  double matmul_gflops() const { return matmul_gflops_; }

 private:
  std::map<std::string, double> times_;
  double matmul_gflops_ = 0;
};

std::string name_of(const kb::BenchShape& s, kb::BenchPass pass, drt::KernelMode mode) {
  return s.kernel + "/" + kb::bench_pass_name(pass) + "/T=" + std::to_string(s.T) + "/" + drt::kernel_mode_name(mode);
}

}  // namespace

int main(int argc, char** argv) {
  drt::set_threads(0);
  bool quick = false;
  std::string json;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
    } else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) {
      json = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());

  benchmark::RegisterBenchmark("matmul", bm_matmul)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
  for (const auto& shape : kb::default_bench_shapes(quick))
    for (auto pass : {kb::BenchPass::kForward, kb::BenchPass::kForwardBackward})
      for (auto mode : {drt::KernelMode::kFused, drt::KernelMode::kReference}) {
        const Entry e{shape, pass, mode};
        const std::string name = name_of(shape, pass, mode);
        entries()[name] = e;
        benchmark::RegisterBenchmark(name.c_str(), bm_kernel, e)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(0.5);
      }
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::vector<kb::BenchResult> results;
  for (const auto& shape : kb::default_bench_shapes(quick))
    for (auto pass : {kb::BenchPass::kForward, kb::BenchPass::kForwardBackward}) {
      const auto fused = reporter.times().find(name_of(shape, pass, drt::KernelMode::kFused));
      const auto ref = reporter.times().find(name_of(shape, pass, drt::KernelMode::kReference));
      if (fused == reporter.times().end()) continue;  // filtered out
      kb::BenchResult r;
      r.shape = shape;
      r.pass = pass;
      r.flops = kb::bench_flops(shape, pass);
      r.bytes = kb::bench_bytes(shape, pass);
      r.fused_ms = 1e3 * fused->second;
      r.reference_ms = ref == reporter.times().end() ? 0 : 1e3 * ref->second;
      results.push_back(r);
    }
  kb::MachineRates machine;
  machine.matmul_gflops = reporter.matmul_gflops();
  machine.fma_peak_gflops = drt::kernels::cpu::fma_peak_gflops(0.3);
  std::cout << "\n" << kb::format_bench_table(machine, results);
  if (!json.empty()) {
    std::ofstream(json) << kb::bench_json(machine, results) << "\n";
    std::cout << "wrote " << json << "\n";
  }
  benchmark::Shutdown();
  return 0;
}
