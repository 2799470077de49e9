#include "kernels/kernel_bench.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <sys/resource.h>
#include <unistd.h>

#include "core/error.h"
#include "kernels/cpu/attention_cpu.h"

namespace drt::kernels {

namespace {

int64_t gca_blocks(const BenchShape& s) { return s.T / (s.S + 1); }

// Retrieved (block, slot) pairs of one batch row under the causal pattern.
int64_t gca_used_slots(const BenchShape& s) {
  int64_t used = 0;
  for (int64_t n = 0; n < gca_blocks(s); ++n) used += std::min<int64_t>(s.K, std::max<int64_t>(0, n - 1));
  return used;
}

// Visible (query, key) pairs of one (batch, head) for causal window attention.
double window_pairs(const BenchShape& s) {
  double pairs = 0;
  for (int64_t i = 0; i < s.T; ++i) pairs += static_cast<double>(std::min(i, s.W) + 1);
  return pairs;
}

class ModeScope {
 public:
  explicit ModeScope(KernelMode mode) : saved_(kernel_mode()) { set_kernel_mode(mode); }
  ~ModeScope() { set_kernel_mode(saved_); }

 private:
  KernelMode saved_;
};

}  // namespace

const char* bench_pass_name(BenchPass pass) { return pass == BenchPass::kForward ? "fwd" : "fwd+bwd"; }

std::string BenchShape::label() const {
  std::ostringstream os;
  os << kernel << " B=" << B << " T=" << T << " H=" << H << " D=" << D;
  if (kernel == "window") os << " W=" << W;
  if (kernel == "gca") os << " S=" << S << " K=" << K;
  return os.str();
}

std::vector<BenchShape> default_bench_shapes(bool quick) {
  std::vector<BenchShape> shapes;
  for (int64_t T : quick ? std::vector<int64_t>{2048} : std::vector<int64_t>{2048, 8192})
    for (const char* kernel : {"gca", "window"}) {
      BenchShape s;
      s.kernel = kernel;
      s.T = T;
      shapes.push_back(s);
    }
  return shapes;
}

double bench_flops(const BenchShape& s, BenchPass pass) {
  const double per_pair = (pass == BenchPass::kForward ? 4.0 : 14.0) * static_cast<double>(s.D);
  if (s.kernel == "window") return per_pair * window_pairs(s) * static_cast<double>(s.B * s.H);
  const double pairs = static_cast<double>(gca_used_slots(s)) * static_cast<double>((s.S + 1) * s.S * s.H * s.B);
  return per_pair * pairs;
}

double bench_bytes(const BenchShape& s, BenchPass pass) {
  const double e = 4.0;  // float32
  const double act = static_cast<double>(s.B * s.T * s.H * s.D) * e;  // one [B, T, H, D] tensor
  if (s.kernel == "window") {
    const double lse = static_cast<double>(s.B * s.H * s.T) * e;
    const double fwd = 4 * act + lse;                       // read q, k, v; write out, lse
    return pass == BenchPass::kForward ? fwd : fwd + 8 * act + lse;  // + read q k v out dO lse, write dq dk dv
  }
  const double slots = static_cast<double>(gca_used_slots(s) * s.B);
  const double chunk = static_cast<double>(s.S * s.H * s.D) * e;  // one chunk's K (or V) block
  const double memory = static_cast<double>(gca_blocks(s) * s.B) * 2 * chunk;  // all of K and V once
  const double lse = slots * static_cast<double>((s.S + 1) * s.H) * e;
  const double fwd = 2 * act + slots * 2 * chunk + lse;     // q, out, retrieved K/V blocks, lse
  if (pass == BenchPass::kForward) return fwd;
  return fwd + 3 * act + slots * 2 * chunk + lse + memory;  // q, dO, dq; K/V blocks; lse; write dK dV
}

BenchCase::BenchCase(const BenchShape& shape, BenchPass pass, uint64_t seed) : shape_(shape), pass_(pass) {
  DRT_CHECK(shape.kernel == "window" || shape.kernel == "gca", "unknown benchmark kernel '", shape.kernel, "'");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const bool grad = pass == BenchPass::kForwardBackward;
  const int64_t B = shape.B, T = shape.T, H = shape.H, D = shape.D;
  if (shape.kernel == "window") {
    q_ = at::randn({B, T, H, D}, gen, f32);
    k_ = at::randn({B, T, H, D}, gen, f32);
    v_ = at::randn({B, T, H, D}, gen, f32);
    slopes_ = at::pow(2.0, at::arange(1, H + 1, f32) * (-8.0 / static_cast<double>(H)));  // [H]
    grad_out_ = at::randn({B, T, H, D}, gen, f32);
  } else {
    const int64_t N = gca_blocks(shape), L = shape.S + 1, M = N, K = shape.K;
    DRT_CHECK(N >= 1, "gca benchmark needs T >= S + 1, got T=", T, " S=", shape.S);
    q_ = at::randn({B, N, L, H, D}, gen, f32);
    k_ = at::randn({B, M, shape.S, H, D}, gen, f32);
    v_ = at::randn({B, M, shape.S, H, D}, gen, f32);
    indices_ = at::zeros({B, N, K}, at::kLong);
    auto scores = at::randn({B, N, K}, gen, at::TensorOptions().dtype(at::kDouble));
    auto valid = at::zeros({B, N, K}, at::kBool);
    auto idx = indices_.accessor<int64_t, 3>();
    auto ok = valid.accessor<bool, 3>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = 2; n < N; ++n) {
        const int64_t past = n - 1;  // chunks 0..n-2
        const auto perm = at::randperm(past, gen, at::TensorOptions().dtype(at::kLong));
        for (int64_t s = 0; s < std::min(K, past); ++s) {
          idx[b][n][s] = perm[s].item<int64_t>();
          ok[b][n][s] = true;
        }
      }
    weights_ = at::softmax(scores.masked_fill(valid.logical_not(), -INFINITY), -1).nan_to_num(0.0).to(at::kFloat);
    grad_out_ = at::randn({B, N, L, H, D}, gen, f32);
  }
  if (grad) {
    q_.requires_grad_(true);
    k_.requires_grad_(true);
    v_.requires_grad_(true);
    if (weights_.defined()) weights_.requires_grad_(true);
  }
}

