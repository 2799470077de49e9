// Autograd glue for the fused CPU attention kernels: checks shapes, makes the operands
// contiguous, fills the plain parameter structs of kernels/cpu/attention_params.h and
// saves what the backward needs (the log-sum-exp, never a logits matrix).
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

#include "core/error.h"
#include "kernels/cpu/attention_cpu.h"
#include "kernels/ops.h"

namespace drt::fused {

namespace {

namespace kc = drt::kernels::cpu;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// A contiguous [B, T, H, D] tensor as a kernel row view.
template <typename T>
kc::RowView<T> rows(const at::Tensor& t) {
  return {t.data_ptr<std::remove_const_t<T>>(), t.stride(0), t.stride(1), t.stride(2)};
}

bool fused_dtype(const at::Tensor& t) {
  return t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble;
}

void check_window_shapes(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const at::Tensor& slopes, int64_t window, int64_t q_offset) {
  DRT_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "window_attention: q, k, v must be [B, T, H, D], got ",
            q.sizes(), ", ", k.sizes(), ", ", v.sizes());
  DRT_CHECK(k.sizes() == v.sizes(), "window_attention: k ", k.sizes(), " and v ", v.sizes(), " differ");
  DRT_CHECK(q.size(0) == k.size(0) && q.size(2) == k.size(2) && q.size(3) == k.size(3), "window_attention: q ",
            q.sizes(), " does not match k ", k.sizes(), " in B, H or D");
  DRT_CHECK(q_offset >= 0 && q_offset + q.size(1) <= k.size(1), "window_attention: queries at positions ", q_offset,
            "..", q_offset + q.size(1), " do not fit the ", k.size(1), " keys");
  DRT_CHECK(window >= 0, "window_attention: window must be >= 0, got ", window);
  DRT_CHECK(!slopes.defined() || (slopes.dim() == 1 && slopes.size(0) == q.size(2)), "window_attention: slopes ",
            slopes.sizes(), " must be [H] with H = ", q.size(2));
}

void check_gca_shapes(const at::Tensor& q, const at::Tensor& mem_k, const at::Tensor& mem_v,
                      const at::Tensor& indices, const at::Tensor& weights) {
  DRT_CHECK(q.dim() == 5, "gca: q must be [B, N, L, H, D], got ", q.sizes());
  DRT_CHECK(mem_k.dim() == 5 && mem_k.sizes() == mem_v.sizes(), "gca: memory must be [B, M, S, H, D], got ",
            mem_k.sizes(), " and ", mem_v.sizes());
  DRT_CHECK(indices.dim() == 3 && weights.sizes() == indices.sizes(), "gca: indices ", indices.sizes(),
            " and weights ", weights.sizes(), " must both be [B, N, K]");
  DRT_CHECK(mem_k.size(0) == q.size(0) && mem_k.size(3) == q.size(3) && mem_k.size(4) == q.size(4), "gca: memory ",
            mem_k.sizes(), " does not match q ", q.sizes(), " in B, H or D");
  DRT_CHECK(indices.size(0) == q.size(0) && indices.size(1) == q.size(1), "gca: indices ", indices.sizes(),
            " do not match q ", q.sizes());
  DRT_CHECK(mem_k.size(2) > 0, "gca: chunks must hold at least one key, got ", mem_k.sizes());
}

// ---------------------------------------------------------------------------------------
template <typename T>
kc::WindowParams<T> window_params(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& slopes, int64_t window, int64_t q_offset) {
  kc::WindowParams<T> p;
  p.batch = q.size(0);
  p.q_len = q.size(1);
  p.k_len = k.size(1);
  p.heads = q.size(2);
  p.head_dim = q.size(3);
  p.window = window;
  p.q_offset = q_offset;
  p.q = rows<const T>(q);
  p.k = rows<const T>(k);
  p.v = rows<const T>(v);
  p.slopes = slopes.numel() > 0 ? slopes.data_ptr<T>() : nullptr;
  return p;
}

class WindowAttentionFunction : public torch::autograd::Function<WindowAttentionFunction> {
 public:
  // q: [B, Tq, H, D], k/v: [B, Tk, H, D], slopes: [H] in q's dtype, or [0] for no ALiBi.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q_in, const at::Tensor& k_in,
                            const at::Tensor& v_in, const at::Tensor& slopes, int64_t window, int64_t q_offset) {
    auto q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
    auto out = at::empty_like(q);                                              // [B, Tq, H, D]
    auto lse = at::empty({q.size(0), q.size(2), q.size(1)}, q.options());       // [B, H, Tq]
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "drt::window_attention", [&] {
      auto p = window_params<scalar_t>(q, k, v, slopes, window, q_offset);
      p.out = rows<scalar_t>(out);
      p.lse = lse.data_ptr<scalar_t>();
      kc::window_forward(p);
    });
    ctx->save_for_backward({q, k, v, slopes, out, lse});
    ctx->saved_data["window"] = window;
    ctx->saved_data["q_offset"] = q_offset;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &slopes = saved[3], &out = saved[4], &lse = saved[5];
    const int64_t window = ctx->saved_data["window"].toInt();
    const int64_t q_offset = ctx->saved_data["q_offset"].toInt();
    auto d_out = grads[0].defined() ? grads[0].to(q.scalar_type()).contiguous() : at::zeros_like(q);
    auto dq = at::empty_like(q), dk = at::empty_like(k), dv = at::empty_like(v);
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "drt::window_attention_backward", [&] {
      auto p = window_params<scalar_t>(q, k, v, slopes, window, q_offset);
      p.out_in = rows<const scalar_t>(out);
      p.lse_in = lse.data_ptr<scalar_t>();
      p.d_out = rows<const scalar_t>(d_out);
      p.dq = rows<scalar_t>(dq);
      p.dk = rows<scalar_t>(dk);
      p.dv = rows<scalar_t>(dv);
      kc::window_backward(p);
    });
    return {dq, dk, dv, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// ---------------------------------------------------------------------------------------
template <typename T>
kc::GcaParams<T> gca_params(const at::Tensor& q, const at::Tensor& mem_k, const at::Tensor& mem_v,
                            const at::Tensor& indices, const at::Tensor& weights, bool null_key) {
  kc::GcaParams<T> p;
  p.batch = q.size(0);
  p.blocks = q.size(1);
  p.block_len = q.size(2);
  p.heads = q.size(3);
  p.head_dim = q.size(4);
  p.chunks = mem_k.size(1);
  p.chunk_len = mem_k.size(2);
  p.topk = indices.size(2);
  p.null_key = null_key;
  p.q = q.data_ptr<T>();
  p.q_b = q.stride(0);
  p.q_n = q.stride(1);
  p.q_l = q.stride(2);
  p.q_h = q.stride(3);
  p.mem_k = mem_k.data_ptr<T>();
  p.mem_v = mem_v.data_ptr<T>();
  p.mem_b = mem_k.stride(0);
  p.mem_m = mem_k.stride(1);
  p.mem_s = mem_k.stride(2);
  p.mem_h = mem_k.stride(3);
  p.indices = indices.data_ptr<int64_t>();
  p.weights = weights.data_ptr<T>();
  p.sel_b = indices.stride(0);
  p.sel_n = indices.stride(1);
  return p;
}

class GcaFunction : public torch::autograd::Function<GcaFunction> {
 public:
  // q: [B, N, L, H, D], mem_k/mem_v: [B, M, S, H, D], indices: [B, N, K] int64,
  // weights: [B, N, K] in q's dtype.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q_in, const at::Tensor& mem_k_in,
                            const at::Tensor& mem_v_in, const at::Tensor& indices_in, const at::Tensor& weights_in,
                            bool null_key) {
    auto q = q_in.contiguous(), mem_k = mem_k_in.contiguous(), mem_v = mem_v_in.contiguous();
    auto indices = indices_in.to(at::kLong).contiguous();
    auto weights = weights_in.to(q.scalar_type()).contiguous();
    const int64_t M = mem_k.size(1);
    // A slot that contributes must name a chunk; zero-weight slots are never read.
    const auto bad = weights.ne(0).logical_and(indices.lt(0).logical_or(indices.ge(M)));
    DRT_CHECK(!bad.any().item<bool>(), "gca: a retrieved chunk index with non-zero weight is outside 0..", M - 1);
    auto out = at::empty_like(q);  // [B, N, L, H, D]
    auto lse = at::empty({q.size(0), q.size(1), indices.size(2), q.size(3), q.size(2)}, q.options());  // [B, N, K, H, L]
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "drt::gca", [&] {
      auto p = gca_params<scalar_t>(q, mem_k, mem_v, indices, weights, null_key);
      p.out = out.data_ptr<scalar_t>();
      p.lse = lse.data_ptr<scalar_t>();
      kc::gca_forward(p);
    });
    ctx->save_for_backward({q, mem_k, mem_v, indices, weights, lse});
    ctx->saved_data["null_key"] = null_key;
    ctx->saved_data["weights_dtype"] = static_cast<int64_t>(weights_in.scalar_type());
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &mem_k = saved[1], &mem_v = saved[2], &indices = saved[3], &weights = saved[4],
               &lse = saved[5];
    const bool null_key = ctx->saved_data["null_key"].toBool();
    const auto weights_dtype = static_cast<at::ScalarType>(ctx->saved_data["weights_dtype"].toInt());
    auto d_out = grads[0].defined() ? grads[0].to(q.scalar_type()).contiguous() : at::zeros_like(q);
    auto dq = at::empty_like(q), dk = at::empty_like(mem_k), dv = at::empty_like(mem_v);
    auto dw_heads = at::empty({q.size(0), q.size(1), indices.size(2), q.size(3)}, q.options());  // [B, N, K, H]
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "drt::gca_backward", [&] {
      auto p = gca_params<scalar_t>(q, mem_k, mem_v, indices, weights, null_key);
      p.lse_in = lse.data_ptr<scalar_t>();
      p.d_out = d_out.data_ptr<scalar_t>();
      p.dq = dq.data_ptr<scalar_t>();
      p.dk = dk.data_ptr<scalar_t>();
      p.dv = dv.data_ptr<scalar_t>();
      p.dw_heads = dw_heads.data_ptr<scalar_t>();
      kc::gca_backward(p);
    });
    auto dw = dw_heads.sum(-1).to(weights_dtype);  // [B, N, K]
    return {dq, dk, dv, at::Tensor(), dw, at::Tensor()};
  }
};

}  // namespace

