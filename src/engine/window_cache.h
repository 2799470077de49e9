// The self-attention KV cache of one decoder layer in a streaming session: the keys and
// values of the last W positions (DESIGN §3). New keys are appended into a buffer with
// spare room, so a decode step copies only its own row; when the buffer is full the last
// W rows move to its front (amortised O(1) rows per position).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <tuple>

namespace drt {

class WindowCache {
 public:
  // window: W (ModelConfig::effective_window(); "unbounded" for full attention).
  explicit WindowCache(int64_t window) : window_(window) {}

  // k, v: [1, T, H, D], the new positions. Returns the keys and values the T queries may
  // attend to, [1, P + T, H, D] (P >= min(cached, W) earlier positions first, contiguous),
  // and P, the q_offset of the first query (kernels/ops.h window_attention).
  std::tuple<at::Tensor, at::Tensor, int64_t> extend(const at::Tensor& k, const at::Tensor& v);

  // The last min(positions, W) keys / values: [1, n, H, D] (copies; for saving).
  at::Tensor keys() const;
  at::Tensor values() const;
  // Replaces the contents (loading a saved session). k, v: [1, n, H, D], n <= W.
  void restore(const at::Tensor& k, const at::Tensor& v);
  int64_t size() const;  // cached positions visible to the next query (<= W)

 private:
  void reserve(int64_t needed_rows, const at::Tensor& like);

  int64_t window_;
  at::Tensor k_buf_, v_buf_;  // [1, capacity, H, D]; rows [0, len_) hold positions in order
  int64_t len_ = 0;
};

}  // namespace drt
