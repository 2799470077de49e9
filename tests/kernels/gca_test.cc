// Fused Grouped Cross Attention vs the plain-LibTorch reference: forward and the
// gradients to q, chunk memory K/V and the retrieval weights (dw), on every
// instruction-set variant this CPU runs; finite differences in double; chunk memory read
// through per-chunk pointers.
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

enum class Pattern {
  kCausal,      // block n reads min(K, n - 1) chunks among 0..n-2 (DESIGN §2.5); other slots weigh 0
  kRandom,      // every slot reads a random chunk; chunks repeat across blocks
  kDuplicates,  // as kRandom, and a block may read the same chunk in two slots
};

struct GcaCase {
  const char* name;
  int64_t B, N, L, H, D, M, S, K;
  bool null_key;
  Pattern pattern;
};
// ctest lists a case by its name, not as the bytes of the struct.
void PrintTo(const GcaCase& c, std::ostream* os) { *os << c.name; }


struct Selection {
  at::Tensor indices;  // [B, N, K] int64
  at::Tensor weights;  // [B, N, K] float64, 0 for unused slots
};

Selection make_selection(const GcaCase& c) {
  auto indices = torch::randint(0, c.M, {c.B, c.N, c.K}, torch::kLong);
  auto scores = torch::randn({c.B, c.N, c.K}, torch::kDouble);
  auto valid = torch::ones({c.B, c.N, c.K}, torch::kBool);
  if (c.pattern == Pattern::kCausal) {
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t n = 0; n < c.N; ++n) {
        const int64_t past = std::max<int64_t>(0, std::min(n - 1, c.M));
        const auto perm = torch::randperm(std::max<int64_t>(past, 1), torch::kLong);
        for (int64_t s = 0; s < c.K; ++s) {
          if (s < past) {
            indices[b][n][s] = perm[s].item<int64_t>();
          } else {
            valid[b][n][s] = false;  // keep the random in-range index: it must not be read
          }
        }
      }
  } else if (c.pattern == Pattern::kDuplicates && c.K >= 2) {
    indices.select(2, 1).copy_(indices.select(2, 0));
  }
  auto weights = torch::softmax(scores.masked_fill(valid.logical_not(), -INFINITY), -1);
  weights = weights.nan_to_num(0.0);  // blocks with no past chunk: all slots 0
  return {indices, weights};
}

struct GcaOutputs {
  at::Tensor out, dq, dk, dv, dw;
};

GcaOutputs run_gca(bool fused, at::ScalarType dtype, const at::Tensor& q, const at::Tensor& mk, const at::Tensor& mv,
                   const Selection& sel, bool null_key, const at::Tensor& g) {
  auto qq = q.to(dtype).requires_grad_(true), kk = mk.to(dtype).requires_grad_(true),
       vv = mv.to(dtype).requires_grad_(true), ww = sel.weights.to(dtype).requires_grad_(true);
  auto out = fused ? fused::gca(qq, kk, vv, sel.indices, ww, null_key)
                   : reference::gca(qq, kk, vv, sel.indices, ww, null_key);
  auto grads = torch::autograd::grad({(out * g.to(dtype)).sum()}, {qq, kk, vv, ww});
  // dw of a zero-weight slot is defined only up to the softmax that multiplies it by 0:
  // compare the used slots.
  const auto used = sel.weights.ne(0);
  return {out.detach(), grads[0], grads[1], grads[2], grads[3].masked_fill(used.logical_not(), 0)};
}

class GcaVsReference : public ::testing::TestWithParam<GcaCase> {};

