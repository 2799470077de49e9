// `drt bench kernels`: fused vs reference attention kernels in one run (table + JSON).
// `drt bench kernel-memory`: one call's peak memory in a fresh process (used by
// `bench kernels` to show memory growth with T).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "apps/drt/commands.h"
#include "core/args.h"
#include "core/error.h"
#include "kernels/cpu/attention_cpu.h"
#include "kernels/kernel_bench.h"
#include "kernels/ops.h"

namespace drt::cli {

namespace {

namespace kb = drt::kernels;

kernels::cpu::Isa parse_isa(const std::string& name) {
  for (auto isa : {kernels::cpu::Isa::kGeneric, kernels::cpu::Isa::kAvx2, kernels::cpu::Isa::kAvx512})
    if (name == kernels::cpu::isa_name(isa)) return isa;
  throw Error(str_cat("unknown --isa '", name, "' (expected generic, avx2 or avx512)"));
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  DRT_CHECK(n > 0, "cannot resolve /proc/self/exe");
  buf[n] = '\0';
  return buf;
}

// Runs `drt bench kernel-memory` in a child process and parses its answer.
double child_peak_mib(const std::string& exe, const kb::BenchShape& shape, KernelMode mode) {
  const std::string cmd = str_cat("'", exe, "' bench kernel-memory --kernel ", shape.kernel, " --T ", shape.T,
                                  " --B ", shape.B, " --H ", shape.H, " --D ", shape.D, " --W ", shape.W,
                                  " --mode ", kernel_mode_name(mode));
  FILE* pipe = popen(cmd.c_str(), "r");
  DRT_CHECK(pipe != nullptr, "cannot run ", cmd);
  double mib = -1;
  char line[256];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) std::sscanf(line, "peak_growth_mib %lf", &mib);
  const int status = pclose(pipe);
  DRT_CHECK(status == 0 && mib >= 0, "memory probe failed: ", cmd);
  return mib;
}

int bench_kernels(int argc, char** argv) {
  Args args("bench kernels",
            "Time the fused attention kernels against the plain-LibTorch reference, forward and\n"
            "forward+backward, at B=4 H=8 D=32 W=512 S=63 K=8 and T=2048, 8192; report GFLOP/s\n"
            "against this machine's float32 matmul, and the peak memory of window attention as T grows.");
  args.option("json", "FILE", "also write the results as JSON")
      .flag("quick", "T=2048 only, fewer memory points")
      .option("repeats", "N", "timed calls per measurement (median reported)", "3")
      .option("min-time", "SECONDS", "minimum timed seconds per measurement", "0.3")
      .option("isa", "NAME", "kernel instruction set: generic, avx2, avx512 (default: best supported)")
      .option("kernel", "NAME", "only this kernel: window or gca")
      .flag("no-reference", "time the fused kernels only")
      .flag("no-memory", "skip the peak-memory probes");
  if (!args.parse(argc, argv, 2)) return 0;
  if (args.has("isa")) kernels::cpu::set_isa(parse_isa(args.get("isa")));
  kb::BenchOptions options;
  options.quick = args.get_flag("quick");
  options.run_reference = !args.get_flag("no-reference");
  options.repeats = static_cast<int>(args.get_int("repeats"));
  options.min_seconds = args.get_double("min-time");
  const auto only = args.get_optional("kernel");
  DRT_CHECK(!only || *only == "window" || *only == "gca", "--kernel must be window or gca, got '", *only, "'");

  const kb::MachineRates machine = kb::measure_machine();
  std::cout << "torch::matmul 1024^3 float32: " << machine.matmul_gflops << " GFLOP/s, vector FMA peak "
            << machine.fma_peak_gflops << " GFLOP/s\n"
            << std::flush;
  std::vector<kb::BenchResult> results;
  for (const auto& shape : kb::default_bench_shapes(options.quick)) {
    if (only && shape.kernel != *only) continue;
    for (auto pass : {kb::BenchPass::kForward, kb::BenchPass::kForwardBackward}) {
      results.push_back(kb::run_bench(shape, pass, options));
      const auto& r = results.back();
      std::cout << "  " << shape.label() << " " << kb::bench_pass_name(pass) << ": fused " << r.fused_ms
                << " ms, reference " << r.reference_ms << " ms\n"
                << std::flush;
    }
  }
  std::cout << "\n" << kb::format_bench_table(machine, results);

  std::vector<kb::MemoryResult> memory;
  if (!args.get_flag("no-memory") && (!only || *only == "window")) {
    const std::string exe = self_exe();
    const std::vector<int64_t> lengths =
        options.quick ? std::vector<int64_t>{1024, 2048, 4096} : std::vector<int64_t>{1024, 2048, 4096, 8192};
    std::vector<KernelMode> modes = {KernelMode::kFused};
    if (options.run_reference) modes.push_back(KernelMode::kReference);
    for (KernelMode mode : modes)
      for (int64_t T : lengths) {
        kb::BenchShape shape;
        shape.kernel = "window";
        shape.T = T;
        memory.push_back({shape, mode, child_peak_mib(exe, shape, mode)});
      }
    std::cout << "\npeak memory of one window-attention forward+backward above its inputs:\n"
              << kb::format_memory_table(memory);
  }
  if (args.has("json")) {
    std::ofstream out(args.get("json"));
    DRT_CHECK(out.good(), "cannot write ", args.get("json"));
    out << kb::bench_json(machine, results, memory) << "\n";
    std::cout << "wrote " << args.get("json") << "\n";
  }
  return 0;
}

int bench_kernel_memory(int argc, char** argv) {
  Args args("bench kernel-memory",
            "Run one attention forward+backward in this (fresh) process and print\n"
            "`peak_growth_mib X`: the peak resident memory above what the inputs hold.");
  args.option("kernel", "NAME", "window or gca", "window")
      .option("mode", "MODE", "fused or reference", "fused")
      .option("B", "N", "batch", "4")
      .option("T", "N", "positions", "2048")
      .option("H", "N", "heads", "8")
      .option("D", "N", "head dim", "32")
      .option("W", "N", "window", "512");
  if (!args.parse(argc, argv, 2)) return 0;
  kb::BenchShape shape;
  shape.kernel = args.get("kernel");
  shape.B = args.get_int("B");
  shape.T = args.get_int("T");
  shape.H = args.get_int("H");
  shape.D = args.get_int("D");
  shape.W = args.get_int("W");
  const double mib =
      kb::peak_memory_growth_mib(shape, kb::BenchPass::kForwardBackward, parse_kernel_mode(args.get("mode")));
  std::cout << "peak_growth_mib " << mib << "\n";
  return 0;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  const std::string mode = argc >= 2 ? argv[1] : "";
  if (mode == "kernels") return bench_kernels(argc, argv);
  if (mode == "kernel-memory") return bench_kernel_memory(argc, argv);
  if (mode == "infer") return cmd_bench_infer(argc, argv);
  if (mode == "--help" || mode == "-h" || mode.empty()) {
    std::cout << "usage: drt bench <mode> [flags]\n\nmodes:\n"
                 "  kernels        fused vs reference attention kernels (table, --json FILE)\n"
                 "  infer          streaming inference: reading tokens/s and generation ms/token by context length\n"
                 "  kernel-memory  peak memory of one attention call (used by `bench kernels`)\n";
    return mode.empty() ? 2 : 0;
  }
  throw Error(str_cat("unknown bench mode '", mode, "' (expected kernels, infer or kernel-memory)"));
}

}  // namespace drt::cli
