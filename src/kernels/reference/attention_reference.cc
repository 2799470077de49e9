// Plain-LibTorch attention: the oracle for the fused kernels, and the path that runs
// when DRT_KERNELS=reference. Autograd differentiates it.
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "kernels/ops.h"

namespace drt::reference {

namespace {
// Queries per block: each block materialises [B, H, kQueryBlock, kQueryBlock + W] logits,
// so memory is O(T * W), never T x T.
constexpr int64_t kQueryBlock = 128;
}  // namespace

at::Tensor window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& slopes, int64_t window, int64_t q_offset) {
  DRT_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "window_attention: q, k, v must be [B, T, H, D], got ",
            q.sizes(), ", ", k.sizes(), ", ", v.sizes());
  const int64_t Tq = q.size(1), Tk = k.size(1), D = q.size(3);
  DRT_CHECK(k.sizes() == v.sizes(), "window_attention: k ", k.sizes(), " and v ", v.sizes(), " differ");
  DRT_CHECK(q_offset + Tq <= Tk, "window_attention: queries end at ", q_offset + Tq, " past the ", Tk, " keys");
  DRT_CHECK(window >= 0, "window_attention: window must be >= 0, got ", window);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  // [B, H, T, D] for batched matmuls.
  auto qh = q.transpose(1, 2);
  auto kh = k.transpose(1, 2);
  auto vh = v.transpose(1, 2);
  std::vector<at::Tensor> outs;
  for (int64_t q0 = 0; q0 < Tq; q0 += kQueryBlock) {
    const int64_t q1 = std::min(Tq, q0 + kQueryBlock);
    const int64_t p0 = q_offset + q0, p1 = q_offset + q1;  // key positions of the queries
    const int64_t k0 = std::max<int64_t>(0, p0 - window), k1 = p1;
    auto qb = qh.slice(2, q0, q1);                       // [B, H, bq, D]
    auto kb = kh.slice(2, k0, k1);                       // [B, H, bk, D]
    auto vb = vh.slice(2, k0, k1);
    auto logits = torch::matmul(qb, kb.transpose(-1, -2)) * scale;  // [B, H, bq, bk]
    const auto pos_options = torch::dtype(torch::kLong).device(q.device());
    auto qpos = torch::arange(p0, p1, pos_options).unsqueeze(1);  // [bq, 1]
    auto kpos = torch::arange(k0, k1, pos_options).unsqueeze(0);  // [1, bk]
    auto dist = (qpos - kpos);                                                    // [bq, bk]
    auto visible = (dist >= 0).logical_and(dist <= window);
    if (slopes.defined()) {
      auto bias = -slopes.to(logits.dtype()).view({1, -1, 1, 1}) * dist.to(logits.dtype()).view({1, 1, dist.size(0), dist.size(1)});
      logits = logits + bias;
    }
    logits = logits.masked_fill(visible.logical_not(), -std::numeric_limits<double>::infinity());
    auto p = torch::softmax(logits, -1);
    outs.push_back(torch::matmul(p, vb));  // [B, H, bq, D]
  }
  return torch::cat(outs, 2).transpose(1, 2).contiguous();  // [B, Tq, H, D]
}

at::Tensor gca(const at::Tensor& q, const at::Tensor& mem_k, const at::Tensor& mem_v,
               const at::Tensor& indices, const at::Tensor& weights, bool null_key) {
  DRT_CHECK(q.dim() == 5, "gca: q must be [B, N, L, H, D], got ", q.sizes());
  DRT_CHECK(mem_k.dim() == 5 && mem_k.sizes() == mem_v.sizes(), "gca: memory must be [B, M, S, H, D], got ",
            mem_k.sizes(), " and ", mem_v.sizes());
  DRT_CHECK(indices.dim() == 3 && weights.sizes() == indices.sizes(), "gca: indices ", indices.sizes(),
            " and weights ", weights.sizes(), " must both be [B, N, K]");
  const int64_t B = q.size(0), N = q.size(1), D = q.size(4);
  const int64_t M = mem_k.size(1), S = mem_k.size(2), H = mem_k.size(3);
  const int64_t K = indices.size(2);
  DRT_CHECK(indices.size(0) == B && indices.size(1) == N, "gca: indices ", indices.sizes(), " do not match q ",
            q.sizes());
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  // Gather the retrieved blocks: [B, N*K, S, H, D] -> [B, N, K, S, H, D].
  auto idx = indices.clamp(0, M - 1).reshape({B, N * K});
  auto flat_idx = idx.view({B, N * K, 1, 1, 1}).expand({B, N * K, S, H, D});
  auto kg = mem_k.gather(1, flat_idx).view({B, N, K, S, H, D});
  auto vg = mem_v.gather(1, flat_idx).view({B, N, K, S, H, D});
  // logits[b, n, k, h, l, s] = q[b, n, l, h, :] . K[b, n, k, s, h, :]
  auto logits = torch::einsum("bnlhd,bnkshd->bnkhls", {q, kg}) * scale;  // [B, N, K, H, L, S]
  at::Tensor p;
  if (null_key) {
    auto zero = torch::zeros_like(logits.narrow(-1, 0, 1));
    p = torch::softmax(torch::cat({logits, zero}, -1), -1).narrow(-1, 0, S);
  } else {
    p = torch::softmax(logits, -1);
  }
  auto o = torch::einsum("bnkhls,bnkshd->bnkhld", {p, vg});        // [B, N, K, H, L, D]
  auto w = weights.to(o.dtype()).view({B, N, K, 1, 1, 1});
  return (o * w).sum(2).permute({0, 1, 3, 2, 4}).contiguous();     // [B, N, L, H, D]
}

}  // namespace drt::reference
