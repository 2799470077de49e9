// Kernel benchmarks shared by `drt bench kernels` and the Google Benchmark binary
// (bench/drt_bench_kernels): fused vs reference time of each attention kernel, forward
// and forward+backward, at the training shapes, with the achieved GFLOP/s put beside the
// machine's measured matmul GFLOP/s. FLOP and byte counts are documented in
// docs/kernels.md.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/ops.h"

namespace drt::kernels {

enum class BenchPass { kForward, kForwardBackward };
const char* bench_pass_name(BenchPass pass);  // "fwd" | "fwd+bwd"

// One benchmark shape. kernel is "window" or "gca". For GCA the T positions form
// N = T / (S + 1) query blocks of L = S + 1 positions and M = N memory chunks of S keys;
// block n retrieves min(K, n - 1) chunks among 0..n-2 (DESIGN §2.5), the other slots weigh 0.
struct BenchShape {
  std::string kernel;
  int64_t B = 4, T = 2048, H = 8, D = 32, W = 512, S = 63, K = 8;
  std::string label() const;  // "window B=4 T=2048 H=8 D=32 W=512"
};

// The shapes of the issue: B=4, H=8, D=32, W=512, S=63, K=8 at T=2048 and T=8192 for both
// kernels; `quick` keeps T=2048 only.
std::vector<BenchShape> default_bench_shapes(bool quick);

// Useful floating-point operations of one call (multiply-adds count 2; exp, max and
// the masks are not counted): 4 D per visible (query, key) pair forward, 14 D
// forward+backward (2 products forward, 5 backward).
double bench_flops(const BenchShape& shape, BenchPass pass);
// Compulsory memory traffic of one call in bytes (inputs read once, outputs written once;
// for GCA every retrieved chunk block is read once per retrieving block).
double bench_bytes(const BenchShape& shape, BenchPass pass);

// Random inputs of one shape, ready to run either implementation repeatedly.
class BenchCase {
 public:
  BenchCase(const BenchShape& shape, BenchPass pass, uint64_t seed = 1);
  // One call (forward, or forward then backward) in the given mode.
  void run(KernelMode mode);
  const BenchShape& shape() const { return shape_; }
  BenchPass pass() const { return pass_; }

 private:
  BenchShape shape_;
  BenchPass pass_;
  at::Tensor q_, k_, v_, slopes_, indices_, weights_, grad_out_;
};

// Seconds per call: the median over `repeats` timed calls after one warm-up call
// (at least `repeats` calls and at least `min_seconds` in all). A call slower than 2 s is
// timed once more after the warm-up, and the faster of the two is kept.
double time_call(const std::function<void()>& call, int repeats, double min_seconds);

// GFLOP/s of an n x n x n float32 torch::matmul on this machine, with the current threads.
double measure_matmul_gflops(int64_t n = 1024, double min_seconds = 0.5);

struct BenchResult {
  BenchShape shape;
  BenchPass pass = BenchPass::kForward;
  double fused_ms = 0, reference_ms = 0;  // reference_ms = 0 when the reference was skipped
  double flops = 0, bytes = 0;
  double speedup() const { return fused_ms > 0 && reference_ms > 0 ? reference_ms / fused_ms : 0; }
  double gflops() const { return fused_ms > 0 ? flops / (fused_ms * 1e6) : 0; }
};

struct BenchOptions {
  bool quick = false;
  bool run_reference = true;
  int repeats = 3;
  double min_seconds = 0.3;
};

BenchResult run_bench(const BenchShape& shape, BenchPass pass, const BenchOptions& options);

// Peak memory of one call above what its inputs hold: run in a fresh process (the RSS
// high-water mark of the process is the measurement), after building the inputs, this
// returns (peak RSS - RSS before the call) in MiB. `drt bench kernels` runs it in child
// processes (`drt bench kernel-memory`) at growing T to show that the fused window
// attention's memory is linear in T.
double peak_memory_growth_mib(const BenchShape& shape, BenchPass pass, KernelMode mode);

struct MemoryResult {
  BenchShape shape;
  KernelMode mode = KernelMode::kFused;
  double peak_growth_mib = 0;
};

// The readable table (one row per result) and the JSON document
// {"matmul_gflops": x, "fma_peak_gflops": y, "isa": "...", "threads": n,
//  "results": [{"kernel", "pass", "B", "T", "H", "D", "W", "S", "K", "fused_ms", "reference_ms",
//  "speedup", "gflops", "matmul_fraction", "peak_fraction", "flops", "bytes"}, ...]}.
// `machine` holds the two ceilings measured in the same run.
struct MachineRates {
  double matmul_gflops = 0;    // torch::matmul 1024^3 float32 (whatever BLAS LibTorch uses)
  double fma_peak_gflops = 0;  // back-to-back vector FMAs, no memory (kernels::cpu::fma_peak_gflops)
};
MachineRates measure_machine();

std::string format_bench_table(const MachineRates& machine, const std::vector<BenchResult>& results);
std::string format_memory_table(const std::vector<MemoryResult>& memory);
// ... plus, when `memory` is not empty, "memory": [{"kernel", "mode", "pass", "B", "T", "H", "D", "W",
// "peak_growth_mib"}, ...].
std::string bench_json(const MachineRates& machine, const std::vector<BenchResult>& results,
                       const std::vector<MemoryResult>& memory = {});

}  // namespace drt::kernels
