// Numerical checks shared by the kernel and model tests: the one tolerance helper (error
// of a fast computation measured against the error of a plain computation in the same
// precision, as FlashAttention's tests do) and a central-difference gradient checker
// (torch.autograd.gradcheck exists only in Python).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace drt {

struct CloseReport {
  bool ok = false;
  double max_error = 0;       // max |actual - exact|
  double baseline_error = 0;  // max |baseline - exact|
  double allowed = 0;         // factor * baseline_error + floor
  std::string worst;          // the element with the largest error, with its values
  // "<name>: max error 1.2e-07 (allowed 3.4e-07 = 2 x baseline 1.1e-07 + floor 1e-08), worst at [...]"
  std::string describe(const std::string& name) const;
};

// Compares `actual` with `exact` (best computed in float64). The allowed maximum absolute
// error is `factor` times the maximum error of `baseline` (the same quantity computed the
// plain way in actual's precision; undefined = none) plus a floor of
// `floor_rel * max(max |exact|, scale)`, which covers a baseline that happens to be exact
// (e.g. a gradient that is 0 analytically and rounding noise numerically); `scale` is the
// magnitude of the operands (1 for unit-normal test inputs).
// Shapes must match; NaN or Inf anywhere in `actual` fails.
CloseReport check_close(const at::Tensor& actual, const at::Tensor& exact, const at::Tensor& baseline,
                        double factor = 2.0, double floor_rel = 1e-6, double scale = 1.0);

struct GradcheckReport {
  bool ok = false;
  int64_t checked = 0;  // number of input elements perturbed
  std::string message;  // the first failures, one per line
};

// Central-difference check of the gradients of `fn` in float64. For a fixed random
// cotangent g (seeded), compares autograd's d<fn(inputs), g>/d input with
// (f(x + eps e_i) - f(x - eps e_i)) / 2 eps for every element of every input that
// requires grad (at most `max_per_input` evenly spaced elements each; 0 = all). An element
// passes when |numeric - analytic| <= atol + rtol * |numeric|.
GradcheckReport gradcheck(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& fn,
                          const std::vector<at::Tensor>& inputs, double eps = 1e-6, double atol = 1e-6,
                          double rtol = 1e-4, int64_t max_per_input = 0, uint64_t seed = 1234);

}  // namespace drt