bool supports(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return q.defined() && k.defined() && v.defined() && q.device().is_cpu() && k.device().is_cpu() &&
         v.device().is_cpu() && fused_dtype(q) && k.scalar_type() == q.scalar_type() &&
         v.scalar_type() == q.scalar_type() && q.layout() == at::kStrided && k.layout() == at::kStrided &&
         v.layout() == at::kStrided;
}

at::Tensor window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& slopes,
                            int64_t window, int64_t q_offset) {
  check_window_shapes(q, k, v, slopes, window, q_offset);
  DRT_CHECK(supports(q, k, v), "fused window_attention needs CPU float32/float64 tensors of one dtype, got ",
            q.toString(), ", ", k.toString(), ", ", v.toString());
  // autograd::Function inputs must be defined tensors: "no ALiBi" travels as an empty one.
  const at::Tensor s = slopes.defined() ? slopes.to(q.options()).contiguous() : at::empty({0}, q.options());
  return WindowAttentionFunction::apply(q, k, v, s, window, q_offset);
}

at::Tensor gca(const at::Tensor& q, const at::Tensor& mem_k, const at::Tensor& mem_v, const at::Tensor& indices,
               const at::Tensor& weights, bool null_key) {
  check_gca_shapes(q, mem_k, mem_v, indices, weights);
  DRT_CHECK(supports(q, mem_k, mem_v), "fused gca needs CPU float32/float64 tensors of one dtype, got ",
            q.toString(), ", ", mem_k.toString(), ", ", mem_v.toString());
  DRT_CHECK(indices.device().is_cpu() && weights.device().is_cpu(), "fused gca needs CPU indices and weights");
  return GcaFunction::apply(q, mem_k, mem_v, indices, weights, null_key);
}

}  // namespace drt::fused