void BenchCase::run(KernelMode mode) {
  ModeScope scope(mode);
  const bool is_window = shape_.kernel == "window";
  if (pass_ == BenchPass::kForward) {
    at::NoGradGuard no_grad;
    auto out = is_window ? window_attention(q_, k_, v_, slopes_, shape_.W)
                         : gca(q_, k_, v_, indices_, weights_, /*null_key=*/true);
    (void)out;
    return;
  }
  auto out = is_window ? window_attention(q_, k_, v_, slopes_, shape_.W)
                       : gca(q_, k_, v_, indices_, weights_, /*null_key=*/true);
  std::vector<at::Tensor> wrt = {q_, k_, v_};
  if (!is_window) wrt.push_back(weights_);
  auto grads = torch::autograd::grad({out}, wrt, {grad_out_});
  (void)grads;
}

double time_call(const std::function<void()>& call, int repeats, double min_seconds) {
  using Clock = std::chrono::steady_clock;
  const auto warm_start = Clock::now();
  call();  // warm-up: first-touch of buffers, thread pool start
  const double warm = std::chrono::duration<double>(Clock::now() - warm_start).count();
  std::vector<double> times;
  if (warm > 2.0) {  // the reference path on big shapes: one more call is enough
    const auto t0 = Clock::now();
    call();
    return std::min(warm, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const auto start = Clock::now();
  while (static_cast<int>(times.size()) < std::max(1, repeats) ||
         (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds && times.size() < 100)) {
    const auto t0 = Clock::now();
    call();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double measure_matmul_gflops(int64_t n, double min_seconds) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto a = at::randn({n, n}, gen, at::TensorOptions().dtype(at::kFloat));
  const auto b = at::randn({n, n}, gen, at::TensorOptions().dtype(at::kFloat));
  auto c = at::empty({n, n}, a.options());
  const double seconds = time_call([&] { at::matmul_out(c, a, b); }, 5, min_seconds);
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / seconds / 1e9;
}

MachineRates measure_machine() {
  MachineRates m;
  m.matmul_gflops = measure_matmul_gflops();
  m.fma_peak_gflops = cpu::fma_peak_gflops(0.3);
  return m;
}

BenchResult run_bench(const BenchShape& shape, BenchPass pass, const BenchOptions& options) {
  BenchResult r;
  r.shape = shape;
  r.pass = pass;
  r.flops = bench_flops(shape, pass);
  r.bytes = bench_bytes(shape, pass);
  BenchCase bench(shape, pass);
  r.fused_ms = 1e3 * time_call([&] { bench.run(KernelMode::kFused); }, options.repeats, options.min_seconds);
  if (options.run_reference)
    r.reference_ms = 1e3 * time_call([&] { bench.run(KernelMode::kReference); }, options.repeats, options.min_seconds);
  return r;
}

double peak_memory_growth_mib(const BenchShape& shape, BenchPass pass, KernelMode mode) {
  BenchCase bench(shape, pass);
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  DRT_CHECK(f != nullptr, "cannot read /proc/self/statm");
  const int got = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  DRT_CHECK(got == 2, "cannot parse /proc/self/statm");
  const double before = static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
  bench.run(mode);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const double peak = static_cast<double>(usage.ru_maxrss) * 1024.0;  // ru_maxrss is in KiB on Linux
  return std::max(0.0, peak - before) / (1024.0 * 1024.0);
}

std::string format_memory_table(const std::vector<MemoryResult>& memory) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof(line), "%-7s %-9s %-8s %6s %14s %14s\n", "kernel", "mode", "pass", "T", "peak MiB",
                "KiB/position");
  os << line;
  for (const auto& m : memory) {
    std::snprintf(line, sizeof(line), "%-7s %-9s %-8s %6lld %14.1f %14.2f\n", m.shape.kernel.c_str(),
                  kernel_mode_name(m.mode), "fwd+bwd", static_cast<long long>(m.shape.T), m.peak_growth_mib,
                  1024.0 * m.peak_growth_mib / static_cast<double>(m.shape.T));
    os << line;
  }
  return os.str();
}

std::string format_bench_table(const MachineRates& machine, const std::vector<BenchResult>& results) {
  const double matmul_gflops = machine.matmul_gflops;
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof(line),
                "torch::matmul 1024^3 float32: %.1f GFLOP/s; vector FMA peak: %.1f GFLOP/s   (kernels: %s, %d threads)\n",
                matmul_gflops, machine.fma_peak_gflops, cpu::isa_name(cpu::active_isa()), at::get_num_threads());
  os << line;
  std::snprintf(line, sizeof(line), "%-7s %-8s %2s %6s %2s %3s %4s %3s %2s %11s %11s %8s %8s %8s %7s %9s\n", "kernel",
                "pass", "B", "T", "H", "D", "W", "S", "K", "fused ms", "ref ms", "speedup", "GFLOP/s", "%matmul",
                "%peak", "GB/s min");
  os << line;
  for (const auto& r : results) {
    const auto& s = r.shape;
    const bool window = s.kernel == "window";
    char ref_buf[32] = "-";
    if (r.reference_ms > 0) std::snprintf(ref_buf, sizeof(ref_buf), "%.2f", r.reference_ms);
    const std::string ref_ms = ref_buf;
    std::snprintf(line, sizeof(line), "%-7s %-8s %2lld %6lld %2lld %3lld %4s %3s %2s %11.2f %11s %7.2fx %8.1f %7.0f%% %6.1f%% %9.2f\n",
                  s.kernel.c_str(), bench_pass_name(r.pass), static_cast<long long>(s.B), static_cast<long long>(s.T),
                  static_cast<long long>(s.H), static_cast<long long>(s.D),
                  window ? std::to_string(s.W).c_str() : "-", window ? "-" : std::to_string(s.S).c_str(),
                  window ? "-" : std::to_string(s.K).c_str(), r.fused_ms,
                  ref_ms.c_str(), r.speedup(), r.gflops(),
                  matmul_gflops > 0 ? 100.0 * r.gflops() / matmul_gflops : 0.0,
                  machine.fma_peak_gflops > 0 ? 100.0 * r.gflops() / machine.fma_peak_gflops : 0.0, r.fused_ms > 0 ? r.bytes / (r.fused_ms * 1e6) : 0.0);
    os << line;
  }
  return os.str();
}

