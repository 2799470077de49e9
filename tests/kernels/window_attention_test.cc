// Fused sliding-window attention vs the plain-LibTorch reference: forward and every
// gradient on fresh random inputs over odd sizes, on every instruction-set variant this
// CPU runs; finite-difference gradients in double; run-time mode switching.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "kernels/cpu/attention_cpu.h"
#include "kernels/numeric_check.h"
#include "kernels/ops.h"
#include "support/kernel_scopes.h"

namespace drt {
namespace {

namespace kc = kernels::cpu;

using test::IsaScope;
using test::KernelModeScope;

at::Tensor alibi_slopes(int64_t heads) {
  auto h = torch::arange(1, heads + 1, torch::kDouble);
  return torch::pow(2.0, -8.0 * h / static_cast<double>(heads)).to(torch::kFloat);  // [H]
}

struct WindowCase {
  const char* name;
  int64_t B, Tq, Tk, H, D, W, q_offset;
  bool alibi;
};
// ctest lists a case by its name, not as the bytes of the struct.
void PrintTo(const WindowCase& c, std::ostream* os) { *os << c.name; }


struct WindowOutputs {
  at::Tensor out, dq, dk, dv;
};

// out = attention(q, k, v); gradients of <out, g>.
WindowOutputs run_window(bool fused, at::ScalarType dtype, const at::Tensor& q, const at::Tensor& k,
                         const at::Tensor& v, const at::Tensor& slopes, int64_t window, int64_t q_offset,
                         const at::Tensor& g) {
  auto qq = q.to(dtype).requires_grad_(true), kk = k.to(dtype).requires_grad_(true),
       vv = v.to(dtype).requires_grad_(true);
  auto out = fused ? fused::window_attention(qq, kk, vv, slopes, window, q_offset)
                   : reference::window_attention(qq, kk, vv, slopes, window, q_offset);
  auto grads = torch::autograd::grad({(out * g.to(dtype)).sum()}, {qq, kk, vv});
  return {out.detach(), grads[0], grads[1], grads[2]};
}

class WindowAttentionVsReference : public ::testing::TestWithParam<WindowCase> {};

TEST_P(WindowAttentionVsReference, ForwardAndGradients) {
  const WindowCase c = GetParam();
  torch::manual_seed(7);
  const auto q = torch::randn({c.B, c.Tq, c.H, c.D}, torch::kDouble);
  const auto k = torch::randn({c.B, c.Tk, c.H, c.D}, torch::kDouble);
  const auto v = torch::randn({c.B, c.Tk, c.H, c.D}, torch::kDouble);
  const auto g = torch::randn({c.B, c.Tq, c.H, c.D}, torch::kDouble);
  const auto slopes = c.alibi ? alibi_slopes(c.H) : at::Tensor();
  const auto exact = run_window(false, torch::kDouble, q, k, v, slopes, c.W, c.q_offset, g);
  const auto plain = run_window(false, torch::kFloat, q, k, v, slopes, c.W, c.q_offset, g);
  // Unit-normal inputs: rounding noise of a D-term dot product grows like sqrt(D); it is the
  // whole error where the exact value is 0 (e.g. dq when a query sees only itself).
  const double rounding_scale = std::sqrt(static_cast<double>(c.D));
  for (kc::Isa isa : kc::supported_isas()) {
    IsaScope scope(isa);
    SCOPED_TRACE(kc::isa_name(isa));
    const auto f32 = run_window(true, torch::kFloat, q, k, v, slopes, c.W, c.q_offset, g);
    for (auto [name, actual, ex, base] :
         {std::tuple{"out", f32.out, exact.out, plain.out}, std::tuple{"dq", f32.dq, exact.dq, plain.dq},
          std::tuple{"dk", f32.dk, exact.dk, plain.dk}, std::tuple{"dv", f32.dv, exact.dv, plain.dv}}) {
      const auto r = check_close(actual, ex, base, 2.0, 1e-6, rounding_scale);
      EXPECT_TRUE(r.ok) << r.describe(std::string("float32 ") + name);
    }
    // The float64 build of the same kernels agrees with the float64 reference to rounding.
    const auto f64 = run_window(true, torch::kDouble, q, k, v, slopes, c.W, c.q_offset, g);
    for (auto [name, actual, ex] : {std::tuple{"out", f64.out, exact.out}, std::tuple{"dq", f64.dq, exact.dq},
                                    std::tuple{"dk", f64.dk, exact.dk}, std::tuple{"dv", f64.dv, exact.dv}}) {
      const auto r = check_close(actual, ex, at::Tensor(), 0.0, 1e-12, rounding_scale);
      EXPECT_TRUE(r.ok) << r.describe(std::string("float64 ") + name);
    }
  }
}

// Blocks are 64 queries x 64 keys: sizes straddle them on purpose.
INSTANTIATE_TEST_SUITE_P(
    Shapes, WindowAttentionVsReference,
    ::testing::Values(WindowCase{"WindowSmallerThanBlock", 2, 200, 200, 3, 32, 50, 0, true},
                      WindowCase{"FullCausalOddHeadDim", 1, 130, 130, 2, 24, int64_t{1} << 40, 0, true},
                      WindowCase{"SelfOnlyNoAlibi", 2, 70, 70, 2, 8, 0, 0, false},
                      WindowCase{"WideHeadDim", 1, 150, 150, 2, 64, 100, 0, true},
                      WindowCase{"HeadDim5", 1, 65, 65, 3, 5, 64, 0, true},
                      WindowCase{"DecodeOneQuery", 2, 1, 300, 2, 32, 100, 299, true},
                      WindowCase{"DecodeFewQueries", 2, 3, 300, 2, 32, 100, 297, false},
                      WindowCase{"OffsetBlockWithUnseenKeys", 1, 70, 200, 2, 16, 64, 100, true}),
    [](const ::testing::TestParamInfo<WindowCase>& info) { return std::string(info.param.name); });

TEST(WindowAttentionGradcheck, FusedDoubleMatchesFiniteDifferences) {
  torch::manual_seed(11);
  struct Tiny {
    int64_t Tq, Tk, W, q_offset;
  };
  for (const Tiny t : {Tiny{9, 9, 3, 0}, Tiny{3, 9, 4, 5}}) {
    const auto q = torch::randn({1, t.Tq, 2, 3}, torch::kDouble).requires_grad_(true);
    const auto k = torch::randn({1, t.Tk, 2, 3}, torch::kDouble).requires_grad_(true);
    const auto v = torch::randn({1, t.Tk, 2, 3}, torch::kDouble).requires_grad_(true);
    const auto slopes = alibi_slopes(2);
    for (kc::Isa isa : kc::supported_isas()) {
      IsaScope scope(isa);
      const auto r = gradcheck(
          [&](const std::vector<at::Tensor>& x) {
            return fused::window_attention(x[0], x[1], x[2], slopes, t.W, t.q_offset);
          },
          {q, k, v});
      EXPECT_TRUE(r.ok) << kc::isa_name(isa) << " Tq=" << t.Tq << " q_offset=" << t.q_offset << ": " << r.message;
      EXPECT_GT(r.checked, 0);
    }
  }
}

TEST(WindowAttentionDispatch, ModeIsChosenAtRunTime) {
  torch::manual_seed(3);
  const auto q = torch::randn({1, 40, 2, 16}), k = torch::randn({1, 40, 2, 16}), v = torch::randn({1, 40, 2, 16});
  const auto slopes = alibi_slopes(2);
  {
    KernelModeScope mode(KernelMode::kFused);
    EXPECT_TRUE(window_attention(q, k, v, slopes, 10).equal(fused::window_attention(q, k, v, slopes, 10)));
  }
  {
    KernelModeScope mode(KernelMode::kReference);
    EXPECT_TRUE(window_attention(q, k, v, slopes, 10).equal(reference::window_attention(q, k, v, slopes, 10)));
  }
}

TEST(WindowAttentionDispatch, NonContiguousInputs) {
  torch::manual_seed(4);
  // [B, H, T, D] tensors viewed as [B, T, H, D]: strided, as a projection's transpose would be.
  const auto q = torch::randn({2, 3, 90, 16}).transpose(1, 2);
  const auto k = torch::randn({2, 3, 90, 16}).transpose(1, 2);
  const auto v = torch::randn({2, 3, 90, 16}).transpose(1, 2);
  const auto slopes = alibi_slopes(3);
  const auto exact = reference::window_attention(q.to(torch::kDouble), k.to(torch::kDouble), v.to(torch::kDouble),
                                                 slopes, 33);
  const auto r = check_close(fused::window_attention(q, k, v, slopes, 33), exact,
                             reference::window_attention(q, k, v, slopes, 33));
  EXPECT_TRUE(r.ok) << r.describe("out");
}

TEST(WindowAttentionDispatch, UnsupportedDtypeFallsBackToReference) {
  const auto q = torch::randn({1, 8, 2, 8}).to(torch::kBFloat16);
  EXPECT_FALSE(fused::supports(q, q, q));
  KernelModeScope mode(KernelMode::kFused);
  const auto out = window_attention(q, q, q, at::Tensor(), 4);
  EXPECT_TRUE(out.equal(reference::window_attention(q, q, q, at::Tensor(), 4)));
  EXPECT_THROW(fused::window_attention(q, q, q, at::Tensor(), 4), Error);
}

TEST(WindowAttentionDispatch, BadShapesAreErrors) {
  const auto q = torch::randn({1, 8, 2, 8});
  EXPECT_THROW(fused::window_attention(q, q, q, at::Tensor(), 4, 1), Error);  // queries past the keys
  EXPECT_THROW(fused::window_attention(q, q, q, torch::ones({3}), 4), Error);  // slopes not [H]
  EXPECT_THROW(fused::window_attention(q, q.narrow(3, 0, 4), q, at::Tensor(), 4), Error);
}

}  // namespace
}  // namespace drt