TEST_P(GcaVsReference, ForwardAndGradients) {
  const GcaCase c = GetParam();
  torch::manual_seed(17);
  const auto q = torch::randn({c.B, c.N, c.L, c.H, c.D}, torch::kDouble);
  const auto mk = torch::randn({c.B, c.M, c.S, c.H, c.D}, torch::kDouble);
  const auto mv = torch::randn({c.B, c.M, c.S, c.H, c.D}, torch::kDouble);
  const auto g = torch::randn({c.B, c.N, c.L, c.H, c.D}, torch::kDouble);
  const auto sel = make_selection(c);
  const auto exact = run_gca(false, torch::kDouble, q, mk, mv, sel, c.null_key, g);
  const auto plain = run_gca(false, torch::kFloat, q, mk, mv, sel, c.null_key, g);
  // Unit-normal inputs: rounding noise of a D-term dot product grows like sqrt(D); it is the
  // whole error where the exact value is 0 (e.g. dq when a query sees only itself).
  const double rounding_scale = std::sqrt(static_cast<double>(c.D));
  for (kc::Isa isa : kc::supported_isas()) {
    IsaScope scope(isa);
    SCOPED_TRACE(kc::isa_name(isa));
    const auto f32 = run_gca(true, torch::kFloat, q, mk, mv, sel, c.null_key, g);
    for (auto [name, actual, ex, base] :
         {std::tuple{"out", f32.out, exact.out, plain.out}, std::tuple{"dq", f32.dq, exact.dq, plain.dq},
          std::tuple{"dk", f32.dk, exact.dk, plain.dk}, std::tuple{"dv", f32.dv, exact.dv, plain.dv},
          std::tuple{"dw", f32.dw, exact.dw, plain.dw}}) {
      const auto r = check_close(actual, ex, base, 2.0, 1e-6, rounding_scale);
      EXPECT_TRUE(r.ok) << r.describe(std::string("float32 ") + name);
    }
    const auto f64 = run_gca(true, torch::kDouble, q, mk, mv, sel, c.null_key, g);
    for (auto [name, actual, ex] :
         {std::tuple{"out", f64.out, exact.out}, std::tuple{"dq", f64.dq, exact.dq}, std::tuple{"dk", f64.dk, exact.dk},
          std::tuple{"dv", f64.dv, exact.dv}, std::tuple{"dw", f64.dw, exact.dw}}) {
      const auto r = check_close(actual, ex, at::Tensor(), 0.0, 1e-12, rounding_scale);
      EXPECT_TRUE(r.ok) << r.describe(std::string("float64 ") + name);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GcaVsReference,
    ::testing::Values(GcaCase{"CausalFewerPastChunks", 2, 6, 16, 2, 32, 6, 15, 3, true, Pattern::kCausal},
                      GcaCase{"TrainingLayoutSmall", 1, 8, 64, 2, 32, 8, 63, 8, true, Pattern::kCausal},
                      GcaCase{"TopOneNoNullKey", 1, 4, 64, 2, 32, 4, 63, 1, false, Pattern::kRandom},
                      GcaCase{"OddHeadDimRepeatedChunks", 2, 3, 7, 3, 20, 5, 5, 4, true, Pattern::kDuplicates},
                      GcaCase{"OneQueryLargerMemory", 1, 1, 1, 2, 16, 10, 9, 4, true, Pattern::kRandom},
                      GcaCase{"WideHeadDimLongChunks", 1, 3, 33, 1, 64, 4, 70, 2, false, Pattern::kRandom}),
    [](const ::testing::TestParamInfo<GcaCase>& info) { return std::string(info.param.name); });

TEST(GcaGradcheck, FusedDoubleMatchesFiniteDifferences) {
  torch::manual_seed(5);
  const GcaCase c{"tiny", 1, 4, 3, 2, 3, 4, 4, 2, true, Pattern::kDuplicates};
  const auto sel = make_selection(c);
  const auto q = torch::randn({c.B, c.N, c.L, c.H, c.D}, torch::kDouble).requires_grad_(true);
  const auto mk = torch::randn({c.B, c.M, c.S, c.H, c.D}, torch::kDouble).requires_grad_(true);
  const auto mv = torch::randn({c.B, c.M, c.S, c.H, c.D}, torch::kDouble).requires_grad_(true);
  const auto w = (sel.weights + 0.1).requires_grad_(true);  // all slots used, not normalised
  for (bool null_key : {true, false}) {
    for (kc::Isa isa : kc::supported_isas()) {
      IsaScope scope(isa);
      const auto r = gradcheck(
          [&](const std::vector<at::Tensor>& x) { return fused::gca(x[0], x[1], x[2], sel.indices, x[3], null_key); },
          {q, mk, mv, w});
      EXPECT_TRUE(r.ok) << kc::isa_name(isa) << " null_key=" << null_key << ": " << r.message;
    }
  }
}

TEST(GcaSkipsZeroWeights, NoContributionNoNaN) {
  torch::manual_seed(6);
  const GcaCase c{"zero", 1, 5, 8, 2, 16, 5, 7, 3, true, Pattern::kCausal};
  const auto sel = make_selection(c);
  auto q = torch::randn({c.B, c.N, c.L, c.H, c.D}).requires_grad_(true);
  auto mk = torch::randn({c.B, c.M, c.S, c.H, c.D}).requires_grad_(true);
  auto mv = torch::randn({c.B, c.M, c.S, c.H, c.D}).requires_grad_(true);
  auto w = sel.weights.to(torch::kFloat).requires_grad_(true);
  auto out = fused::gca(q, mk, mv, sel.indices, w, true);
  out.sum().backward();
  // Blocks 0 and 1 have no past chunk: output 0 and dq 0.
  EXPECT_EQ(out.narrow(1, 0, 2).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(q.grad().narrow(1, 0, 2).abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(w.grad().isfinite().all().item<bool>());
  EXPECT_TRUE(w.grad().masked_select(sel.weights.eq(0)).eq(0).all().item<bool>());
  // The last chunk is never retrieved (only chunks < n - 1 are): its gradient is 0.
  EXPECT_EQ(mk.grad().narrow(1, c.M - 1, 1).abs().max().item<float>(), 0.0f);
}

TEST(GcaChecks, IndexOutOfRangeWithWeightIsAnError) {
  const auto q = torch::randn({1, 2, 4, 1, 8}), mem = torch::randn({1, 3, 5, 1, 8});
  auto idx = torch::zeros({1, 2, 2}, torch::kLong);
  auto w = torch::full({1, 2, 2}, 0.5);
  idx[0][1][1] = 3;
  EXPECT_THROW(fused::gca(q, mem, mem, idx, w, true), Error);
  w[0][1][1] = 0;  // an unused slot may hold anything
  EXPECT_NO_THROW(fused::gca(q, mem, mem, idx, w, true));
}

// The kernel reads chunk memory only through GcaParams::k_chunk/v_chunk: a memory backend
// that hands out one pointer per chunk (pages in RAM, a mapped file) gets the same result
// as the dense tensor.
TEST(GcaChunkPointers, PerChunkPointersMatchDenseMemory) {
  torch::manual_seed(9);
  const int64_t B = 2, N = 3, L = 5, H = 2, D = 16, M = 4, S = 6, K = 2;
  const auto q = torch::randn({B, N, L, H, D});
  const auto mk = torch::randn({B, M, S, H, D}), mv = torch::randn({B, M, S, H, D});
  const auto idx = torch::randint(0, M, {B, N, K}, torch::kLong);
  const auto w = torch::rand({B, N, K});
  const auto dense = fused::gca(q, mk, mv, idx, w, true);

  // Each chunk in its own allocation, in reverse order, as a backend might hold them.
  std::vector<at::Tensor> k_blocks, v_blocks;
  std::vector<const float*> k_ptrs(B * M), v_ptrs(B * M);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t m = M - 1; m >= 0; --m) {
      k_blocks.push_back(mk[b][m].clone());  // [S, H, D]
      v_blocks.push_back(mv[b][m].clone());
      k_ptrs[b * M + m] = k_blocks.back().data_ptr<float>();
      v_ptrs[b * M + m] = v_blocks.back().data_ptr<float>();
    }
  auto out = torch::empty_like(q);
  auto lse = torch::empty({B, N, K, H, L});
  kc::GcaParams<float> p;
  p.batch = B, p.blocks = N, p.block_len = L, p.heads = H, p.head_dim = D;
  p.chunks = M, p.chunk_len = S, p.topk = K, p.null_key = true;
  p.q = q.data_ptr<float>(), p.q_b = q.stride(0), p.q_n = q.stride(1), p.q_l = q.stride(2), p.q_h = q.stride(3);
  p.k_chunks = k_ptrs.data(), p.v_chunks = v_ptrs.data();
  p.mem_s = H * D, p.mem_h = D;
  p.indices = idx.data_ptr<int64_t>(), p.weights = w.data_ptr<float>(), p.sel_b = N * K, p.sel_n = K;
  p.out = out.data_ptr<float>(), p.lse = lse.data_ptr<float>();
  kc::gca_forward(p);
  EXPECT_TRUE(out.equal(dense));
}

}  // namespace
}  // namespace drt
