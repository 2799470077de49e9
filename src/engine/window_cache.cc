#include "engine/window_cache.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"

namespace drt {

int64_t WindowCache::size() const { return std::min(len_, window_); }

void WindowCache::reserve(int64_t new_rows, const at::Tensor& like) {
  const int64_t capacity = k_buf_.defined() ? k_buf_.size(1) : 0;
  if (len_ + new_rows <= capacity) return;
  // Keep only what a future query can see: the last W positions.
  const int64_t keep = std::min(len_, window_);
  if (keep + new_rows <= capacity) {
    if (keep > 0) {
      auto k_tail = k_buf_.narrow(1, len_ - keep, keep).clone();
      auto v_tail = v_buf_.narrow(1, len_ - keep, keep).clone();
      k_buf_.narrow(1, 0, keep).copy_(k_tail);
      v_buf_.narrow(1, 0, keep).copy_(v_tail);
    }
    len_ = keep;
    return;
  }
  // Room for the new rows plus up to W more, so decode steps rarely compact.
  const int64_t spare = std::min<int64_t>(window_, std::max<int64_t>(keep + new_rows, 256));
  const int64_t new_capacity = keep + new_rows + spare;
  auto k_new = torch::empty({1, new_capacity, like.size(2), like.size(3)}, like.options());
  auto v_new = torch::empty_like(k_new);
  if (keep > 0) {
    k_new.narrow(1, 0, keep).copy_(k_buf_.narrow(1, len_ - keep, keep));
    v_new.narrow(1, 0, keep).copy_(v_buf_.narrow(1, len_ - keep, keep));
  }
  k_buf_ = k_new;
  v_buf_ = v_new;
  len_ = keep;
}

std::tuple<at::Tensor, at::Tensor, int64_t> WindowCache::extend(const at::Tensor& k, const at::Tensor& v) {
  DRT_CHECK(k.dim() == 4 && k.size(0) == 1 && k.sizes() == v.sizes(), "window cache: k, v must be [1, T, H, D], got ",
            k.sizes(), " and ", v.sizes());
  const int64_t T = k.size(1);
  reserve(T, k);
  k_buf_.narrow(1, len_, T).copy_(k);
  v_buf_.narrow(1, len_, T).copy_(v);
  const int64_t offset = len_;
  len_ += T;
  return {k_buf_.narrow(1, 0, len_), v_buf_.narrow(1, 0, len_), offset};
}

at::Tensor WindowCache::keys() const {
  if (!k_buf_.defined()) return {};
  return k_buf_.narrow(1, len_ - size(), size()).clone();
}

at::Tensor WindowCache::values() const {
  if (!v_buf_.defined()) return {};
  return v_buf_.narrow(1, len_ - size(), size()).clone();
}

void WindowCache::restore(const at::Tensor& k, const at::Tensor& v) {
  DRT_CHECK(k.dim() == 4 && k.size(0) == 1 && k.sizes() == v.sizes() && k.size(1) <= window_,
            "window cache: restore expects k, v [1, n <= ", window_, ", H, D], got ", k.sizes(), " and ", v.sizes());
  k_buf_ = at::Tensor();
  v_buf_ = at::Tensor();
  len_ = 0;
  if (k.size(1) == 0) return;
  reserve(k.size(1), k);
  k_buf_.narrow(1, 0, k.size(1)).copy_(k);
  v_buf_.narrow(1, 0, k.size(1)).copy_(v);
  len_ = k.size(1);
}

}  // namespace drt