std::string bench_json(const MachineRates& machine, const std::vector<BenchResult>& results,
                       const std::vector<MemoryResult>& memory) {
  const double matmul_gflops = machine.matmul_gflops;
  nlohmann::json doc;
  doc["matmul_gflops"] = matmul_gflops;
  doc["fma_peak_gflops"] = machine.fma_peak_gflops;
  doc["isa"] = cpu::isa_name(cpu::active_isa());
  doc["threads"] = at::get_num_threads();
  doc["results"] = nlohmann::json::array();
  for (const auto& r : results) {
    const auto& s = r.shape;
    nlohmann::json j;
    j["kernel"] = s.kernel;
    j["pass"] = bench_pass_name(r.pass);
    j["B"] = s.B;
    j["T"] = s.T;
    j["H"] = s.H;
    j["D"] = s.D;
    j["W"] = s.W;
    j["S"] = s.S;
    j["K"] = s.K;
    j["fused_ms"] = r.fused_ms;
    j["reference_ms"] = r.reference_ms;
    j["speedup"] = r.speedup();
    j["gflops"] = r.gflops();
    j["matmul_fraction"] = matmul_gflops > 0 ? r.gflops() / matmul_gflops : 0.0;
    j["peak_fraction"] = machine.fma_peak_gflops > 0 ? r.gflops() / machine.fma_peak_gflops : 0.0;
    j["flops"] = r.flops;
    j["bytes"] = r.bytes;
    doc["results"].push_back(j);
  }
  if (!memory.empty()) {
    doc["memory"] = nlohmann::json::array();
    for (const auto& m : memory) {
      nlohmann::json j;
      j["kernel"] = m.shape.kernel;
      j["mode"] = kernel_mode_name(m.mode);
      j["pass"] = "fwd+bwd";
      j["B"] = m.shape.B;
      j["T"] = m.shape.T;
      j["H"] = m.shape.H;
      j["D"] = m.shape.D;
      j["W"] = m.shape.W;
      j["peak_growth_mib"] = m.peak_growth_mib;
      doc["memory"].push_back(j);
    }
  }
  return doc.dump(2);
}

}  // namespace drt::kernels
