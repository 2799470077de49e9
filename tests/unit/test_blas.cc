// Which OpenBLAS kernels use less of the CPU than it has (AVX2 kernels on an AVX-512 CPU).
#include <gtest/gtest.h>

#include <string>

#include "core/blas.h"

namespace drt {
namespace {

// AVX-512 as OpenBLAS's SkylakeX kernels need it (F, CD, BW, DQ, VL), and more of Zen 5's list.
const std::string kAvx512 = "fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl";
const std::string kZen5 = kAvx512 + " avx512ifma avx512_bf16 avx512vbmi avx512_vnni";

TEST(Blas, Avx2KernelsOnAnAvx512CpuAreNarrower) {
  EXPECT_TRUE(blas_core_narrower_than_cpu("Haswell", kZen5));
  EXPECT_TRUE(blas_core_narrower_than_cpu("Zen", kZen5));
  EXPECT_TRUE(blas_core_narrower_than_cpu("Sandybridge", kAvx512));
}

TEST(Blas, Avx512KernelsOrCpusWithoutAvx512AreNot) {
  EXPECT_FALSE(blas_core_narrower_than_cpu("Cooperlake", kZen5));
  EXPECT_FALSE(blas_core_narrower_than_cpu("SkylakeX", kZen5));
  EXPECT_FALSE(blas_core_narrower_than_cpu("", kZen5));  // not OpenBLAS (MKL)
  EXPECT_FALSE(blas_core_narrower_than_cpu("Haswell", "fpu sse2 avx avx2 fma"));
  EXPECT_FALSE(blas_core_narrower_than_cpu("Haswell", "avx2 avx512f avx512dq avx512cd avx512bw"));  // no VL
  EXPECT_FALSE(blas_core_narrower_than_cpu("Haswell", "avx2 avx512fx avx512dq avx512cd avx512bw avx512vl"));
}

}  // namespace
}  // namespace drt
